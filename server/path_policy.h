#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace fixmine::server {

// True when `path` is `root` or lies below it (both real paths, no trailing slash needed).
bool UnderRoot(const std::string& path, const std::string& root);

// Checks that the repository at `path` (already resolved under an allowed root) keeps its data
// under `roots`: its git folder (a `.git` file's "gitdir:" target), its common folder (a
// worktree's "commondir") and every object alternate (objects/info/alternates, followed as
// libgit2 does, up to 5 levels) must have real paths under one of `roots`. PERMISSION_DENIED
// naming the escaping path otherwise; NOT_FOUND when `path` is not a repository. Opens the
// repository without searching parent folders. Thread-safe.
absl::Status CheckRepositoryContained(const std::string& path,
                                      const std::vector<std::string>& roots);

}  // namespace fixmine::server
