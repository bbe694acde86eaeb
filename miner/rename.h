#pragma once

#include <git2.h>

#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace fixmine::miner {

// Similarity scores run from 0 to kMaxScore (git's MAX_SCORE); the percentage git prints is
// score * 100 / kMaxScore, rounded down.
constexpr int kMaxScore = 60000;

// A rename candidate: a deleted file (source) or an added file (destination).
struct RenameEntry {
  std::string_view path;
  uint32_t mode = 0;
  git_oid id{};
};

// Returns the bytes of a blob for similarity scoring, or an error when it cannot be read. The
// bytes must stay valid until FindRenames returns.
using BlobReader = std::function<absl::StatusOr<std::string_view>(const git_oid& id)>;

struct RenameOptions {
  // Least similarity, in percent, for an inexact rename (git's -M50%).
  int min_score_percent = 50;
  // Inexact detection is skipped when sources x destinations (left after exact and basename
  // matches) exceeds this squared (git's diff.renameLimit); <= 0 means no limit.
  int rename_limit = 1000;
};

// One detected rename: indices into the sources and destinations given, and its score.
struct RenamePair {
  size_t source = 0;
  size_t destination = 0;
  int score = 0;
};

struct RenameResult {
  std::vector<RenamePair> pairs;
  // True when the rename limit made inexact detection skip (exact and basename matches stand).
  bool inexact_skipped = false;
};

// Pairs deleted files with added files as `git diff -M` (diffcore-rename, renames only, no
// copies) does: identical blobs first (an unused source with the destination's basename
// preferred), then pairs whose basenames are unique on both sides and similar enough (halfway
// between the threshold and 100%), then the best-scoring remaining pairs above the threshold;
// each source is used once. `sources` and `destinations` must be in git's queue order (by
// path). Errors: a blob needed for scoring could not be read (the caller should fall back to no
// renames). Thread-compatible; `read` is called on this thread.
absl::StatusOr<RenameResult> FindRenames(const std::vector<RenameEntry>& sources,
                                         const std::vector<RenameEntry>& destinations,
                                         const RenameOptions& options, const BlobReader& read);

// git's content signature for similarity (diffcore-delta): the content cut into chunks ending at
// a '\n' or after 64 bytes, each chunk hashed; returns (hash, bytes) sorted by hash with equal
// hashes merged. For text (`is_text`), a '\r' just before a '\n' is left out.
std::vector<std::pair<uint32_t, uint32_t>> SpanHashes(std::string_view data, bool is_text);

// Bytes of the destination that are found in the source: the sum over shared hashes of the
// smaller byte count. Both arguments come from SpanHashes.
uint64_t CopiedBytes(const std::vector<std::pair<uint32_t, uint32_t>>& src,
                     const std::vector<std::pair<uint32_t, uint32_t>>& dst);

}  // namespace fixmine::miner
