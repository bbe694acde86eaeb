#include "client/shard.h"

#include <fstream>

#include "fmt/format.h"

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

}  // namespace fixmine::client
