#include "storage/record_store.h"

#include <algorithm>
#include <map>
#include <unordered_set>
#include <utility>

#include "common/status.h"
#include "fmt/format.h"
#include "storage/bug_links.h"
#include "storage/db_core.h"
#include "storage/dedup_index.h"
#include "storage/fault_injection.h"
#include "storage/github_store.h"
#include "storage/keys.h"
#include "storage/manifest_guard.h"
#include "storage/record_index.h"
#include "storage/trajectory_store.h"

namespace fixmine::storage {

using fixmine::v1::Job;
using fixmine::v1::Record;
using fixmine::v1::Repository;
using internal::Family;
using internal::FromRocks;
using internal::HexKey;

namespace {

// record_count is derived from the counters, never stored.
std::string SerializeRepository(const Repository& repo) {
  Repository copy = repo;
  copy.clear_record_count();
  return copy.SerializeAsString();
}

// Lists every value of family `f` parsed as `Message`, in key order; `what` names the list.
template <typename Message>
absl::StatusOr<std::vector<Message>> ListFamily(const internal::DbCore& core, Family f,
                                                std::string_view what) {
  std::vector<Message> out;
  const rocksdb::ReadOptions ro;
  std::unique_ptr<rocksdb::Iterator> it = core.NewIterator(ro, f);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Message m;
    if (!m.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          fmt::format("{}: the value of \"{}\" does not parse", what, it->key().ToStringView()));
    }
    out.push_back(std::move(m));
  }
  FIXMINE_RETURN_IF_ERROR(FromRocks(it->status(), what));
  return out;
}

// One key-value write through the guard.
absl::Status PutOne(internal::DbCore* core, Family f, std::string_view key, std::string_view value,
                    std::string_view what) {
  rocksdb::WriteBatch batch;
  FIXMINE_RETURN_IF_ERROR(FromRocks(batch.Put(core->cf(f), key, value), what));
  return core->Write(what, &batch);
}

}  // namespace

absl::StatusOr<std::unique_ptr<RecordStore>> RecordStore::Open(const std::string& dir) {
  return Open(dir, StoreOptions());
}

absl::StatusOr<std::unique_ptr<RecordStore>> RecordStore::Open(const std::string& dir,
                                                               const StoreOptions& options) {
  FIXMINE_ASSIGN_OR_RETURN(std::unique_ptr<internal::DbCore> core,
                           internal::DbCore::Open(dir, options));
  std::unique_ptr<RecordStore> store(new RecordStore(std::move(core), options));
  FIXMINE_RETURN_IF_ERROR(store->CheckSchema());
  FIXMINE_RETURN_IF_ERROR(store->CompleteDedupIndex());
  RecordManifestState(dir);  // the open wrote a new MANIFEST
  return store;
}

RecordStore::RecordStore(std::unique_ptr<internal::DbCore> core, const StoreOptions& options)
    : core_(std::move(core)),
      options_(options),
      records_(std::make_unique<internal::RecordIndex>(core_.get())),
      dedup_(std::make_unique<internal::DedupIndex>(core_.get(), options.near_dup_threshold)),
      bug_links_(std::make_unique<internal::BugLinks>(core_.get(), records_.get())) {}

RecordStore::~RecordStore() = default;

