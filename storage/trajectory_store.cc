#include "storage/trajectory_store.h"

#include <algorithm>

#include "common/status.h"
#include "fmt/format.h"
#include "storage/db_core.h"
#include "storage/keys.h"

namespace fixmine::storage {

using fixmine::v1::Trajectory;
using internal::Family;
using internal::FromRocks;

absl::StatusOr<std::unique_ptr<TrajectoryStore>> TrajectoryStore::Of(RecordStore* store) {
  if (store == nullptr) {
    return absl::FailedPreconditionError("trajectories need a store opened by RecordStore::Open");
  }
  return std::make_unique<TrajectoryStore>(store->core());
}

absl::Status TrajectoryStore::Put(const std::vector<Trajectory>& trajectories) {
  const std::string what = "storing trajectories";
  rocksdb::WriteBatch batch;
  for (const Trajectory& t : trajectories) {
    if (t.id().empty() || t.repo().empty() || t.repo().find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(
          fmt::format("{}: trajectory \"{}\" needs an id and a repository name", what, t.id()));
    }
    std::string primary = keys::TrajectoryKey(t.repo(), t.merged_by().time(), t.id());
    // A trajectory found again (a resumed job) keeps its key; should its merge time ever
    // differ, the old entry goes.
    std::string old;
    FIXMINE_ASSIGN_OR_RETURN(bool found, core_->Get(nullptr, Family::kTrajectories,
                                                    keys::TrajectoryIdKey(t.id()), &old, what));
    rocksdb::ColumnFamilyHandle* cf = core_->cf(Family::kTrajectories);
    if (found && old != primary) FIXMINE_RETURN_IF_ERROR(FromRocks(batch.Delete(cf, old), what));
    FIXMINE_RETURN_IF_ERROR(FromRocks(batch.Put(cf, primary, t.SerializeAsString()), what));
    FIXMINE_RETURN_IF_ERROR(FromRocks(batch.Put(cf, keys::TrajectoryIdKey(t.id()), primary), what));
  }
  return core_->Write(what, &batch);
}

absl::StatusOr<Trajectory> TrajectoryStore::Get(std::string_view id) {
  const std::string what = fmt::format("reading trajectory {}", QuoteInput(id));
  std::unique_ptr<internal::ReadView> view = core_->View();
  std::string primary;
  FIXMINE_ASSIGN_OR_RETURN(bool found, core_->Get(&view->options(), Family::kTrajectories,
                                                  keys::TrajectoryIdKey(id), &primary, what));
  std::optional<Trajectory> t;
  if (found) {
    FIXMINE_ASSIGN_OR_RETURN(
        t, core_->GetProto<Trajectory>(&view->options(), Family::kTrajectories, primary, what));
  }
  if (!t) return absl::NotFoundError(fmt::format("trajectory {} not found", QuoteInput(id)));
  return *std::move(t);
}

absl::Status TrajectoryStore::Scan(
    const TrajectoryFilter* filter, const std::string& after,
    const std::function<bool(const Trajectory&, const std::string& key)>& visit) {
  if (!after.empty() && after[0] != 't') {
    return absl::InvalidArgumentError(
        "scanning trajectories: the start position is not a trajectory key");
  }
  std::string lower = "t", upper = "u";
  if (filter != nullptr && filter->repo()) {
    lower = keys::TrajectoryRepoPrefix(*filter->repo());
    upper = keys::PrefixSuccessor(lower);
  }
  std::unique_ptr<internal::ReadView> view = core_->View();
  rocksdb::ReadOptions ro = view->scan_options();
  rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it = core_->NewIterator(ro, Family::kTrajectories);
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
  return FromRocks(it->status(), "scanning trajectories");
}

absl::StatusOr<int64_t> TrajectoryStore::AppendRemoveRepository(const internal::ReadView& view,
                                                                std::string_view repo,
                                                                rocksdb::WriteBatch* batch) {
  const std::string what = fmt::format("removing the trajectories of {}", QuoteInput(repo));
  std::string lower = keys::TrajectoryRepoPrefix(repo), upper = keys::PrefixSuccessor(lower);
  rocksdb::ReadOptions ro = view.scan_options();
  rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it = core_->NewIterator(ro, Family::kTrajectories);
  rocksdb::ColumnFamilyHandle* cf = core_->cf(Family::kTrajectories);
  int64_t n = 0;
  Trajectory t;
  for (it->Seek(lower); it->Valid(); it->Next()) {
    if (t.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      FIXMINE_RETURN_IF_ERROR(FromRocks(batch->Delete(cf, keys::TrajectoryIdKey(t.id())), what));
    }
    FIXMINE_RETURN_IF_ERROR(FromRocks(batch->Delete(cf, it->key()), what));
    ++n;
  }
  FIXMINE_RETURN_IF_ERROR(FromRocks(it->status(), what));
  return n;
}

}  // namespace fixmine::storage
