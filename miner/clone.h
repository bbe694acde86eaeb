#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace fixmine::miner {

// Bounds of one clone or fetch (0: no bound). Exceeding one stops the transfer with
// RESOURCE_EXHAUSTED (bytes) or DEADLINE_EXCEEDED (time).
// `cancel`, when set, is polled during the transfer: once true the transfer stops with
// CANCELLED within one progress callback (libgit2 calls it at least every received chunk).
struct CloneLimits {
  int64_t max_bytes = 0;
  int timeout_seconds = 0;
  const std::atomic<bool>* cancel = nullptr;
};

// Clones `url` as a bare mirror (every ref, "+refs/*:refs/*") into `dest`, which must not
// exist: the clone goes to a private temporary sibling folder first and is renamed into place
// only when complete. Never checks out files, never fetches submodules. Errors carry libgit2's
// message. Redirects to another host are refused. Thread-safe (uses its own repository handle).
absl::Status CloneMirror(const std::string& url, const std::string& dest,
                         const CloneLimits& limits = {});

// Removes what interrupted clones left in `mirrors_dir`: the private temporary folders
// CloneMirror works in (`NAME.git.tmp-*`), which a process killed during a clone leaves behind.
// Call it before any clone starts (at server start). Returns how many were removed; a folder
// that cannot be removed is skipped (counted in `*failed` when given). Missing `mirrors_dir`
// is not an error.
int RemoveInterruptedClones(const std::string& mirrors_dir, int* failed = nullptr);

// Fetches every ref of the mirror at `path` from its origin, pruning deleted refs.
absl::Status FetchMirror(const std::string& path, const CloneLimits& limits = {});

}  // namespace fixmine::miner
