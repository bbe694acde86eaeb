#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace fixmine::server {

// True when `path` is `root` or lies below it (both real paths, no trailing slash needed).
bool UnderRoot(const std::string& path, const std::string& root);

// Checks that the repository at `path` (already resolved under an allowed root) keeps its data
// under `roots`: its git folder (a `.git` file's "gitdir:" target), its common folder (a
// worktree's "commondir"), its object folder, every symbolic link libgit2 may follow inside an
// object folder (loose objects, packs, info/alternates) and every object alternate must have
// real paths under one of `roots`. Alternates are read with libgit2 1.5.1's rules (lines split
// at '\r' and '\n', nested up to depth 5); a line libgit2 would resolve against the process's
// working directory is refused. PERMISSION_DENIED naming the escaping path otherwise; NOT_FOUND
// when `path` is not a repository. Opens the repository without searching parent folders.
// When the check passes and `data_paths` is not null, it is set to the real paths checked (the
// git, common and object folders, the alternates' object folders, the targets of the links):
// what the mining worker's Landlock ruleset lets it read besides `path`. Thread-safe (reads
// the file system only).
absl::Status CheckRepositoryContained(const std::string& path,
                                      const std::vector<std::string>& roots,
                                      std::vector<std::string>* data_paths = nullptr);

}  // namespace fixmine::server
