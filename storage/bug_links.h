#pragma once

// The component that owns the bug-fix links (SZZ, docs/storage.md "Bug-fix links"): the
// "bug_link/" keys of the meta family (layout in storage/keys.h). When a fix record naming
// bug-introducing commits is written it stores a link per commit, and adds the fix to the
// labels.fixed_by of each bug-introducing record already stored; a record written later reads
// the links naming it. Appends to a caller's batch. Internal to storage/.

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "fixmine/v1/records.pb.h"
#include "storage/db_core.h"
#include "storage/record_index.h"

namespace fixmine::storage::internal {

// Not thread-safe: its owner serialises every batch that links (RecordStore holds it
// ABSL_PT_GUARDED_BY its batch mutex), so that links read are links the batch may change.
class BugLinks {
 public:
  // The links made by one batch so far; one per RecordStore::WriteBatch.
  struct BatchState {
    // repo '\0' commit -> index in RecordWrites::added of this batch's new records.
    std::unordered_map<std::string, size_t> added_by_commit;
    // repo '\0' bug-introducing commit -> fix commits linked in this batch.
    std::unordered_map<std::string, std::vector<std::string>> links;
  };

  // `core` and `records` are borrowed and must outlive this object.
  BugLinks(const DbCore* core, const RecordIndex* records) : core_(core), records_(records) {}

  // Links `record`, which the caller appends to `writes->added` right after this call: fills
  // its fixed_by from the stored links naming its commit and those of this batch, and for each
  // of its bug-introducing commits appends a link and adds the record's commit to that record's
  // fixed_by when it is stored already (in `writes->added`, else read into
  // `writes->rewritten`). `ro` null: the latest state.
  absl::Status Link(const rocksdb::ReadOptions* ro, fixmine::v1::Record* record,
                    RecordWrites* writes, BatchState* state, rocksdb::WriteBatch* batch,
                    std::string_view what);
  // Appends the deletion of every link of `repo` (one range).
  absl::Status AppendRemoveRepository(std::string_view repo, rocksdb::WriteBatch* batch,
                                      std::string_view what) const;

 private:
  const DbCore* const core_;
  const RecordIndex* const records_;
};

}  // namespace fixmine::storage::internal
