#pragma once

// The store's dedup groups (docs/storage.md "Dedup groups"): keeps every record's
// duplicate_of / near_duplicate_of / near_duplicate_similarity equal to what the canonical
// rule of curation/canonical.h gives for the set of records stored, whatever the order in
// which they were written. Internal to storage/.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "fixmine/v1/records.pb.h"
#include "storage/db_core.h"

namespace fixmine::storage::internal {

// The three dedup labels of a record.
struct DedupLabels {
  std::string duplicate_of;
  std::string near_duplicate_of;
  int32_t near_duplicate_similarity = 0;
  bool operator==(const DedupLabels&) const = default;
};

// The component that owns the dedup family (Family::kDedup) and the LSH buckets
// (Family::kLsh): reads them and appends their changes to a caller's batch. Not thread-safe:
// its owner serialises every Apply and every other write of those two families, so that what
// Apply reads is what its batch changes (RecordStore holds it ABSL_PT_GUARDED_BY its batch
// mutex).
class DedupIndex {
 public:
  // `core` is borrowed and must outlive this object. `threshold` is the near-duplicate
  // threshold (0 or less: no near duplicates; signatures are still indexed).
  DedupIndex(const DbCore* core, double threshold) : core_(core), threshold_(threshold) {}

  // Plans, into `batch`, the dedup index changes for storing `added` (records not stored yet,
  // distinct ids, valid commits) and deleting the stored records `removed` (ids; unknown ones
  // are ignored) in the same batch. Sets each added record's three labels and clears its
  // minhash (kept in the index). Returns, by id, the new labels of the other stored records
  // whose labels this change moves; the caller rewrites those records in the same batch.
  // Errors: DATA_LOSS for an index entry that does not parse, others from RocksDB reads.
  absl::StatusOr<std::map<std::string, DedupLabels>> Apply(
      const std::vector<fixmine::v1::Record*>& added, const std::vector<std::string>& removed,
      rocksdb::WriteBatch* batch, std::string_view what);

 private:
  const DbCore* const core_;
  const double threshold_;
};

}  // namespace fixmine::storage::internal