absl::Status RecordStore::CheckSchema() {
  std::string what = fmt::format("opening store \"{}\"", core_->dir());
  std::string value;
  FIXMINE_ASSIGN_OR_RETURN(
      bool found, core_->Get(nullptr, Family::kMeta, keys::kSchemaVersionKey, &value, what));
  std::string want = std::to_string(keys::kSchemaVersion);
  if (!found) return PutOne(core_.get(), Family::kMeta, keys::kSchemaVersionKey, want, what);
  if (value != want) {
    // No older schema has ever been released in a form that needs migrating, so every other
    // version is refused with what to do about it (docs/operations.md "Upgrades").
    int found_version = 0;
    bool numeric = !value.empty() && value.size() < 10 &&
                   value.find_first_not_of("0123456789") == std::string::npos;
    if (numeric) found_version = std::stoi(value);
    std::string advice =
        !numeric ? "the folder is damaged or not a fixmine store; restore it from a backup"
        : found_version < keys::kSchemaVersion
            ? "it was written by an older fixmine and cannot be migrated in place; run the "
              "release that wrote it to export the data, or re-mine into a new --data-dir"
            : "it was written by a newer fixmine; run that release (or newer) on it, or use "
              "another --data-dir";
    return absl::FailedPreconditionError(
        fmt::format("{}: the folder holds a store of schema version \"{}\" but this build "
                    "reads version {}; {}",
                    what, value, want, advice));
  }
  return absl::OkStatus();
}

// Builds the dedup family for a store written by a build without it, or relabels a store whose
// near groups were made at another threshold (docs/storage.md "Dedup groups"): every record is
// indexed and relabelled by the canonical rule, in one atomic batch that also marks the layout
// complete and records the threshold. A no-op when both marks match.
absl::Status RecordStore::CompleteDedupIndex() {
  std::string what = fmt::format("indexing the dedup groups of store \"{}\"", core_->dir());
  const std::string threshold = fmt::format("{}", options_.near_dup_threshold);
  std::string layout;
  std::string stored_threshold;
  FIXMINE_RETURN_IF_ERROR(
      core_->Get(nullptr, Family::kMeta, keys::kDedupLayoutKey, &layout, what).status());
  FIXMINE_RETURN_IF_ERROR(
      core_->Get(nullptr, Family::kMeta, keys::kDedupThresholdKey, &stored_threshold, what)
          .status());
  if (layout == keys::kDedupLayout && stored_threshold == threshold) return absl::OkStatus();
  absl::MutexLock lock(&batch_mu_);
  rocksdb::WriteBatch batch;
  // Earlier layouts' entries go; the rebuilt ones are put after these deletions.
  const std::string all_end(4, '\xff');
  for (Family f : {Family::kDedup, Family::kLsh, Family::kFingerprints}) {
    FIXMINE_RETURN_IF_ERROR(FromRocks(batch.DeleteRange(core_->cf(f), "", all_end), what));
  }
  std::vector<Record> members;
  std::vector<std::string> primary;
  std::vector<internal::DedupLabels> before;
  {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it = core_->NewIterator(ro, Family::kRecords);
    Record record;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (!record.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
        return absl::DataLossError(fmt::format("{}: the record at key {} does not parse", what,
                                               HexKey(it->key().ToStringView())));
      }
      Record m;
      m.set_id(record.id());
      m.set_commit(record.commit());
      m.mutable_author()->set_time(record.author().time());
      m.set_patch_fingerprint(record.patch_fingerprint());
      // The signature: from the record's dedup member, or (earlier builds, first copies only)
      // from the LSH family. A read error counts as no signature.
      std::string sig;
      Record member;
      auto has_member =
          core_->Get(nullptr, Family::kDedup, keys::DedupMemberKey(record.id()), &sig, what);
      if (has_member.ok() && *has_member && member.ParseFromString(sig)) {
        *m.mutable_minhash() = member.minhash();
      } else if (auto has_sig = core_->Get(nullptr, Family::kLsh,
                                           keys::LshSignatureKey(record.id()), &sig, what);
                 has_sig.ok() && *has_sig) {
        if (std::optional<std::vector<uint32_t>> v = keys::DecodeSignature(sig)) {
          for (uint32_t x : *v) m.add_minhash(x);
        }
      }
      members.push_back(std::move(m));
      primary.emplace_back(it->key().ToStringView());
      before.push_back(
          {record.duplicate_of(), record.near_duplicate_of(), record.near_duplicate_similarity()});
    }
    FIXMINE_RETURN_IF_ERROR(FromRocks(it->status(), what));
  }
  std::vector<Record*> added;
  added.reserve(members.size());
  for (Record& m : members) added.push_back(&m);
  FIXMINE_RETURN_IF_ERROR(dedup_->Apply(added, {}, &batch, what).status());
  for (size_t i = 0; i < members.size(); ++i) {
    internal::DedupLabels after{members[i].duplicate_of(), members[i].near_duplicate_of(),
                                members[i].near_duplicate_similarity()};
    if (after == before[i]) continue;
    FIXMINE_ASSIGN_OR_RETURN(std::optional<Record> record,
                             records_->ReadAt(nullptr, primary[i], what));
    if (!record) return FromRocks(rocksdb::Status::NotFound(), what);
    record->set_duplicate_of(after.duplicate_of);
    record->set_near_duplicate_of(after.near_duplicate_of);
    record->set_near_duplicate_similarity(after.near_duplicate_similarity);
    FIXMINE_RETURN_IF_ERROR(records_->AppendRewrite(primary[i], *record, &batch, what));
  }
  FIXMINE_RETURN_IF_ERROR(FromRocks(
      batch.Put(core_->cf(Family::kMeta), keys::kDedupLayoutKey, keys::kDedupLayout), what));
  FIXMINE_RETURN_IF_ERROR(
      FromRocks(batch.Put(core_->cf(Family::kMeta), keys::kDedupThresholdKey, threshold), what));
  return core_->Write(what, &batch);
}

