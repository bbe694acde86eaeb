#pragma once

// Pull-request trajectories in the record store's RocksDB (docs/storage.md, docs/trajectories.md):
// the component that owns column family `trajectories` (key layout in storage/keys.h). Their
// filter language is storage/trajectory_filter.h.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fixmine/v1/trajectories.pb.h"
#include "storage/record_store.h"
#include "storage/trajectory_filter.h"

namespace rocksdb {
class WriteBatch;
}  // namespace rocksdb

namespace fixmine::storage {

namespace internal {
class DbCore;
class ReadView;
}  // namespace internal

// Reads and writes the trajectories of a RecordStore. Borrows the store, which must outlive it.
// Thread-safe. A repository's trajectories are removed with it (RecordStore::RemoveRepository,
// in the same batch).
class TrajectoryStore {
 public:
  // The trajectories of `store`; FAILED_PRECONDITION for a null store.
  static absl::StatusOr<std::unique_ptr<TrajectoryStore>> Of(RecordStore* store);
  // Over the core of a store (storage/ only).
  explicit TrajectoryStore(internal::DbCore* core) : core_(core) {}

  // Stores `trajectories` (replacing any with the same id) in ONE atomic synced batch.
  // INVALID_ARGUMENT for an empty id or repository name.
  absl::Status Put(const std::vector<fixmine::v1::Trajectory>& trajectories);
  // NOT_FOUND when no trajectory has this id.
  absl::StatusOr<fixmine::v1::Trajectory> Get(std::string_view id);
  // Visits, on a consistent snapshot, the trajectories matching `filter` (null: all) in store
  // order, starting right after key `after` (empty: from the start). `visit` gets each one and
  // its key and returns false to stop. INVALID_ARGUMENT for an `after` that is not a
  // trajectory key.
  absl::Status Scan(
      const TrajectoryFilter* filter, const std::string& after,
      const std::function<bool(const fixmine::v1::Trajectory&, const std::string& key)>& visit);

  // Appends to `batch` the deletion of every trajectory of `repo` as `view` sees them (both key
  // spaces); returns how many. Writes nothing itself (RecordStore::RemoveRepository commits the
  // batch with the repository's other families).
  absl::StatusOr<int64_t> AppendRemoveRepository(const internal::ReadView& view,
                                                 std::string_view repo, rocksdb::WriteBatch* batch);

 private:
  internal::DbCore* const core_;  // borrowed
};

}  // namespace fixmine::storage
