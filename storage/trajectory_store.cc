#include "storage/trajectory_store.h"

#include <algorithm>

#include "common/status.h"
#include "fmt/format.h"
#include "rocksdb/db.h"
#include "rocksdb/snapshot.h"
#include "rocksdb/write_batch.h"
#include "storage/keys.h"
#include "storage/rocks_access.h"

namespace fixmine::storage {

using fixmine::v1::Trajectory;

namespace {

absl::Status FromRocksStatus(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = fmt::format("{}: {}", what, s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return absl::UnavailableError(msg);
  return absl::InternalError(msg);
}

std::string RepoPrefix(std::string_view repo) {
  std::string k = "t";
  k.append(repo);
  k.push_back('\0');
  return k;
}

std::string PrimaryKeyOf(const Trajectory& t) {
  std::string k = RepoPrefix(t.repo());
  keys::AppendBigEndian64(&k, UINT64_MAX - keys::BiasedTime(t.merged_by().time()));
  k.append(t.id());
  return k;
}

std::string IdKey(std::string_view id) {
  std::string k = "i";
  k.append(id);
  return k;
}

class RocksTrajectoryStore final : public TrajectoryStore {
 public:
  explicit RocksTrajectoryStore(internal::RocksAccess rocks) : rocks_(rocks) {}

  absl::Status Put(const std::vector<Trajectory>& trajectories) override {
    const std::string what = "storing trajectories";
    rocksdb::WriteBatch batch;
    for (const Trajectory& t : trajectories) {
      if (t.id().empty() || t.repo().empty() || t.repo().find('\0') != std::string::npos) {
        return absl::InvalidArgumentError(
            fmt::format("{}: trajectory \"{}\" needs an id and a repository name", what, t.id()));
      }
      std::string primary = PrimaryKeyOf(t);
      // A trajectory found again (a resumed job) keeps its key; should its merge time ever
      // differ, the old entry goes.
      std::string old;
      rocksdb::Status s =
          rocks_.db->Get(rocksdb::ReadOptions(), rocks_.trajectories, IdKey(t.id()), &old);
      if (s.ok() && old != primary) {
        FIXMINE_RETURN_IF_ERROR(FromRocksStatus(batch.Delete(rocks_.trajectories, old), what));
      } else if (!s.ok() && !s.IsNotFound()) {
        return FromRocksStatus(s, what);
      }
      FIXMINE_RETURN_IF_ERROR(
          FromRocksStatus(batch.Put(rocks_.trajectories, primary, t.SerializeAsString()), what));
      FIXMINE_RETURN_IF_ERROR(
          FromRocksStatus(batch.Put(rocks_.trajectories, IdKey(t.id()), primary), what));
    }
    return rocks_.write(what, &batch);
  }

  absl::StatusOr<Trajectory> Get(std::string_view id) override {
    const std::string what = fmt::format("reading trajectory {}", QuoteInput(id));
    rocksdb::ManagedSnapshot snapshot(rocks_.db);
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot.snapshot();
    std::string primary;
    rocksdb::Status s = rocks_.db->Get(ro, rocks_.trajectories, IdKey(id), &primary);
    if (s.IsNotFound()) {
      return absl::NotFoundError(fmt::format("trajectory {} not found", QuoteInput(id)));
    }
    FIXMINE_RETURN_IF_ERROR(FromRocksStatus(s, what));
    std::string value;
    s = rocks_.db->Get(ro, rocks_.trajectories, primary, &value);
    if (s.IsNotFound()) {
      return absl::NotFoundError(fmt::format("trajectory {} not found", QuoteInput(id)));
    }
    FIXMINE_RETURN_IF_ERROR(FromRocksStatus(s, what));
    Trajectory t;
    if (!t.ParseFromString(value)) {
      return absl::DataLossError(fmt::format("{}: the stored value does not parse", what));
    }
    return t;
  }

  absl::Status Scan(
      const TrajectoryFilter* filter, const std::string& after,
      const std::function<bool(const Trajectory&, const std::string& key)>& visit) override {
    if (!after.empty() && after[0] != 't') {
      return absl::InvalidArgumentError(
          "scanning trajectories: the start position is not a trajectory key");
    }
    std::string lower = "t", upper = "u";
    if (filter != nullptr && filter->repo()) {
      lower = RepoPrefix(*filter->repo());
      upper = keys::PrefixSuccessor(lower);
    }
    rocksdb::ManagedSnapshot snapshot(rocks_.db);
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot.snapshot();
    ro.fill_cache = false;
    rocksdb::Slice upper_slice(upper);
    ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(rocks_.db->NewIterator(ro, rocks_.trajectories));
    it->Seek(std::max(lower, after));
    if (!after.empty() && it->Valid() && it->key() == rocksdb::Slice(after)) it->Next();
    Trajectory t;
    for (; it->Valid(); it->Next()) {
      if (!t.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
        return absl::DataLossError("scanning trajectories: a stored value does not parse");
      }
      if (filter != nullptr && !filter->Matches(t)) continue;
      if (!visit(t, it->key().ToString())) return absl::OkStatus();
    }
    return FromRocksStatus(it->status(), "scanning trajectories");
  }

  absl::StatusOr<int64_t> RemoveRepository(std::string_view repo) override {
    const std::string what = fmt::format("removing the trajectories of {}", QuoteInput(repo));
    std::string lower = RepoPrefix(repo), upper = keys::PrefixSuccessor(lower);
    rocksdb::ReadOptions ro;
    rocksdb::Slice upper_slice(upper);
    ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(rocks_.db->NewIterator(ro, rocks_.trajectories));
    rocksdb::WriteBatch batch;
    int64_t n = 0;
    Trajectory t;
    for (it->Seek(lower); it->Valid(); it->Next()) {
      if (t.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
        FIXMINE_RETURN_IF_ERROR(
            FromRocksStatus(batch.Delete(rocks_.trajectories, IdKey(t.id())), what));
      }
      FIXMINE_RETURN_IF_ERROR(FromRocksStatus(batch.Delete(rocks_.trajectories, it->key()), what));
      ++n;
    }
    FIXMINE_RETURN_IF_ERROR(FromRocksStatus(it->status(), what));
    FIXMINE_RETURN_IF_ERROR(rocks_.write(what, &batch));
    return n;
  }

 private:
  internal::RocksAccess rocks_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TrajectoryStore>> TrajectoryStore::Of(RecordStore* store) {
  std::optional<internal::RocksAccess> rocks = internal::RocksAccessOf(store);
  if (!rocks || rocks->db == nullptr || rocks->trajectories == nullptr) {
    return absl::FailedPreconditionError("trajectories need a store opened by RecordStore::Open");
  }
  return std::unique_ptr<TrajectoryStore>(new RocksTrajectoryStore(*rocks));
}

}  // namespace fixmine::storage