// --- repositories ---

absl::Status RecordStore::PutRepository(const Repository& repo) {
  std::string what = fmt::format("storing repository \"{}\"", repo.name());
  if (repo.name().empty()) return absl::InvalidArgumentError(what + ": empty name");
  return PutOne(core_.get(), Family::kRepos, repo.name(), SerializeRepository(repo), what);
}

absl::StatusOr<Repository> RecordStore::GetRepository(std::string_view name) {
  std::string what = fmt::format("reading repository {}", QuoteInput(name));
  std::unique_ptr<internal::ReadView> view = core_->View();
  FIXMINE_ASSIGN_OR_RETURN(
      std::optional<Repository> repo,
      core_->GetProto<Repository>(&view->options(), Family::kRepos, name, what));
  if (!repo) return absl::NotFoundError(fmt::format("repository {} not found", QuoteInput(name)));
  FIXMINE_ASSIGN_OR_RETURN(int64_t count,
                           records_->ReadCounter(&view->options(), keys::RepoCounterKey(name)));
  repo->set_record_count(count);
  return *std::move(repo);
}

absl::StatusOr<std::vector<Repository>> RecordStore::ListRepositories() {
  std::unique_ptr<internal::ReadView> view = core_->View();
  std::vector<Repository> out;
  std::unique_ptr<rocksdb::Iterator> it = core_->NewIterator(view->options(), Family::kRepos);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Repository repo;
    if (!repo.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(fmt::format(
          "listing repositories: the value of \"{}\" does not parse", it->key().ToStringView()));
    }
    FIXMINE_ASSIGN_OR_RETURN(
        int64_t count, records_->ReadCounter(&view->options(), keys::RepoCounterKey(repo.name())));
    repo.set_record_count(count);
    out.push_back(std::move(repo));
  }
  FIXMINE_RETURN_IF_ERROR(FromRocks(it->status(), "listing repositories"));
  return out;
}

