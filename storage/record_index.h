#pragma once

// The component that owns the records and their indexes (docs/architecture.md "Storage"): the
// records family, the id, language and time indexes and the record counters (key layouts in
// storage/keys.h). Reads them, plans scans over them, and appends their changes to a caller's
// batch. Internal to storage/.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fixmine/v1/records.pb.h"
#include "storage/db_core.h"
#include "storage/dedup_index.h"
#include "storage/filter.h"
#include "storage/record_store.h"

namespace fixmine::storage::internal {

// The records one batch writes: new ones (primary key and record, in the order they are put)
// and stored ones it rewrites (by primary key).
struct RecordWrites {
  std::vector<std::pair<std::string, fixmine::v1::Record>> added;
  std::map<std::string, fixmine::v1::Record> rewritten;
};

// Thread-safe (it holds no state but the borrowed core); what its Append methods plan is only
// right while the caller keeps other writers of the same records away (RecordStore's contract).
class RecordIndex {
 public:
  explicit RecordIndex(const DbCore* core) : core_(core) {}

  // The primary key of record `id`; nullopt when absent. `ro` null: the latest state.
  absl::StatusOr<std::optional<std::string>> KeyOf(const rocksdb::ReadOptions* ro,
                                                   std::string_view id,
                                                   std::string_view what) const;
  // The record at primary key `key`; nullopt when absent, DATA_LOSS when it does not parse.
  absl::StatusOr<std::optional<fixmine::v1::Record>> ReadAt(const rocksdb::ReadOptions* ro,
                                                            std::string_view key,
                                                            std::string_view what) const;
  // RecordStore::GetRecord: NOT_FOUND when no record has this id.
  absl::StatusOr<fixmine::v1::Record> Get(std::string_view id) const;
  // A counter (keys::kTotalCounterKey or keys::RepoCounterKey); 0 when absent.
  absl::StatusOr<int64_t> ReadCounter(const rocksdb::ReadOptions* ro, std::string_view key) const;

  // RecordStore::Scan and Count.
  absl::Status Scan(const Filter* filter, const ScanPosition& from,
                    const std::function<bool(const fixmine::v1::Record&,
                                             const ScanPosition& after)>& visit) const;
  absl::StatusOr<int64_t> Count(const Filter* filter) const;
  // RecordStore::ScanSerialized.
  absl::Status ScanSerialized(
      const Filter* filter, const ScanPosition& from,
      const std::function<bool(std::string_view bytes, const ScanPosition& after)>& visit) const;

  // Appends a new record at `key` with its id, language and time entries; `value` is the
  // record's serialized bytes.
  absl::Status AppendAdd(const std::string& key, const fixmine::v1::Record& record,
                         std::string_view value, rocksdb::WriteBatch* batch,
                         std::string_view what) const;
  // Appends a stored record's new value (fields no index depends on may differ).
  absl::Status AppendRewrite(const std::string& key, const fixmine::v1::Record& record,
                             rocksdb::WriteBatch* batch, std::string_view what) const;
  // Appends the counter increments of `added` new records, `per_repo` of them by repository.
  absl::Status AppendCounts(const std::map<std::string, int64_t>& per_repo, int64_t added,
                            rocksdb::WriteBatch* batch, std::string_view what) const;
  // Appends the deletion of every record of `repo` as `view` sees them, one by one with its
  // index entries (rather than a range tombstone, so exactly what is counted is removed), of
  // the repository's counter, and the total's decrement. `ids` gets the removed records' ids.
  // Returns how many.
  absl::StatusOr<int64_t> AppendRemoveRepository(const ReadView& view, std::string_view repo,
                                                 rocksdb::WriteBatch* batch,
                                                 std::vector<std::string>* ids,
                                                 std::string_view what) const;
  // Sets the dedup labels of stored records (by id) into `writes->rewritten`, reading those not
  // there yet. DATA_LOSS for an id the id index does not know.
  absl::Status Relabel(const rocksdb::ReadOptions* ro,
                       const std::map<std::string, DedupLabels>& labels, RecordWrites* writes,
                       std::string_view what) const;

 private:
  // What one scan does with each stored record: `match` gets its primary key and stored value
  // (valid until the scan moves on) and says whether it matches (or why the scan stops);
  // `take` gets each matching record's position just after it and returns false to stop.
  struct ValueVisitor {
    std::function<absl::StatusOr<bool>(std::string_view key, std::string_view value)> match;
    std::function<bool(const ScanPosition& after)> take;
  };
  // The walk Scan and ScanSerialized share: the index from filter->hints(), resume checks,
  // snapshot, and the records family read through the index key spaces.
  absl::Status ScanValues(const Filter* filter, const ScanPosition& from,
                          const ValueVisitor& visit) const;

  const DbCore* const core_;
};

}  // namespace fixmine::storage::internal
