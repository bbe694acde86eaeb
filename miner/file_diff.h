#pragma once

#include <git2.h>

#include "absl/status/status.h"
#include "fixmine/v1/records.pb.h"
#include "miner/record_builder.h"

namespace fixmine::miner {

// Counts of one DiffFiles call.
struct DiffFilesStats {
  int files = 0;
  int added = 0;
  int deleted = 0;
  int unavailable = 0;
  // True when rename detection could not run (a blob needed for scoring was unreadable).
  bool renames_skipped = false;
};

// Appends to `out` the files that differ between `old_tree` and `new_tree` (either may be null:
// the empty tree), rendered exactly as BuildRecord renders a commit's files (`git diff
// --full-index -M`, with `options`' caps, context and rename settings; curation is not
// applied). `what` prefixes error messages. Errors: a tree that cannot be read. Handles are
// borrowed; `repo` must not be used by another thread meanwhile. Implemented in
// record_builder.cc.
absl::Status DiffFiles(git_repository* repo, const git_tree* old_tree, const git_tree* new_tree,
                       const RecordOptions& options, std::string_view what,
                       google::protobuf::RepeatedPtrField<fixmine::v1::FileChange>* out,
                       DiffFilesStats* stats);

}  // namespace fixmine::miner
