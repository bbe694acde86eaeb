#pragma once

#include <git2.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fixmine/v1/records.pb.h"
#include "miner/record_builder.h"
#include "miner/tree_diff.h"

namespace fixmine::miner {

// Merges with more parents than this get no combined diff (and no record); git's own limit is
// the width of a bit mask too.
inline constexpr unsigned kMaxCombinedParents = 32;

// One file of a dense combined diff (`git show --cc --full-index`).
struct CombinedFile {
  std::string path;               // raw bytes, as stored in the tree
  std::vector<TreeSide> parents;  // the path in each parent (mode 0: absent)
  TreeSide result;                // the path in the merge (mode 0: deleted)
  bool binary = false;            // "Binary files differ"
  std::string text;               // the whole "diff --cc" section, as git prints it
  // Hunks as printed; old_start/old_lines are the first parent's range.
  std::vector<fixmine::v1::Hunk> hunks;
  int added_vs_first = 0;    // printed lines with '+' in the first parent's column
  int deleted_vs_first = 0;  // printed lines with '-' in the first parent's column
};

// Computes the dense combined diff of a merge `commit` against all its parents, as
// `git show --cc --full-index --format=` prints it: only paths that differ from every parent
// (compared by path: no rename detection), and in each only the hunks where the result differs
// from all parents; files where no such hunk is left (and no mode differs) are not listed.
// `context_lines` as git's -U (default 3). Returns no files for a commit with fewer than two
// parents or more than kMaxCombinedParents. Errors: a tree or blob that cannot be read.
// Handles are borrowed; `repo` must not be used by another thread meanwhile.
absl::Status CombinedDiff(git_repository* repo, git_commit* commit, int context_lines,
                          std::vector<CombinedFile>* out);

// Builds the merge-resolution record of merge `commit`: nullopt when its combined diff lists no
// file (a clean merge). Otherwise a record with `merge_resolution` set, all parents listed and
// one FileChange per combined-diff file (docs/trajectories.md, "Merge-conflict resolutions").
absl::StatusOr<std::optional<fixmine::v1::Record>> BuildMergeRecord(git_repository* repo,
                                                                    git_commit* commit,
                                                                    const RecordOptions& options);

}  // namespace fixmine::miner
