#pragma once

#include <git2.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace fixmine::miner {

// One side of a changed path: its mode (git's canonical file mode, 0 when the path is absent)
// and object id.
struct TreeSide {
  uint32_t mode = 0;
  git_oid id{};
  bool present() const { return mode != 0; }
};

// One path that differs between two trees, as git's tree diff reports it before rename
// detection. A path that is a file on one side and a folder on the other is a deletion plus
// additions (git never pairs a file with a tree).
struct TreeChange {
  enum class Kind { kAdded, kDeleted, kModified, kTypeChanged };
  Kind kind = Kind::kModified;
  // Full path from the root, '/'-separated, raw bytes as stored in the tree.
  std::string path;
  TreeSide old_side;
  TreeSide new_side;
};

// True when `a` and `b` are different kinds of entry (regular file, symlink, gitlink): git's
// status letter T.
bool IsTypeChange(uint32_t a, uint32_t b);

// Compares `old_tree` with `new_tree` (either may be null: the empty tree), reading only the
// subtrees whose ids differ, and appends every changed path to `out` in git's queue order (tree
// order, which is the byte order of the full paths). Errors: a subtree that cannot be read.
// Handles are borrowed; `repo` must not be used by another thread meanwhile.
absl::Status DiffTrees(git_repository* repo, const git_tree* old_tree, const git_tree* new_tree,
                       std::vector<TreeChange>* out);

}  // namespace fixmine::miner