absl::StatusOr<int64_t> RecordStore::RemoveRepository(std::string_view name) {
  std::string what = fmt::format("removing repository {}", QuoteInput(name));
  absl::MutexLock lock(&batch_mu_);
  std::unique_ptr<internal::ReadView> view = core_->View();
  std::string value;
  FIXMINE_ASSIGN_OR_RETURN(bool found,
                           core_->Get(&view->options(), Family::kRepos, name, &value, what));
  if (!found) return absl::NotFoundError(fmt::format("repository {} not found", QuoteInput(name)));

  // Every family's part of the removal goes into this one batch: a crash keeps all or nothing.
  rocksdb::WriteBatch batch;
  std::vector<std::string> removed_ids;
  FIXMINE_ASSIGN_OR_RETURN(
      int64_t removed, records_->AppendRemoveRepository(*view, name, &batch, &removed_ids, what));
  if (!name.empty()) {
    // The dedup groups of the removed records are recomputed in the same batch: their
    // canonicals move to the remaining members (curation/canonical.h).
    FIXMINE_ASSIGN_OR_RETURN(auto relabel, dedup_->Apply({}, removed_ids, &batch, what));
    internal::RecordWrites writes;
    FIXMINE_RETURN_IF_ERROR(records_->Relabel(&view->options(), relabel, &writes, what));
    for (const auto& [key, rec] : writes.rewritten) {
      FIXMINE_RETURN_IF_ERROR(records_->AppendRewrite(key, rec, &batch, what));
    }
    FIXMINE_RETURN_IF_ERROR(bug_links_->AppendRemoveRepository(name, &batch, what));
    internal::CrashPoint(internal::kCrashRemovalBetweenHalves);  // test-only
    FIXMINE_RETURN_IF_ERROR(GithubStore(core_.get()).AppendRemoveRepository(name, &batch));
    FIXMINE_RETURN_IF_ERROR(
        TrajectoryStore(core_.get()).AppendRemoveRepository(*view, name, &batch).status());
  }
  FIXMINE_RETURN_IF_ERROR(FromRocks(batch.Delete(core_->cf(Family::kRepos), name), what));
  FIXMINE_RETURN_IF_ERROR(core_->Write(what, &batch));
  internal::CrashPoint(internal::kCrashRemovalAfterWrite);  // test-only
  return removed;
}

// --- benchmarks ---

absl::Status RecordStore::PutBenchmark(const fixmine::v1::Benchmark& benchmark) {
  std::string what = fmt::format("storing benchmark \"{}\"", benchmark.name());
  if (benchmark.name().empty()) return absl::InvalidArgumentError(what + ": empty name");
  return PutOne(core_.get(), Family::kBenchmarks, benchmark.name(), benchmark.SerializeAsString(),
                what);
}

absl::StatusOr<std::vector<fixmine::v1::Benchmark>> RecordStore::ListBenchmarks() {
  return ListFamily<fixmine::v1::Benchmark>(*core_, Family::kBenchmarks, "listing benchmarks");
}

absl::Status RecordStore::RemoveBenchmark(std::string_view name) {
  std::string what = fmt::format("removing benchmark {}", QuoteInput(name));
  std::string value;
  FIXMINE_ASSIGN_OR_RETURN(bool found,
                           core_->Get(nullptr, Family::kBenchmarks, name, &value, what));
  if (!found) return absl::NotFoundError(fmt::format("benchmark {} not found", QuoteInput(name)));
  rocksdb::WriteBatch batch;
  FIXMINE_RETURN_IF_ERROR(FromRocks(batch.Delete(core_->cf(Family::kBenchmarks), name), what));
  return core_->Write(what, &batch);
}

// --- jobs ---

absl::Status RecordStore::PutJob(const Job& job) {
  std::string what = fmt::format("storing job {}", QuoteInput(job.id()));
  if (job.id().empty()) return absl::InvalidArgumentError(what + ": empty id");
  return PutOne(core_.get(), Family::kJobs, job.id(), job.SerializeAsString(), what);
}

absl::StatusOr<Job> RecordStore::GetJob(std::string_view id) {
  std::string what = fmt::format("reading job {}", QuoteInput(id));
  FIXMINE_ASSIGN_OR_RETURN(std::optional<Job> job,
                           core_->GetProto<Job>(nullptr, Family::kJobs, id, what));
  if (!job) return absl::NotFoundError(fmt::format("job {} not found", QuoteInput(id)));
  return *std::move(job);
}

