#include "server/path_policy.h"

#include <limits.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"
#include "miner/git_handles.h"

namespace fixmine::server {
namespace {

constexpr int kMaxAlternateDepth = 5;  // libgit2's GIT_ALTERNATES_MAX_DEPTH

absl::Status Contained(const std::string& what, const std::string& path,
                       const std::vector<std::string>& roots) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat(what, " \"", path, "\" does not resolve to an existing folder"));
  }
  std::string real = buf;
  for (const auto& root : roots) {
    if (UnderRoot(real, root)) return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(what, " \"", path, "\" (resolved to \"", real,
                                                  "\") is outside the allowed roots: ",
                                                  absl::StrJoin(roots, ", ")));
}

absl::Status CheckAlternates(const std::filesystem::path& objects,
                             const std::vector<std::string>& roots, int depth) {
  std::ifstream f(objects / "info" / "alternates");
  if (!f) return absl::OkStatus();
  if (depth >= kMaxAlternateDepth) {
    return absl::PermissionDeniedError(absl::StrCat("object alternates of \"", objects.string(),
                                                    "\" nest deeper than ", kMaxAlternateDepth));
  }
  std::string line;
  while (std::getline(f, line)) {
    absl::string_view l = absl::StripAsciiWhitespace(line);
    if (l.empty() || l[0] == '#') continue;
    std::filesystem::path alt(std::string(l.data(), l.size()));
    if (alt.is_relative()) alt = objects / alt;
    if (absl::Status st = Contained("object alternate", alt.string(), roots); !st.ok()) return st;
    if (absl::Status st = CheckAlternates(alt, roots, depth + 1); !st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace

bool UnderRoot(const std::string& path, const std::string& root) {
  if (path == root) return true;
  std::string r = root;
  if (r.empty() || r.back() != '/') r.push_back('/');
  return absl::StartsWith(path, r);
}

absl::Status CheckRepositoryContained(const std::string& path,
                                      const std::vector<std::string>& roots) {
  miner::RepoPtr repo;
  if (absl::Status st = miner::OpenRepository(path, &repo); !st.ok()) return st;
  std::string gitdir = git_repository_path(repo.get());
  std::string commondir = git_repository_commondir(repo.get());
  repo.reset();
  if (absl::Status st = Contained("git folder", gitdir, roots); !st.ok()) return st;
  if (absl::Status st = Contained("git common folder", commondir, roots); !st.ok()) return st;
  return CheckAlternates(std::filesystem::path(commondir) / "objects", roots, 0);
}

}  // namespace fixmine::server
