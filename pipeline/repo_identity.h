#pragma once
// Repository identity: the name a repository's records carry in `repo` (and that their ids are
// derived from), the same for `fixmined` (`repo add` without --name) and `fixmine extract
// --repo-list` (docs/operations.md "Scaling out"). Pure functions; thread-safe.

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace fixmine::pipeline {

// True when `source` names a remote repository (it holds "://") rather than a local path.
bool IsRemoteSource(std::string_view source);

// The default name of the repository at `source`:
// - a URL ("SCHEME://[USER@]HOST[:PORT]/PATH"): the host, lower-cased, then the path, without
//   a trailing ".git" or "/", empty and "." segments dropped: "https://github.com/fmtlib/fmt.git"
//   is "github.com/fmtlib/fmt" (so two forks never share a name). A port is kept as
//   "HOST_PORT"; a query or fragment is ignored.
// - a local path: its last component without ".git" ("/srv/x.git" and "/srv/x/.git" are "x").
// In either, every byte other than letters, digits, '.', '_', '-' (and '/' between URL
// segments) becomes '_', and a segment starting with '.' or '-' gets a '_' in front, so the
// result passes ValidateRepositoryName whenever it is not empty. "" when nothing is left.
std::string DefaultRepositoryName(std::string_view source);

// OK when `name` is a valid repository name: at most 255 bytes of segments separated by single
// '/', each 1 to 100 letters, digits, '.', '_' or '-', not starting with '.' or '-' (a GitHub
// "github.com/OWNER/REPO" fits). Otherwise INVALID_ARGUMENT saying what to fix.
absl::Status ValidateRepositoryName(std::string_view name);

}  // namespace fixmine::pipeline
