#pragma once

// Pull-request trajectories in the record store's RocksDB (docs/storage.md, docs/trajectories.md).
// Their filter language is storage/trajectory_filter.h.
//
// Column family `trajectories`, two key spaces:
//   't' repo '\0' be64(UINT64_MAX - BiasedTime(merge committer time)) id -> Trajectory
//       (one repository is one prefix, newest merge first, then id)
//   'i' id -> the 't' key

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

namespace fixmine::storage {

// Column family name (opened by RecordStore::Open with the others).
inline constexpr char kTrajectoriesCf[] = "trajectories";

// Reads and writes the trajectories of a RecordStore opened by RecordStore::Open. Borrows the
// store, which must outlive it. Thread-safe.
class TrajectoryStore {
 public:
  // The trajectories of `store`; FAILED_PRECONDITION when `store` is not a RocksDB store made
  // by RecordStore::Open.
  static absl::StatusOr<std::unique_ptr<TrajectoryStore>> Of(RecordStore* store);
  virtual ~TrajectoryStore() = default;

  // Stores `trajectories` (replacing any with the same id) in ONE atomic synced batch.
  // INVALID_ARGUMENT for an empty id or repository name.
  virtual absl::Status Put(const std::vector<fixmine::v1::Trajectory>& trajectories) = 0;
  // NOT_FOUND when no trajectory has this id.
  virtual absl::StatusOr<fixmine::v1::Trajectory> Get(std::string_view id) = 0;
  // Visits, on a consistent snapshot, the trajectories matching `filter` (null: all) in store
  // order, starting right after key `after` (empty: from the start). `visit` gets each one and
  // its key and returns false to stop. INVALID_ARGUMENT for an `after` that is not a
  // trajectory key.
  virtual absl::Status Scan(
      const TrajectoryFilter* filter, const std::string& after,
      const std::function<bool(const fixmine::v1::Trajectory&, const std::string& key)>& visit) = 0;
  // Deletes every trajectory of `repo`; returns how many.
  virtual absl::StatusOr<int64_t> RemoveRepository(std::string_view repo) = 0;
};

}  // namespace fixmine::storage
