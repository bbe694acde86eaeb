#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace fixmine::miner {

// Bounds of one clone or fetch (0: no bound). Exceeding one stops the transfer with
// RESOURCE_EXHAUSTED (bytes) or DEADLINE_EXCEEDED (time).
struct CloneLimits {
  int64_t max_bytes = 0;
  int timeout_seconds = 0;
};

// Clones `url` as a bare mirror (every ref, "+refs/*:refs/*") into `dest`, which must not
// exist: the clone goes to a private temporary sibling folder first and is renamed into place
// only when complete. Never checks out files, never fetches submodules. Errors carry libgit2's
// message. Redirects to another host are refused. Thread-safe (uses its own repository handle).
absl::Status CloneMirror(const std::string& url, const std::string& dest,
                         const CloneLimits& limits = {});

// Fetches every ref of the mirror at `path` from its origin, pruning deleted refs.
absl::Status FetchMirror(const std::string& path, const CloneLimits& limits = {});

}  // namespace fixmine::miner
