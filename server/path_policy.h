#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fixmine::server {

// The server's policy for the paths and URLs a request names (docs/security.md): local
// repositories under --allowed-root, remote URLs with an allowed scheme and no credentials,
// backup folders outside the data folder, the GitHub API over https. Every check of a
// client-given path or URL lives here. All functions are thread-safe (they read the file
// system only).

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

// The real path of the local repository `source` when it resolves under one of `roots` (real
// paths). FAILED_PRECONDITION when `roots` is empty (local repositories disabled), NOT_FOUND
// when `source` does not exist, PERMISSION_DENIED when it resolves outside every root.
absl::StatusOr<std::string> ResolveLocalRepository(const std::string& source,
                                                   const std::vector<std::string>& roots);

// Checks a remote repository URL (`scheme://authority/path`): its scheme is one of `schemes`,
// it embeds no credentials, it names a host; a file URL names no host but localhost and its
// folder passes ResolveLocalRepository and CheckRepositoryContained against `roots`.
// INVALID_ARGUMENT saying what to change; the errors of those checks for a file URL.
absl::Status CheckRepositoryUrl(const std::string& url, const std::vector<std::string>& schemes,
                                const std::vector<std::string>& roots);

// Checks a BackupStore target: an absolute path that is not `data_dir` or below it (a backup
// there would be copied into later backups and removed with the data). INVALID_ARGUMENT.
absl::Status CheckBackupFolder(const std::string& dir, const std::string& data_dir);

// Checks the GitHub API base URL before a sync sends anything: https, or http with
// `allow_http` (fixmined --github-allow-http). FAILED_PRECONDITION otherwise.
absl::Status CheckGithubApiUrl(const std::string& url, bool allow_http);

}  // namespace fixmine::server
