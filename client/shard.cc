#include "client/shard.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <map>

#include "fmt/format.h"
#include "pipeline/repo_identity.h"

namespace fixmine::client {

uint64_t Fnv1a64(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t ShardOf(std::string_view repo, uint64_t count) { return Fnv1a64(repo) % count; }

absl::StatusOr<std::vector<std::string>> ReadRepoList(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(fmt::format("cannot read the repository list \"{}\"", path));
  }
  std::vector<std::string> repos;
  std::string line;
  while (std::getline(in, line)) {
    size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    size_t e = line.find_last_not_of(" \t\r");
    std::string text = line.substr(b, e - b + 1);
    if (text[0] == '#') continue;
    repos.push_back(std::move(text));
  }
  if (in.bad()) {
    return absl::InvalidArgumentError(
        fmt::format("reading the repository list \"{}\" failed", path));
  }
  return repos;
}

absl::StatusOr<std::vector<RepoEntry>> ResolveRepoList(const std::vector<std::string>& lines) {
  std::vector<RepoEntry> out;
  std::map<std::string, std::string> source_of;  // name -> source
  for (const std::string& line : lines) {
    RepoEntry e;
    size_t gap_end = line.find_last_of(" \t");
    if (gap_end == std::string::npos) {
      e.source = line;
      e.name = pipeline::DefaultRepositoryName(line);
    } else {
      size_t gap = line.find_last_not_of(" \t", gap_end);
      e.source = line.substr(0, gap + 1);
      e.name = line.substr(gap_end + 1);
    }
    if (e.name.empty()) {
      return absl::InvalidArgumentError(fmt::format(
          "repository list line \"{}\": no name can be derived; write \"SOURCE NAME\"", line));
    }
    if (absl::Status st = pipeline::ValidateRepositoryName(e.name); !st.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("repository list line \"{}\": {}", line, std::string(st.message())));
    }
    auto [it, added] = source_of.emplace(e.name, e.source);
    if (!added) {
      if (it->second == e.source) continue;  // listed twice
      return absl::InvalidArgumentError(fmt::format(
          "repositories \"{}\" and \"{}\" both get the name \"{}\", so their record ids would "
          "collide; give one of them a name on its line (\"SOURCE NAME\")",
          it->second, e.source, e.name));
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace fixmine::client

namespace fixmine::client {

absl::StatusOr<int64_t> ResolveShardIndex(int64_t flag) {
  if (flag >= 0) return flag;
  for (const char* var : {"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"}) {
    const char* env = std::getenv(var);
    if (env == nullptr || *env == '\0') continue;
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(env, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0) {
      return absl::InvalidArgumentError(
          fmt::format("{} \"{}\" is not a shard index (a number, 0 or more)", var, env));
    }
    return static_cast<int64_t>(v);
  }
  return absl::InvalidArgumentError(
      "no shard index: give --shard-index I (or run as a Slurm array task, "
      "$SLURM_ARRAY_TASK_ID, or a Kubernetes Indexed Job, $JOB_COMPLETION_INDEX)");
}

}  // namespace fixmine::client
