#pragma once

#include <string>

#include "absl/status/status.h"

namespace fixmine::miner {

// Clones `url` as a bare mirror (every ref, "+refs/*:refs/*") into `dest`, which must not
// exist: the clone goes to a private temporary sibling folder first and is renamed into place
// only when complete. Never checks out files, never fetches submodules. Errors carry libgit2's
// message. Thread-safe (uses its own repository handle).
absl::Status CloneMirror(const std::string& url, const std::string& dest);

// Fetches every ref of the mirror at `path` from its origin, pruning deleted refs.
absl::Status FetchMirror(const std::string& path);

}  // namespace fixmine::miner