absl::StatusOr<std::vector<Job>> RecordStore::ListJobs() {
  FIXMINE_ASSIGN_OR_RETURN(std::vector<Job> out,
                           ListFamily<Job>(*core_, Family::kJobs, "listing jobs"));
  std::sort(out.begin(), out.end(), [](const Job& a, const Job& b) {
    if (a.created_at() != b.created_at()) return a.created_at() > b.created_at();
    return a.id() > b.id();
  });
  return out;
}

// --- records ---

absl::StatusOr<bool> RecordStore::HasRecord(std::string_view id) {
  std::string key;
  return core_->Get(nullptr, Family::kIds, id, &key,
                    fmt::format("looking up record {}", QuoteInput(id)));
}

absl::StatusOr<int64_t> RecordStore::WriteBatch(const std::vector<Record>& records, const Job& job,
                                                const Repository* repo) {
  std::string what =
      fmt::format("writing a batch of {} records for job \"{}\"", records.size(), job.id());
  if (job.id().empty()) return absl::InvalidArgumentError(what + ": the job has no id");
  if (repo != nullptr && repo->name().empty()) {
    return absl::InvalidArgumentError(what + ": the repository has no name");
  }
  // The batch's buffer sized once for the records (and their index entries): grown by
  // doubling it would copy every record again and hold up to twice its size.
  size_t reserve = 1024;
  for (const Record& record : records) reserve += record.ByteSizeLong() + 256;
  rocksdb::WriteBatch batch(reserve);
  std::unordered_set<std::string> seen_ids;
  std::unordered_set<std::string> seen_keys;
  std::map<std::string, int64_t> per_repo;
  int64_t added = 0;
  // The dedup indexes and bug links are read here and written by this batch: batches of
  // different repositories must not interleave between the two, or both could claim a
  // fingerprint.
  absl::MutexLock lock(&batch_mu_);
  // New records are put at the end, so that a bug-fix link found later in the batch can still
  // add to a record of this batch.
  internal::RecordWrites writes;
  internal::BugLinks::BatchState links;
  std::string existing;
  for (const Record& record : records) {
    if (record.id().empty()) {
      return absl::InvalidArgumentError(
          fmt::format("{}: a record of commit \"{}\" has no id", what, record.commit()));
    }
    absl::StatusOr<std::string> key = keys::PrimaryKey(record);
    if (!key.ok()) return Annotate(key.status(), what);
    if (!seen_ids.insert(record.id()).second || !seen_keys.insert(*key).second) continue;
    // Records of one repository come from one writer at a time (the contract), so nothing can
    // add this id between this read and the write below.
    FIXMINE_ASSIGN_OR_RETURN(bool stored,
                             core_->Get(nullptr, Family::kIds, record.id(), &existing, what));
    if (stored) continue;
    Record copy = record;
    FIXMINE_RETURN_IF_ERROR(bug_links_->Link(nullptr, &copy, &writes, &links, &batch, what));
    writes.added.emplace_back(*key, std::move(copy));
    ++per_repo[record.repo()];
    ++added;
  }
  {
    // Dedup labels (curation/canonical.h): set on the new records, and moved on stored ones
    // whose group's canonical changes, all in this batch.
    std::vector<Record*> added_records;
    added_records.reserve(writes.added.size());
    for (auto& [key, rec] : writes.added) added_records.push_back(&rec);
    FIXMINE_ASSIGN_OR_RETURN(auto relabel, dedup_->Apply(added_records, {}, &batch, what));
    FIXMINE_RETURN_IF_ERROR(records_->Relabel(nullptr, relabel, &writes, what));
  }
  std::string value;  // one buffer for every record's bytes
  for (auto& [key, rec] : writes.added) {
    value.clear();
    if (!rec.AppendToString(&value)) {
      return absl::InternalError(
          fmt::format("{}: record \"{}\" does not serialize", what, rec.id()));
    }
    FIXMINE_RETURN_IF_ERROR(records_->AppendAdd(key, rec, value, &batch, what));
    rec.Clear();  // copied into the batch; freed now rather than with the whole vector
  }
  for (const auto& [key, rec] : writes.rewritten) {
    FIXMINE_RETURN_IF_ERROR(records_->AppendRewrite(key, rec, &batch, what));
  }
  FIXMINE_RETURN_IF_ERROR(records_->AppendCounts(per_repo, added, &batch, what));
  FIXMINE_RETURN_IF_ERROR(
      FromRocks(batch.Put(core_->cf(Family::kJobs), job.id(), job.SerializeAsString()), what));
  if (repo != nullptr) {
    FIXMINE_RETURN_IF_ERROR(FromRocks(
        batch.Put(core_->cf(Family::kRepos), repo->name(), SerializeRepository(*repo)), what));
  }
  FIXMINE_RETURN_IF_ERROR(core_->Write(what, &batch));
  return added;
}

absl::StatusOr<int64_t> RecordStore::UpdateRecords(const std::vector<Record>& records) {
  std::string what = "updating records";
  // Serialised with WriteBatch so a record is not rewritten between its id check and write.
  absl::MutexLock lock(&batch_mu_);
  rocksdb::WriteBatch batch;
  int64_t updated = 0;
  for (const Record& record : records) {
    FIXMINE_ASSIGN_OR_RETURN(std::optional<std::string> key,
                             records_->KeyOf(nullptr, record.id(), what));
    if (!key) continue;
    // The dedup labels are the store's: a caller's copy read before they moved must not move
    // them back.
    Record copy = record;
    std::string member;
    FIXMINE_ASSIGN_OR_RETURN(
        bool has_member,
        core_->Get(nullptr, Family::kDedup, keys::DedupMemberKey(record.id()), &member, what));
    Record labels;
    if (has_member && labels.ParseFromString(member)) {
      copy.set_duplicate_of(labels.duplicate_of());
      copy.set_near_duplicate_of(labels.near_duplicate_of());
      copy.set_near_duplicate_similarity(labels.near_duplicate_similarity());
    }
    FIXMINE_RETURN_IF_ERROR(records_->AppendRewrite(*key, copy, &batch, what));
    ++updated;
  }
  if (updated > 0) FIXMINE_RETURN_IF_ERROR(core_->Write(what, &batch));
  return updated;
}

absl::StatusOr<Record> RecordStore::GetRecord(std::string_view id) { return records_->Get(id); }

absl::Status RecordStore::Scan(
    const Filter* filter, const ScanPosition& from,
    const std::function<bool(const Record&, const ScanPosition& after)>& visit) {
  return records_->Scan(filter, from, visit);
}

absl::Status RecordStore::ScanSerialized(
    const Filter* filter, const ScanPosition& from,
    const std::function<bool(std::string_view bytes, const ScanPosition& after)>& visit) {
  return records_->ScanSerialized(filter, from, visit);
}

absl::StatusOr<int64_t> RecordStore::Count(const Filter* filter) { return records_->Count(filter); }

absl::StatusOr<int64_t> RecordStore::RecordCount(std::string_view repo) {
  return records_->ReadCounter(nullptr, keys::RepoCounterKey(repo));
}

absl::StatusOr<int64_t> RecordStore::TotalRecords() {
  return records_->ReadCounter(nullptr, keys::kTotalCounterKey);
}

uint64_t RecordStore::Generation() { return core_->Generation(); }

int64_t RecordStore::ApproximateSize() { return core_->ApproximateSize(); }

absl::Status RecordStore::Compact() { return core_->Compact(); }

absl::Status RecordStore::WriteFence() { return core_->WriteFence(); }

void RecordStore::SetFenceCallback(const std::function<void(const absl::Status&)>& on_fence) {
  core_->SetFenceCallback(on_fence);
}

}  // namespace fixmine::storage
