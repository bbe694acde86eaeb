#include "storage/record_store.h"

#include <openssl/sha.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "common/status.h"
#include "fmt/format.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/options.h"
#include "rocksdb/slice.h"
#include "rocksdb/snapshot.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"
#include "storage/dedup_index.h"
#include "storage/fault_injection.h"
#include "storage/keys.h"
#include "storage/maintenance.h"
#include "storage/manifest_guard.h"
#include "storage/rocks_access.h"
#include "storage/trajectory_store.h"

namespace fixmine::storage {
namespace {

using fixmine::v1::Job;
using fixmine::v1::Record;
using fixmine::v1::Repository;

// Block cache shared by every column family. Records are read mostly by range scans, so a
// modest cache is enough; the OS page cache holds the rest.
constexpr size_t kBlockCacheBytes = size_t{64} << 20;

// Converts a RocksDB status at the edge of storage/, saying what was being done.
absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = fmt::format("{}: {}", what, s.ToString());
  switch (s.code()) {
    case rocksdb::Status::kNotFound:
      return absl::NotFoundError(msg);
    case rocksdb::Status::kCorruption:
      return absl::DataLossError(msg);
    case rocksdb::Status::kInvalidArgument:
      return absl::InvalidArgumentError(msg);
    case rocksdb::Status::kNotSupported:
      return absl::UnimplementedError(msg);
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kTryAgain:
      return absl::UnavailableError(msg);
    case rocksdb::Status::kAborted:
      return absl::AbortedError(msg);
    case rocksdb::Status::kIOError:
      if (s.IsNoSpace()) return absl::ResourceExhaustedError(msg);
      return absl::InternalError(msg);
    default:
      return absl::InternalError(msg);
  }
}

// True when DB::Open failed because the LOCK file is held, by another process (fcntl fails
// with EAGAIN/EACCES) or by this one (RocksDB keeps its own table of locked files).
bool IsLockHeld(const rocksdb::Status& s) {
  if (!s.IsIOError()) return false;
  std::string msg = s.ToString();
  return msg.find("lock hold by current process") != std::string::npos ||
         (msg.find("/LOCK") != std::string::npos &&
          (msg.find("Resource temporarily unavailable") != std::string::npos ||
           msg.find("No locks available") != std::string::npos));
}

// Free space below which the store refuses writes (docs/reliability.md): room for the largest
// write batch (16 MiB of records) plus a memtable flush, so that RocksDB does not hit ENOSPC.
constexpr uint64_t kMinFreeBytes = uint64_t{64} << 20;

rocksdb::WriteOptions SyncWrite() {
  rocksdb::WriteOptions options;
  options.sync = true;
  return options;
}

// Adds 8-byte counters (keys::EncodeCounter), so concurrent writers of different repositories
// update the shared total without a read-modify-write under a lock.
class CounterAddOperator : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& /*key*/, const rocksdb::Slice* existing_value,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger* /*logger*/) const override {
    uint64_t base = 0;
    if (existing_value != nullptr) {
      std::optional<int64_t> v = keys::DecodeCounter(existing_value->ToStringView());
      if (!v) return false;
      base = static_cast<uint64_t>(*v);
    }
    std::optional<int64_t> add = keys::DecodeCounter(value.ToStringView());
    if (!add) return false;
    *new_value = keys::EncodeCounter(static_cast<int64_t>(base + static_cast<uint64_t>(*add)));
    return true;
  }
  const char* Name() const override { return "fixmine.CounterAdd"; }
};

// The distinct non-empty languages of a record's files, each once (lang_index entries).
std::set<std::string> Languages(const Record& record) {
  std::set<std::string> out;
  for (const auto& file : record.files()) {
    if (!file.language().empty() && file.language().find('\0') == std::string::npos) {
      out.insert(file.language());
    }
  }
  return out;
}

// The id the miner gives the record of (`repo`, `commit`) (miner::RecordId, which storage does
// not link): the first 24 hex digits of the git blob id of "fixmine-record\n" repo "\n" commit.
std::string RecordIdOf(std::string_view repo, std::string_view commit) {
  std::string body = fmt::format("fixmine-record\n{}\n{}", repo, commit);
  std::string object = fmt::format("blob {}", body.size());
  object.push_back('\0');
  object += body;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(object.data()), object.size(), digest);
  std::string out;
  for (int i = 0; i < 12; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

// Adds `fix` to the record's labels.fixed_by unless present; keeps the list sorted.
bool AddFixedBy(Record* record, const std::string& fix) {
  auto* list = record->mutable_labels()->mutable_fixed_by();
  auto it = std::lower_bound(list->begin(), list->end(), fix);
  if (it != list->end() && *it == fix) return false;
  list->Add(std::string(fix));
  std::sort(list->begin(), list->end());
  return true;
}

std::string HexKey(std::string_view key) {
  std::string out;
  out.reserve(key.size() * 2);
  for (unsigned char c : key) out += fmt::format("{:02x}", c);
  return out;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

// Which key space a scan walks and its bounds.
struct ScanPlan {
  enum class Kind { kPrimary, kLang, kTime };
  Kind kind = Kind::kPrimary;
  std::string index;  // ScanPosition::index
  std::string lower;  // first key (inclusive); empty: the start
  std::string upper;  // end key (exclusive); empty: no end
  // Every key of the key space starts with this (resume positions are checked against it).
  std::string key_prefix;
  bool empty = false;  // the hints contradict each other: nothing can match
};

ScanPlan PlanScan(const Filter* filter) {
  ScanPlan plan;
  if (filter == nullptr) {
    plan.index = "records";
    return plan;
  }
  const FilterHints& hints = filter->hints();
  if (hints.min_time && hints.max_time && *hints.min_time > *hints.max_time) plan.empty = true;
  if (hints.repo) {
    plan.kind = ScanPlan::Kind::kPrimary;
    plan.index = "records:" + *hints.repo;
    plan.key_prefix = keys::RepoPrefix(*hints.repo);
    plan.lower = plan.key_prefix;
    plan.upper = keys::PrefixSuccessor(plan.key_prefix);
    // Newest first: the latest allowed time is the low end of the range.
    if (hints.max_time) plan.lower = keys::PrimaryTimePrefix(*hints.repo, *hints.max_time);
    if (hints.min_time) {
      plan.upper = keys::PrefixSuccessor(keys::PrimaryTimePrefix(*hints.repo, *hints.min_time));
    }
    if (hints.repo->empty() || hints.repo->find('\0') != std::string::npos) plan.empty = true;
  } else if (hints.language) {
    plan.kind = ScanPlan::Kind::kLang;
    plan.index = "lang:" + *hints.language;
    plan.key_prefix = keys::LangPrefix(*hints.language);
    plan.lower = plan.key_prefix;
    plan.upper = keys::PrefixSuccessor(plan.key_prefix);
    if (hints.language->empty() || hints.language->find('\0') != std::string::npos) {
      plan.empty = true;  // never indexed
    }
  } else if (hints.min_time || hints.max_time) {
    plan.kind = ScanPlan::Kind::kTime;
    plan.index = "time";
    if (hints.min_time) keys::AppendBigEndian64(&plan.lower, keys::BiasedTime(*hints.min_time));
    if (hints.max_time) {
      std::string max;
      keys::AppendBigEndian64(&max, keys::BiasedTime(*hints.max_time));
      plan.upper = keys::PrefixSuccessor(max);
    }
  } else {
    plan.index = "records";
  }
  return plan;
}

class RocksRecordStore final : public RecordStore {
 public:
  struct Families {
    rocksdb::ColumnFamilyHandle* meta = nullptr;
    rocksdb::ColumnFamilyHandle* records = nullptr;
    rocksdb::ColumnFamilyHandle* ids = nullptr;
    rocksdb::ColumnFamilyHandle* lang = nullptr;
    rocksdb::ColumnFamilyHandle* time = nullptr;
    rocksdb::ColumnFamilyHandle* repos = nullptr;
    rocksdb::ColumnFamilyHandle* jobs = nullptr;
    rocksdb::ColumnFamilyHandle* counters = nullptr;
    rocksdb::ColumnFamilyHandle* fingerprints = nullptr;
    rocksdb::ColumnFamilyHandle* lsh = nullptr;
    rocksdb::ColumnFamilyHandle* benchmarks = nullptr;
    rocksdb::ColumnFamilyHandle* trajectories = nullptr;
    rocksdb::ColumnFamilyHandle* dedup = nullptr;
    rocksdb::ColumnFamilyHandle* github = nullptr;
  };

  // For companion stores (rocks_access.h).
  internal::RocksAccess Access() {
    return {db_.get(), cf_.trajectories, cf_.github,
            [this](std::string_view what, rocksdb::WriteBatch* batch) {
              return Write(what, [&] { return db_->Write(SyncWrite(), batch); });
            }};
  }

  RocksRecordStore(std::string dir, std::unique_ptr<rocksdb::Env> env,
                   std::unique_ptr<rocksdb::DB> db,
                   std::vector<rocksdb::ColumnFamilyHandle*> handles, Families cf,
                   StoreOptions options)
      : dir_(std::move(dir)),
        env_(std::move(env)),
        db_(std::move(db)),
        handles_(std::move(handles)),
        cf_(cf),
        options_(options) {}

  ~RocksRecordStore() override {
    for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close().PermitUncheckedError();
    RecordManifestState(dir_);
  }

  // Writes the schema version into a new store; FAILED_PRECONDITION for another version.
  absl::Status CheckSchema() {
    std::string what = fmt::format("opening store \"{}\"", dir_);
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_.meta, keys::kSchemaVersionKey, &value);
    std::string want = std::to_string(keys::kSchemaVersion);
    if (s.IsNotFound()) {
      return Write(what,
                   [&] { return db_->Put(SyncWrite(), cf_.meta, keys::kSchemaVersionKey, want); });
    }
    if (!s.ok()) return FromRocks(s, what);
    if (value != want) {
      // No older schema has ever been released in a form that needs migrating, so every other
      // version is refused with what to do about it (docs/operations.md "Upgrades").
      int found = 0;
      bool numeric = !value.empty() && value.size() < 10 &&
                     value.find_first_not_of("0123456789") == std::string::npos;
      if (numeric) found = std::stoi(value);
      std::string advice =
          !numeric ? "the folder is damaged or not a fixmine store; restore it from a backup"
          : found < keys::kSchemaVersion
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

  // Builds the dedup family for a store written by a build without it, or relabels a store
  // whose near groups were made at another threshold (docs/storage.md "Dedup groups"): every
  // record is indexed and relabelled by the canonical rule, in one atomic batch that also marks
  // the layout complete and records the threshold. A no-op when both marks match.
  absl::Status CompleteDedupIndex() {
    std::string what = fmt::format("indexing the dedup groups of store \"{}\"", dir_);
    const std::string threshold = fmt::format("{}", options_.near_dup_threshold);
    std::string layout;
    std::string stored_threshold;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_.meta, keys::kDedupLayoutKey, &layout);
    if (!s.ok() && !s.IsNotFound()) return FromRocks(s, what);
    s = db_->Get(rocksdb::ReadOptions(), cf_.meta, keys::kDedupThresholdKey, &stored_threshold);
    if (!s.ok() && !s.IsNotFound()) return FromRocks(s, what);
    if (layout == keys::kDedupLayout && stored_threshold == threshold) return absl::OkStatus();
    std::lock_guard<std::mutex> dedup_lock(dedup_mu_);
    rocksdb::WriteBatch batch;
    // Earlier layouts' entries go; the rebuilt ones are put after these deletions.
    const std::string all_end(4, '\xff');
    for (rocksdb::ColumnFamilyHandle* cf : {cf_.dedup, cf_.lsh, cf_.fingerprints}) {
      FIXMINE_RETURN_IF_ERROR(FromRocks(batch.DeleteRange(cf, "", all_end), what));
    }
    std::vector<Record> members;
    std::vector<std::string> primary;
    std::vector<internal::DedupLabels> before;
    {
      rocksdb::ReadOptions ro;
      ro.fill_cache = false;
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_.records));
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
        // from the LSH family.
        std::string sig;
        Record member;
        s = db_->Get(rocksdb::ReadOptions(), cf_.dedup, keys::DedupMemberKey(record.id()), &sig);
        if (s.ok() && member.ParseFromString(sig)) {
          *m.mutable_minhash() = member.minhash();
        } else if (db_->Get(rocksdb::ReadOptions(), cf_.lsh, keys::LshSignatureKey(record.id()),
                            &sig)
                       .ok()) {
          if (std::optional<std::vector<uint32_t>> v = keys::DecodeSignature(sig)) {
            for (uint32_t x : *v) m.add_minhash(x);
          }
        }
        members.push_back(std::move(m));
        primary.emplace_back(it->key().ToStringView());
        before.push_back({record.duplicate_of(), record.near_duplicate_of(),
                          record.near_duplicate_similarity()});
      }
      FIXMINE_RETURN_IF_ERROR(FromRocks(it->status(), what));
    }
    std::vector<Record*> added;
    for (Record& m : members) added.push_back(&m);
    FIXMINE_RETURN_IF_ERROR(DedupIndex().Apply(added, {}, &batch, what).status());
    for (size_t i = 0; i < members.size(); ++i) {
      internal::DedupLabels after{members[i].duplicate_of(), members[i].near_duplicate_of(),
                                  members[i].near_duplicate_similarity()};
      if (after == before[i]) continue;
      std::string value;
      FIXMINE_RETURN_IF_ERROR(
          FromRocks(db_->Get(rocksdb::ReadOptions(), cf_.records, primary[i], &value), what));
      Record record;
      if (!record.ParseFromString(value)) {
        return absl::DataLossError(
            fmt::format("{}: the record at key {} does not parse", what, HexKey(primary[i])));
      }
      record.set_duplicate_of(after.duplicate_of);
      record.set_near_duplicate_of(after.near_duplicate_of);
      record.set_near_duplicate_similarity(after.near_duplicate_similarity);
      FIXMINE_RETURN_IF_ERROR(
          FromRocks(batch.Put(cf_.records, primary[i], record.SerializeAsString()), what));
    }
    FIXMINE_RETURN_IF_ERROR(
        FromRocks(batch.Put(cf_.meta, keys::kDedupLayoutKey, keys::kDedupLayout), what));
    FIXMINE_RETURN_IF_ERROR(
        FromRocks(batch.Put(cf_.meta, keys::kDedupThresholdKey, threshold), what));
    return Write(what, [&] { return db_->Write(SyncWrite(), &batch); });
  }

  // --- repositories ---

  absl::Status PutRepository(const Repository& repo) override {
    std::string what = fmt::format("storing repository \"{}\"", repo.name());
    if (repo.name().empty()) return absl::InvalidArgumentError(what + ": empty name");
    return Write(what, [&] {
      return db_->Put(SyncWrite(), cf_.repos, repo.name(), SerializeRepository(repo));
    });
  }

  absl::StatusOr<Repository> GetRepository(std::string_view name) override {
    std::string what = fmt::format("reading repository {}", QuoteInput(name));
    rocksdb::ManagedSnapshot snapshot(db_.get());
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot.snapshot();
    rocksdb::PinnableSlice value;
    rocksdb::Status s = db_->Get(ro, cf_.repos, name, &value);
    if (s.IsNotFound()) {
      return absl::NotFoundError(fmt::format("repository {} not found", QuoteInput(name)));
    }
    if (!s.ok()) return FromRocks(s, what);
    Repository repo;
    if (!repo.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return absl::DataLossError(what + ": the stored value does not parse");
    }
    FIXMINE_ASSIGN_OR_RETURN(int64_t count, ReadCounter(ro, keys::RepoCounterKey(name)));
    repo.set_record_count(count);
    return repo;
  }

  absl::StatusOr<std::vector<Repository>> ListRepositories() override {
    rocksdb::ManagedSnapshot snapshot(db_.get());
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot.snapshot();
    std::vector<Repository> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_.repos));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      Repository repo;
      if (!repo.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
        return absl::DataLossError(fmt::format(
            "listing repositories: the value of \"{}\" does not parse", it->key().ToStringView()));
      }
      FIXMINE_ASSIGN_OR_RETURN(int64_t count, ReadCounter(ro, keys::RepoCounterKey(repo.name())));
      repo.set_record_count(count);
      out.push_back(std::move(repo));
    }
    FIXMINE_RETURN_IF_ERROR(FromRocks(it->status(), "listing repositories"));
    return out;
  }

  absl::StatusOr<int64_t> RemoveRepository(std::string_view name) override {
    std::string what = fmt::format("removing repository {}", QuoteInput(name));
    std::lock_guard<std::mutex> dedup_lock(dedup_mu_);
    rocksdb::ManagedSnapshot snapshot(db_.get());
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot.snapshot();
    rocksdb::PinnableSlice value;
    rocksdb::Status s = db_->Get(ro, cf_.repos, name, &value);
    if (s.IsNotFound()) {
      return absl::NotFoundError(fmt::format("repository {} not found", QuoteInput(name)));
    }
    FIXMINE_RETURN_IF_ERROR(FromRocks(s, what));

    // One batch deletes the records one by one with their index entries (rather than a range
    // tombstone), so exactly what is counted here is removed, atomically.
    rocksdb::WriteBatch batch;
    int64_t removed = 0;
    std::vector<std::string> removed_ids;
    if (!name.empty()) {
      std::string prefix = keys::RepoPrefix(name);
      std::string end = keys::PrefixSuccessor(prefix);
      rocksdb::Slice upper(end);
      ro.iterate_upper_bound = &upper;
      ro.fill_cache = false;
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_.records));
      Record record;
      for (it->Seek(prefix); it->Valid(); it->Next()) {
        std::string_view key = it->key().ToStringView();
        if (!record.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
          return absl::DataLossError(
              fmt::format("{}: the record at key {} does not parse", what, HexKey(key)));
        }
        FIXMINE_RETURN_IF_ERROR(FromRocks(batch.Delete(cf_.records, key), what));
        FIXMINE_RETURN_IF_ERROR(FromRocks(batch.Delete(cf_.ids, record.id()), what));
        for (const std::string& lang : Languages(record)) {
          FIXMINE_RETURN_IF_ERROR(
              FromRocks(batch.Delete(cf_.lang, keys::LangKey(lang, key)), what));
        }
        if (std::optional<uint64_t> t = keys::PrimaryBiasedTime(key)) {
          FIXMINE_RETURN_IF_ERROR(FromRocks(batch.Delete(cf_.time, keys::TimeKey(*t, key)), what));
        }
        removed_ids.push_back(record.id());
        ++removed;
      }
      FIXMINE_RETURN_IF_ERROR(FromRocks(it->status(), what));
      // The dedup groups of the removed records are recomputed in the same batch: their
      // canonicals move to the remaining members (curation/canonical.h).
      FIXMINE_ASSIGN_OR_RETURN(auto relabel, DedupIndex().Apply({}, removed_ids, &batch, what));
      std::map<std::string, Record> relabelled;
      FIXMINE_RETURN_IF_ERROR(Relabel(ro, relabel, &relabelled, what));
      for (const auto& [key, rec] : relabelled) {
        FIXMINE_RETURN_IF_ERROR(
            FromRocks(batch.Put(cf_.records, key, rec.SerializeAsString()), what));
      }
      std::string links = keys::BugLinkRepoPrefix(name);
      FIXMINE_RETURN_IF_ERROR(
          FromRocks(batch.DeleteRange(cf_.meta, links, keys::PrefixSuccessor(links)), what));
      // GitHub issues, pull requests, comments, ETags and instances: one prefix per repository.
      std::string github = keys::RepoPrefix(name);
      FIXMINE_RETURN_IF_ERROR(
          FromRocks(batch.DeleteRange(cf_.github, github, keys::PrefixSuccessor(github)), what));
    }
    FIXMINE_RETURN_IF_ERROR(FromRocks(batch.Delete(cf_.repos, name), what));
    FIXMINE_RETURN_IF_ERROR(
        FromRocks(batch.Delete(cf_.counters, keys::RepoCounterKey(name)), what));
    if (removed > 0) {
      FIXMINE_RETURN_IF_ERROR(FromRocks(
          batch.Merge(cf_.counters, keys::kTotalCounterKey, keys::EncodeCounter(-removed)), what));
    }
    FIXMINE_RETURN_IF_ERROR(Write(what, [&] { return db_->Write(SyncWrite(), &batch); }));
    return removed;
  }

  // --- benchmarks ---

  absl::Status PutBenchmark(const fixmine::v1::Benchmark& benchmark) override {
    std::string what = fmt::format("storing benchmark \"{}\"", benchmark.name());
    if (benchmark.name().empty()) return absl::InvalidArgumentError(what + ": empty name");
    return Write(what, [&] {
      return db_->Put(SyncWrite(), cf_.benchmarks, benchmark.name(), benchmark.SerializeAsString());
    });
  }

  absl::StatusOr<std::vector<fixmine::v1::Benchmark>> ListBenchmarks() override {
    std::vector<fixmine::v1::Benchmark> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_.benchmarks));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      fixmine::v1::Benchmark b;
      if (!b.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
        return absl::DataLossError(fmt::format(
            "listing benchmarks: the value of \"{}\" does not parse", it->key().ToStringView()));
      }
      out.push_back(std::move(b));
    }
    FIXMINE_RETURN_IF_ERROR(FromRocks(it->status(), "listing benchmarks"));
    return out;
  }

  absl::Status RemoveBenchmark(std::string_view name) override {
    std::string what = fmt::format("removing benchmark {}", QuoteInput(name));
    rocksdb::PinnableSlice value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_.benchmarks, name, &value);
    if (s.IsNotFound()) {
      return absl::NotFoundError(fmt::format("benchmark {} not found", QuoteInput(name)));
    }
    FIXMINE_RETURN_IF_ERROR(FromRocks(s, what));
    return Write(what, [&] { return db_->Delete(SyncWrite(), cf_.benchmarks, name); });
  }

  // --- jobs ---

  absl::Status PutJob(const Job& job) override {
    std::string what = fmt::format("storing job {}", QuoteInput(job.id()));
    if (job.id().empty()) return absl::InvalidArgumentError(what + ": empty id");
    return Write(
        what, [&] { return db_->Put(SyncWrite(), cf_.jobs, job.id(), job.SerializeAsString()); });
  }

  absl::StatusOr<Job> GetJob(std::string_view id) override {
    rocksdb::PinnableSlice value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_.jobs, id, &value);
    if (s.IsNotFound()) return absl::NotFoundError(fmt::format("job {} not found", QuoteInput(id)));
    std::string what = fmt::format("reading job {}", QuoteInput(id));
    FIXMINE_RETURN_IF_ERROR(FromRocks(s, what));
    Job job;
    if (!job.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return absl::DataLossError(what + ": the stored value does not parse");
    }
    return job;
  }

  absl::StatusOr<std::vector<Job>> ListJobs() override {
    std::vector<Job> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_.jobs));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      Job job;
      if (!job.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
        return absl::DataLossError(fmt::format("listing jobs: the value of \"{}\" does not parse",
                                               it->key().ToStringView()));
      }
      out.push_back(std::move(job));
    }
    FIXMINE_RETURN_IF_ERROR(FromRocks(it->status(), "listing jobs"));
    std::sort(out.begin(), out.end(), [](const Job& a, const Job& b) {
      if (a.created_at() != b.created_at()) return a.created_at() > b.created_at();
      return a.id() > b.id();
    });
    return out;
  }

  // --- records ---

  absl::StatusOr<bool> HasRecord(std::string_view id) override {
    rocksdb::PinnableSlice value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_.ids, id, &value);
    if (s.IsNotFound()) return false;
    FIXMINE_RETURN_IF_ERROR(FromRocks(s, fmt::format("looking up record {}", QuoteInput(id))));
    return true;
  }

  absl::StatusOr<int64_t> WriteBatch(const std::vector<Record>& records, const Job& job,
                                     const Repository* repo) override {
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
    rocksdb::ReadOptions ro;
    // The dedup indexes are read here and written by this batch: batches of different
    // repositories must not interleave between the two, or both could claim a fingerprint.
    std::lock_guard<std::mutex> dedup_lock(dedup_mu_);
    Record stored;
    // New records are put at the end, so that a bug-fix link found later in the batch can
    // still add to a record of this batch.
    std::vector<std::pair<std::string, Record>> to_put;
    std::unordered_map<std::string, size_t> put_by_commit;  // repo '\0' commit -> to_put index
    std::map<std::string, Record> relinked;                 // stored earlier; key -> record
    // Fix commits linked in this batch, by repo '\0' bug-introducing commit.
    std::unordered_map<std::string, std::vector<std::string>> batch_links;
    for (const Record& record : records) {
      if (record.id().empty()) {
        return absl::InvalidArgumentError(
            fmt::format("{}: a record of commit \"{}\" has no id", what, record.commit()));
      }
      absl::StatusOr<std::string> key = keys::PrimaryKey(record);
      if (!key.ok()) return Annotate(key.status(), what);
      if (!seen_ids.insert(record.id()).second || !seen_keys.insert(*key).second) continue;
      // Records of one repository come from one writer at a time (the contract), so nothing
      // can add this id between this read and the write below.
      rocksdb::PinnableSlice existing;
      rocksdb::Status s = db_->Get(ro, cf_.ids, record.id(), &existing);
      if (s.ok()) continue;
      if (!s.IsNotFound()) return FromRocks(s, what);

      stored = record;
      FIXMINE_RETURN_IF_ERROR(
          LinkBugFix(ro, &stored, to_put, put_by_commit, &relinked, &batch_links, &batch, what));
      put_by_commit[record.repo() + '\0' + record.commit()] = to_put.size();
      to_put.emplace_back(*key, std::move(stored));
      FIXMINE_RETURN_IF_ERROR(FromRocks(batch.Put(cf_.ids, record.id(), *key), what));
      for (const std::string& lang : Languages(record)) {
        FIXMINE_RETURN_IF_ERROR(
            FromRocks(batch.Put(cf_.lang, keys::LangKey(lang, *key), rocksdb::Slice()), what));
      }
      FIXMINE_RETURN_IF_ERROR(FromRocks(
          batch.Put(cf_.time, keys::TimeKey(keys::BiasedTime(record.committer().time()), *key),
                    rocksdb::Slice()),
          what));
      ++per_repo[record.repo()];
      ++added;
    }
    {
      // Dedup labels (curation/canonical.h): set on the new records, and moved on stored
      // ones whose group's canonical changes, all in this batch.
      std::vector<Record*> added_records;
      added_records.reserve(to_put.size());
      for (auto& [key, rec] : to_put) added_records.push_back(&rec);
      FIXMINE_ASSIGN_OR_RETURN(auto relabel, DedupIndex().Apply(added_records, {}, &batch, what));
      FIXMINE_RETURN_IF_ERROR(Relabel(ro, relabel, &relinked, what));
    }
    std::string value;  // one buffer for every record's bytes
    for (auto& [key, rec] : to_put) {
      value.clear();
      if (!rec.AppendToString(&value)) {
        return absl::InternalError(
            fmt::format("{}: record \"{}\" does not serialize", what, rec.id()));
      }
      rec.Clear();  // copied into the batch; freed now rather than with the whole vector
      FIXMINE_RETURN_IF_ERROR(FromRocks(batch.Put(cf_.records, key, value), what));
    }
    for (const auto& [key, rec] : relinked) {
      FIXMINE_RETURN_IF_ERROR(
          FromRocks(batch.Put(cf_.records, key, rec.SerializeAsString()), what));
    }
    for (const auto& [name, n] : per_repo) {
      FIXMINE_RETURN_IF_ERROR(FromRocks(
          batch.Merge(cf_.counters, keys::RepoCounterKey(name), keys::EncodeCounter(n)), what));
    }
    if (added > 0) {
      FIXMINE_RETURN_IF_ERROR(FromRocks(
          batch.Merge(cf_.counters, keys::kTotalCounterKey, keys::EncodeCounter(added)), what));
    }
    FIXMINE_RETURN_IF_ERROR(
        FromRocks(batch.Put(cf_.jobs, job.id(), job.SerializeAsString()), what));
    if (repo != nullptr) {
      FIXMINE_RETURN_IF_ERROR(
          FromRocks(batch.Put(cf_.repos, repo->name(), SerializeRepository(*repo)), what));
    }
    FIXMINE_RETURN_IF_ERROR(Write(what, [&] { return db_->Write(SyncWrite(), &batch); }));
    return added;
  }

  absl::StatusOr<int64_t> UpdateRecords(const std::vector<Record>& records) override {
    std::string what = "updating records";
    // Serialised with WriteBatch so a record is not rewritten between its id check and write.
    std::lock_guard<std::mutex> dedup_lock(dedup_mu_);
    rocksdb::WriteBatch batch;
    int64_t updated = 0;
    for (const Record& record : records) {
      std::string key;
      rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_.ids, record.id(), &key);
      if (s.IsNotFound()) continue;
      FIXMINE_RETURN_IF_ERROR(FromRocks(s, what));
      // The dedup labels are the store's: a caller's copy read before they moved must not
      // move them back.
      Record copy = record;
      std::string member;
      s = db_->Get(rocksdb::ReadOptions(), cf_.dedup, keys::DedupMemberKey(record.id()), &member);
      Record labels;
      if (s.ok() && labels.ParseFromString(member)) {
        copy.set_duplicate_of(labels.duplicate_of());
        copy.set_near_duplicate_of(labels.near_duplicate_of());
        copy.set_near_duplicate_similarity(labels.near_duplicate_similarity());
      } else if (!s.ok() && !s.IsNotFound()) {
        return FromRocks(s, what);
      }
      FIXMINE_RETURN_IF_ERROR(
          FromRocks(batch.Put(cf_.records, key, copy.SerializeAsString()), what));
      ++updated;
    }
    if (updated > 0) {
      FIXMINE_RETURN_IF_ERROR(Write(what, [&] { return db_->Write(SyncWrite(), &batch); }));
    }
    return updated;
  }

  absl::StatusOr<Record> GetRecord(std::string_view id) override {
    std::string what = fmt::format("reading record {}", QuoteInput(id));
    rocksdb::ManagedSnapshot snapshot(db_.get());
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot.snapshot();
    std::string key;
    rocksdb::Status s = db_->Get(ro, cf_.ids, id, &key);
    if (s.IsNotFound())
      return absl::NotFoundError(fmt::format("record {} not found", QuoteInput(id)));
    FIXMINE_RETURN_IF_ERROR(FromRocks(s, what));
    rocksdb::PinnableSlice value;
    s = db_->Get(ro, cf_.records, key, &value);
    if (s.IsNotFound()) {
      return absl::DataLossError(
          fmt::format("{}: the id points to key {} which holds no record", what, HexKey(key)));
    }
    FIXMINE_RETURN_IF_ERROR(FromRocks(s, what));
    Record record;
    if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return absl::DataLossError(what + ": the stored value does not parse");
    }
    return record;
  }

  absl::Status Scan(
      const Filter* filter, const ScanPosition& from,
      const std::function<bool(const Record&, const ScanPosition& after)>& visit) override {
    ScanPlan plan = PlanScan(filter);
    if (from.index.empty()) {
      if (!from.last_key.empty()) {
        return absl::InvalidArgumentError("scanning records: the start position has no index");
      }
    } else if (from.index != plan.index) {
      return absl::InvalidArgumentError(fmt::format(
          "scanning records: the start position is in index \"{}\" but this filter scans \"{}\"",
          from.index, plan.index));
    } else if (!from.last_key.empty() && !PositionFits(plan, from.last_key)) {
      return absl::InvalidArgumentError(
          fmt::format("scanning records: the start position's key does not belong to index \"{}\"",
                      plan.index));
    }
    if (plan.empty) return absl::OkStatus();

    rocksdb::ManagedSnapshot snapshot(db_.get());
    rocksdb::ReadOptions point;
    point.snapshot = snapshot.snapshot();
    rocksdb::ReadOptions ro = point;
    rocksdb::Slice upper(plan.upper);
    if (!plan.upper.empty()) ro.iterate_upper_bound = &upper;
    // Long scans stream through the data once; keep them from evicting the hot blocks.
    ro.fill_cache = false;
    rocksdb::ColumnFamilyHandle* cf = cf_.records;
    if (plan.kind == ScanPlan::Kind::kLang) cf = cf_.lang;
    if (plan.kind == ScanPlan::Kind::kTime) cf = cf_.time;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf));

    const std::string& start = std::max(plan.lower, from.last_key);
    it->Seek(start);
    if (!from.last_key.empty() && it->Valid() && it->key() == rocksdb::Slice(from.last_key)) {
      it->Next();
    }
    Record record;
    ScanPosition after;
    after.index = plan.index;
    rocksdb::PinnableSlice pinned;
    for (; it->Valid(); it->Next()) {
      rocksdb::Slice value;
      if (plan.kind == ScanPlan::Kind::kPrimary) {
        value = it->value();
      } else {
        std::string_view index_key = it->key().ToStringView();
        std::string_view primary = plan.kind == ScanPlan::Kind::kLang
                                       ? keys::PrimaryFromLangKey(index_key)
                                       : keys::PrimaryFromTimeKey(index_key);
        pinned.Reset();
        rocksdb::Status s = db_->Get(point, cf_.records, primary, &pinned);
        // An index entry always has its record in the same snapshot (one batch writes both);
        // skip rather than fail should one ever dangle.
        if (s.IsNotFound()) continue;
        FIXMINE_RETURN_IF_ERROR(FromRocks(s, "scanning records"));
        value = pinned;
      }
      if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
        return absl::DataLossError(
            fmt::format("scanning records: the record at key {} does not parse",
                        HexKey(it->key().ToStringView())));
      }
      if (filter != nullptr && !filter->Matches(record)) continue;
      after.last_key.assign(it->key().data(), it->key().size());
      if (!visit(record, after)) return absl::OkStatus();
    }
    return FromRocks(it->status(), "scanning records");
  }

  absl::StatusOr<int64_t> Count(const Filter* filter) override {
    if (filter == nullptr) return TotalRecords();
    int64_t n = 0;
    FIXMINE_RETURN_IF_ERROR(Scan(filter, ScanPosition(), [&n](const Record&, const ScanPosition&) {
      ++n;
      return true;
    }));
    return n;
  }

  absl::StatusOr<int64_t> RecordCount(std::string_view repo) override {
    return ReadCounter(rocksdb::ReadOptions(), keys::RepoCounterKey(repo));
  }

  absl::StatusOr<int64_t> TotalRecords() override {
    return ReadCounter(rocksdb::ReadOptions(), keys::kTotalCounterKey);
  }

  uint64_t Generation() override { return db_->GetLatestSequenceNumber(); }

  int64_t ApproximateSize() override {
    uint64_t total = 0;
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      uint64_t v = 0;
      if (db_->GetIntProperty(h, "rocksdb.total-sst-files-size", &v)) total += v;
      // The records family keeps its large values in blob files (RecordsFamilyOptions).
      if (db_->GetIntProperty(h, "rocksdb.total-blob-file-size", &v)) total += v;
      if (db_->GetIntProperty(h, "rocksdb.size-all-mem-tables", &v)) total += v;
    }
    return static_cast<int64_t>(total);
  }

  absl::Status Compact() override {
    rocksdb::CompactRangeOptions options;
    options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
    // Rewrite the live values of every blob file, so that the space of removed or replaced
    // records comes back now (ordinary compactions only relocate the oldest quarter's).
    options.blob_garbage_collection_policy = rocksdb::BlobGarbageCollectionPolicy::kForce;
    options.blob_garbage_collection_age_cutoff = 1.0;
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      FIXMINE_RETURN_IF_ERROR(Write(fmt::format("compacting \"{}\"", h->GetName()), [&] {
        return db_->CompactRange(options, h, nullptr, nullptr);
      }));
    }
    return absl::OkStatus();
  }

  // --- maintenance (storage/maintenance.h) ---

  absl::StatusOr<CheckpointInfo> Checkpoint(const std::string& dir) {
    std::string what = fmt::format("writing a checkpoint of \"{}\" to \"{}\"", dir_, dir);
    std::error_code ec;
    std::filesystem::path target(dir);
    if (std::filesystem::exists(target, ec)) {
      return absl::InvalidArgumentError(
          fmt::format("{}: the folder exists; name a folder that does not exist yet", what));
    }
    std::filesystem::path parent = target.parent_path();
    if (!parent.empty() && !std::filesystem::is_directory(parent, ec)) {
      return absl::FailedPreconditionError(
          fmt::format("{}: the parent folder \"{}\" does not exist", what, parent.string()));
    }
    rocksdb::Checkpoint* raw = nullptr;
    FIXMINE_RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), what));
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    CheckpointInfo info;
    FIXMINE_RETURN_IF_ERROR(FromRocks(
        checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0, &info.sequence), what));
    for (const auto& entry : std::filesystem::directory_iterator(target, ec)) {
      if (!entry.is_regular_file()) continue;
      ++info.files;
      info.bytes += static_cast<int64_t>(entry.file_size(ec));
    }
    return info;
  }

  absl::StatusOr<VerifyReport> Verify() {
    VerifyReport report;
    rocksdb::Status cs = db_->VerifyChecksum();
    if (!cs.ok()) report.problems.push_back("checksum verification failed: " + cs.ToString());

    const rocksdb::Snapshot* snap = db_->GetSnapshot();
    struct Release {
      rocksdb::DB* db;
      const rocksdb::Snapshot* snap;
      ~Release() { db->ReleaseSnapshot(snap); }
    } release{db_.get(), snap};
    rocksdb::ReadOptions ro;
    ro.snapshot = snap;
    ro.fill_cache = false;
    constexpr size_t kMaxProblems = 100;  // a badly broken store must not flood the report
    auto problem = [&report](std::string text) {
      if (report.problems.size() < kMaxProblems) report.problems.push_back(std::move(text));
    };
    auto present = [&](std::string_view primary) {
      std::string value;
      rocksdb::Status s = db_->Get(ro, cf_.records, primary, &value);
      return s.ok();
    };
    auto scan = [&](rocksdb::ColumnFamilyHandle* cf,
                    const std::function<void(std::string_view key, std::string_view value)>& f)
        -> absl::Status {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        f(std::string_view(it->key().data(), it->key().size()),
          std::string_view(it->value().data(), it->value().size()));
      }
      return FromRocks(it->status(), fmt::format("verifying \"{}\"", cf->GetName()));
    };

    std::map<std::string, int64_t> per_repo;
    FIXMINE_RETURN_IF_ERROR(scan(cf_.records, [&](std::string_view key, std::string_view) {
      ++report.records;
      std::optional<size_t> n = keys::PrimaryRepoLength(key);
      if (!n) {
        problem(fmt::format("records: malformed primary key of {} bytes", key.size()));
        return;
      }
      ++per_repo[std::string(key.substr(0, *n))];
    }));
    FIXMINE_RETURN_IF_ERROR(scan(cf_.ids, [&](std::string_view id, std::string_view primary) {
      ++report.ids;
      if (!present(primary)) problem(fmt::format("ids: \"{}\" points to a missing record", id));
    }));
    FIXMINE_RETURN_IF_ERROR(scan(cf_.time, [&](std::string_view key, std::string_view) {
      ++report.time_entries;
      if (!present(keys::PrimaryFromTimeKey(key))) {
        problem("time_index: an entry points to a missing record");
      }
    }));
    FIXMINE_RETURN_IF_ERROR(scan(cf_.lang, [&](std::string_view key, std::string_view) {
      ++report.lang_entries;
      if (!present(keys::PrimaryFromLangKey(key))) {
        problem("lang_index: an entry points to a missing record");
      }
    }));
    FIXMINE_RETURN_IF_ERROR(
        scan(cf_.repos, [&](std::string_view, std::string_view) { ++report.repositories; }));
    FIXMINE_RETURN_IF_ERROR(
        scan(cf_.jobs, [&](std::string_view, std::string_view) { ++report.jobs; }));
    if (report.ids != report.records) {
      problem(fmt::format("the id index has {} entries but there are {} records", report.ids,
                          report.records));
    }
    {
      // Every record has its dedup member (docs/storage.md "Dedup groups").
      int64_t members = 0;
      FIXMINE_RETURN_IF_ERROR(scan(cf_.dedup, [&](std::string_view key, std::string_view) {
        if (!key.empty() && key[0] == 'm') ++members;
      }));
      if (members != report.records) {
        problem(fmt::format("the dedup index has {} members but there are {} records", members,
                            report.records));
      }
    }
    if (report.time_entries != report.records) {
      problem(fmt::format("the time index has {} entries but there are {} records",
                          report.time_entries, report.records));
    }
    auto total = ReadCounter(ro, keys::kTotalCounterKey);
    FIXMINE_RETURN_IF_ERROR(total.status());
    report.counted_total = *total;
    if (*total != report.records) {
      problem(fmt::format("the total counter says {} records but there are {}", *total,
                          report.records));
    }
    // Per-repository counters, including those of repositories with no records left.
    FIXMINE_RETURN_IF_ERROR(scan(cf_.counters, [&](std::string_view key, std::string_view value) {
      std::string prefix = keys::RepoCounterKey("");
      if (key.substr(0, prefix.size()) != prefix) return;
      std::string repo(key.substr(prefix.size()));
      std::optional<int64_t> n = keys::DecodeCounter(value);
      int64_t actual = per_repo.count(repo) ? per_repo[repo] : 0;
      if (n && *n != actual) {
        problem(fmt::format("repository \"{}\": its counter says {} records but there are {}", repo,
                            *n, actual));
      }
      per_repo.erase(repo);
    }));
    for (const auto& [repo, n] : per_repo) {
      problem(fmt::format("repository \"{}\": {} records but no counter", repo, n));
    }
    return report;
  }

 private:
  // Runs `write` (a RocksDB write) unless the store's disk has less than kMinFreeBytes free
  // (RESOURCE_EXHAUSTED, so RocksDB itself never meets a full disk in the usual case) or the
  // store is fenced; converts its status for `what`. The first write that fails with an I/O
  // error (no space, or EIO from a failing disk) fences the store: it and every later write
  // are answered with the fence's status (RESOURCE_EXHAUSTED for no space, FAILED_PRECONDITION
  // for any other I/O error) and later ones never reach RocksDB. RocksDB 7.8 cannot go on
  // after such an error: its WAL writer asserts (`sync_without_flush_called_`) when used again
  // after a failed append or sync (Debian's build keeps assertions, so the server would
  // abort), and its background error keeps the database read-only until it is reopened
  // anyway. Reads are unaffected. Thread-safe.
  template <typename F>
  absl::Status Write(std::string_view what, F&& write) {
    std::function<void(const absl::Status&)> notify;
    absl::Status result;
    {
      std::lock_guard<std::mutex> l(write_mu_);
      struct statvfs vfs {};
      if (statvfs(dir_.c_str(), &vfs) == 0) {
        const uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
        if (free_bytes < kMinFreeBytes) {
          return absl::ResourceExhaustedError(fmt::format(
              "{}: the store's disk has {} bytes free, less than the {} MiB fixmined keeps free "
              "for the database's own flushes; free disk space (writes resume by themselves)",
              what, free_bytes, kMinFreeBytes >> 20));
        }
      }
      if (!write_fence_.ok()) return Fenced(what);
      rocksdb::Status s = write();
      if (!s.IsIOError()) return FromRocks(s, what);
      write_fence_ = s.IsNoSpace() ? absl::ResourceExhaustedError(FromRocks(s, what).message())
                                   : absl::FailedPreconditionError(FromRocks(s, what).message());
      result = Fenced(what);
      notify = on_fence_;
    }
    // Outside the lock: the callback may look at the store.
    if (notify) notify(WriteFence());
    return result;
  }

  // The status of a write refused (or failed) because of the fence. Caller holds write_mu_.
  absl::Status Fenced(std::string_view what) const {
    const bool no_space = write_fence_.code() == absl::StatusCode::kResourceExhausted;
    return absl::Status(
        write_fence_.code(),
        fmt::format("{}: the store takes no more writes since a write failed with {} ({}); {}",
                    what, no_space ? "no space left on its disk" : "an I/O error",
                    std::string(write_fence_.message()),
                    no_space ? "free disk space, restart fixmined, then run `fixmine db verify`"
                             : "fix the disk (see the kernel log), restart fixmined, then run "
                               "`fixmine db verify` (restore a backup if it reports problems)"));
  }

 public:
  absl::Status WriteFence() override {
    std::lock_guard<std::mutex> l(write_mu_);
    if (write_fence_.ok()) return absl::OkStatus();
    return Fenced("writing to the store");
  }

  void SetFenceCallback(std::function<void(const absl::Status&)> on_fence) override {
    bool fenced = false;
    {
      std::lock_guard<std::mutex> l(write_mu_);
      on_fence_ = on_fence;
      fenced = !write_fence_.ok();
    }
    if (fenced && on_fence) on_fence(WriteFence());
  }

 private:
  // Bug-fix links (docs/storage.md): fills `record`'s fixed_by from the links stored for its
  // commit and those made earlier in this batch, and for each of its bug-introducing commits
  // writes a link and adds the record's commit to that record's fixed_by when it is stored
  // already (in `to_put` for this batch, else read into `relinked`). Caller holds dedup_mu_.
  absl::Status LinkBugFix(const rocksdb::ReadOptions& ro, Record* record,
                          std::vector<std::pair<std::string, Record>>& to_put,
                          const std::unordered_map<std::string, size_t>& put_by_commit,
                          std::map<std::string, Record>* relinked,
                          std::unordered_map<std::string, std::vector<std::string>>* batch_links,
                          rocksdb::WriteBatch* batch, std::string_view what) {
    const std::string& repo = record->repo();
    {
      std::string prefix = keys::BugLinkPrefix(repo, record->commit());
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_.meta));
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        AddFixedBy(record, std::string(it->key().ToStringView().substr(prefix.size())));
      }
      FIXMINE_RETURN_IF_ERROR(FromRocks(it->status(), what));
      if (auto p = batch_links->find(repo + '\0' + record->commit()); p != batch_links->end()) {
        for (const std::string& fix : p->second) AddFixedBy(record, fix);
      }
    }
    for (const std::string& bug : record->labels().bug_introducing_commits()) {
      if (bug.empty() || bug == record->commit()) continue;
      FIXMINE_RETURN_IF_ERROR(FromRocks(
          batch->Put(cf_.meta, keys::BugLinkKey(repo, bug, record->commit()), rocksdb::Slice()),
          what));
      if (auto p = put_by_commit.find(repo + '\0' + bug); p != put_by_commit.end()) {
        AddFixedBy(&to_put[p->second].second, record->commit());
        continue;
      }
      (*batch_links)[repo + '\0' + bug].push_back(record->commit());
      std::string key;
      rocksdb::Status s = db_->Get(ro, cf_.ids, RecordIdOf(repo, bug), &key);
      if (s.IsNotFound()) continue;  // not stored yet: it reads the link when it is written
      FIXMINE_RETURN_IF_ERROR(FromRocks(s, what));
      auto r = relinked->find(key);
      if (r == relinked->end()) {
        std::string value;
        s = db_->Get(ro, cf_.records, key, &value);
        if (s.IsNotFound()) continue;
        FIXMINE_RETURN_IF_ERROR(FromRocks(s, what));
        Record bug_record;
        if (!bug_record.ParseFromString(value)) {
          return absl::DataLossError(
              fmt::format("{}: the record at key {} does not parse", what, HexKey(key)));
        }
        r = relinked->emplace(key, std::move(bug_record)).first;
      }
      AddFixedBy(&r->second, record->commit());
    }
    return absl::OkStatus();
  }

  internal::DedupIndex DedupIndex() {
    return internal::DedupIndex(db_.get(), cf_.dedup, cf_.lsh, options_.near_dup_threshold);
  }

  // Sets the dedup labels of stored records (by id) into `records` (primary key -> record),
  // reading those not there yet. Caller holds dedup_mu_.
  absl::Status Relabel(const rocksdb::ReadOptions& ro,
                       const std::map<std::string, internal::DedupLabels>& labels,
                       std::map<std::string, Record>* records, std::string_view what) {
    for (const auto& [id, l] : labels) {
      std::string key;
      rocksdb::Status s = db_->Get(ro, cf_.ids, id, &key);
      if (s.IsNotFound()) {
        return absl::DataLossError(fmt::format(
            "{}: record \"{}\" is in the dedup index but not in the id index", what, id));
      }
      FIXMINE_RETURN_IF_ERROR(FromRocks(s, what));
      auto r = records->find(key);
      if (r == records->end()) {
        std::string value;
        s = db_->Get(ro, cf_.records, key, &value);
        FIXMINE_RETURN_IF_ERROR(FromRocks(s, what));
        Record rec;
        if (!rec.ParseFromString(value)) {
          return absl::DataLossError(
              fmt::format("{}: the record at key {} does not parse", what, HexKey(key)));
        }
        r = records->emplace(key, std::move(rec)).first;
      }
      r->second.set_duplicate_of(l.duplicate_of);
      r->second.set_near_duplicate_of(l.near_duplicate_of);
      r->second.set_near_duplicate_similarity(l.near_duplicate_similarity);
    }
    return absl::OkStatus();
  }

  // record_count is derived from the counters, never stored.
  static std::string SerializeRepository(const Repository& repo) {
    Repository copy = repo;
    copy.clear_record_count();
    return copy.SerializeAsString();
  }

  absl::StatusOr<int64_t> ReadCounter(const rocksdb::ReadOptions& ro, std::string_view key) {
    std::string value;
    rocksdb::Status s = db_->Get(ro, cf_.counters, key, &value);
    if (s.IsNotFound()) return 0;
    FIXMINE_RETURN_IF_ERROR(FromRocks(s, "reading a record counter"));
    std::optional<int64_t> n = keys::DecodeCounter(value);
    if (!n) return absl::DataLossError("reading a record counter: bad value size");
    return *n;
  }

  static bool PositionFits(const ScanPlan& plan, std::string_view key) {
    switch (plan.kind) {
      case ScanPlan::Kind::kPrimary:
        return StartsWith(key, plan.key_prefix) && keys::PrimaryRepoLength(key).has_value();
      case ScanPlan::Kind::kLang:
        return StartsWith(key, plan.key_prefix);
      case ScanPlan::Kind::kTime:
        return key.size() > 8;
    }
    return false;
  }

  const std::string dir_;
  std::unique_ptr<rocksdb::Env> env_;  // null: the default; outlives db_
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // owned; destroyed before db_ closes
  const Families cf_;
  const StoreOptions options_;
  // Serialises the read-then-write of the dedup indexes (WriteBatch, RemoveRepository).
  std::mutex dedup_mu_;
  // Serialises writes with the fence below. `write_fence_` is set by the first write that
  // failed with an I/O error (see Write).
  std::mutex write_mu_;
  absl::Status write_fence_;
  std::function<void(const absl::Status&)> on_fence_;  // guarded by write_mu_
};

rocksdb::ColumnFamilyOptions BaseFamilyOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  // Point lookups (ids on every write, records from index scans) skip most files.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions options;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  // Use what this RocksDB build supports: LZ4 (fast) for most levels, ZSTD (dense) for the
  // bottommost level that holds most data; fall back silently.
  std::vector<rocksdb::CompressionType> supported = rocksdb::GetSupportedCompressions();
  auto has = [&supported](rocksdb::CompressionType t) {
    return std::find(supported.begin(), supported.end(), t) != supported.end();
  };
  if (has(rocksdb::kLZ4Compression)) {
    options.compression = rocksdb::kLZ4Compression;
  } else if (has(rocksdb::kSnappyCompression)) {
    options.compression = rocksdb::kSnappyCompression;
  } else {
    options.compression = rocksdb::kNoCompression;
  }
  if (has(rocksdb::kZSTD)) options.bottommost_compression = rocksdb::kZSTD;
  return options;
}

// The records family: values are whole records, most tens of KB (pre-images of files), written
// nearly in key order. With RocksDB's integrated BlobDB, values of 4 KiB or more are
// written once, compressed, into blob files when a memtable is flushed; compactions then move
// only keys and small blob references instead of rewriting and recompressing every record at
// each level (docs/performance.md, "Server mine (session 3)"; docs/storage.md).
rocksdb::ColumnFamilyOptions RecordsFamilyOptions(const rocksdb::ColumnFamilyOptions& base) {
  rocksdb::ColumnFamilyOptions options = base;
  options.enable_blob_files = true;
  options.min_blob_size = 4096;
  // One blob file per 64 MiB memtable flush at most; smaller files let garbage collection
  // free the space of removed records in smaller steps.
  options.blob_file_size = uint64_t{64} << 20;
  options.blob_compression_type = base.bottommost_compression != rocksdb::kDisableCompressionOption
                                      ? base.bottommost_compression
                                      : base.compression;
  // Compactions relocate the live values of the oldest quarter of blob files (RocksDB's
  // default cutoff), so the space of removed or replaced records comes back over time;
  // Compact() forces it for every file.
  options.enable_blob_garbage_collection = true;
  return options;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RecordStore>> RecordStore::Open(const std::string& dir) {
  return Open(dir, StoreOptions());
}

absl::StatusOr<std::unique_ptr<RecordStore>> RecordStore::Open(const std::string& dir,
                                                               const StoreOptions& options) {
  std::string what = fmt::format("opening store \"{}\"", dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        fmt::format("{}: creating the folder: {}", what, ec.message()));
  }

  if (!options.accept_damaged_manifest) FIXMINE_RETURN_IF_ERROR(CheckManifestState(dir));

  rocksdb::DBOptions db_options;
  // A best-effort info log, so that a failing disk cannot abort RocksDB through its LOG file
  // (and, test-only, the EIO switch: docs/reliability.md "Disk I/O errors").
  std::unique_ptr<rocksdb::Env> env = internal::NewStoreEnv();
  db_options.env = env.get();
  db_options.listeners.push_back(NewManifestStateListener(dir));
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.keep_log_file_num = 5;
  db_options.max_log_file_size = size_t{16} << 20;
  // Memory and disk bounds for long mines (docs/performance.md, "Server mine (session 3)").
  // All memtables together stay under 128 MiB (the records family alone would hold 64 MiB
  // active plus 64 MiB being flushed, and the trajectories family as much again).
  db_options.db_write_buffer_size = size_t{128} << 20;
  // The small families (ids, indexes, jobs, counters) rarely fill a memtable, so without a cap
  // their unflushed entries kept every write-ahead log file: 1.2 GB of logs after a mine of
  // libgit2. Past 256 MiB of logs the families holding the oldest one are flushed.
  db_options.max_total_wal_size = uint64_t{256} << 20;

  std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(kBlockCacheBytes);
  rocksdb::ColumnFamilyOptions base = BaseFamilyOptions(cache);
  rocksdb::ColumnFamilyOptions counters = base;
  counters.merge_operator = std::make_shared<CounterAddOperator>();
  rocksdb::ColumnFamilyOptions records = RecordsFamilyOptions(base);

  const std::vector<std::string> known = {
      keys::kMetaCf,         keys::kRecordsCf,  keys::kIdsCf,        keys::kLangIndexCf,
      keys::kTimeIndexCf,    keys::kReposCf,    keys::kJobsCf,       keys::kCountersCf,
      keys::kFingerprintsCf, keys::kLshBandsCf, keys::kBenchmarksCf, kTrajectoriesCf,
      keys::kDedupCf,        keys::kGithubCf};
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : known) {
    descriptors.emplace_back(name, name == keys::kCountersCf  ? counters
                                   : name == keys::kRecordsCf ? records
                                                              : base);
  }
  // RocksDB refuses to open a store without naming every family it has; open any we do not
  // know of (a newer schema adds them, and the version check below then refuses the store).
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, dir, &existing).ok()) {
    for (const std::string& name : existing) {
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        descriptors.emplace_back(name, base);
      }
    }
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, dir, descriptors, &handles, &raw);
  if (!s.ok()) {
    if (IsLockHeld(s)) {
      return absl::UnavailableError(
          fmt::format("{}: another process (or another store in this one) has it open: {}", what,
                      s.ToString()));
    }
    return FromRocks(s, what);
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  RocksRecordStore::Families cf;
  cf.meta = handles[0];
  cf.records = handles[1];
  cf.ids = handles[2];
  cf.lang = handles[3];
  cf.time = handles[4];
  cf.repos = handles[5];
  cf.jobs = handles[6];
  cf.counters = handles[7];
  cf.fingerprints = handles[8];
  cf.lsh = handles[9];
  cf.benchmarks = handles[10];
  cf.trajectories = handles[11];
  cf.dedup = handles[12];
  cf.github = handles[13];
  auto store = std::make_unique<RocksRecordStore>(dir, std::move(env), std::move(db),
                                                  std::move(handles), cf, options);
  FIXMINE_RETURN_IF_ERROR(store->CheckSchema());
  FIXMINE_RETURN_IF_ERROR(store->CompleteDedupIndex());
  RecordManifestState(dir);  // the open wrote a new MANIFEST
  return std::unique_ptr<RecordStore>(std::move(store));
}

namespace internal {

std::optional<RocksAccess> RocksAccessOf(RecordStore* store) {
  auto* rocks = dynamic_cast<RocksRecordStore*>(store);
  if (rocks == nullptr) return std::nullopt;
  return rocks->Access();
}

}  // namespace internal
absl::StatusOr<CheckpointInfo> CheckpointStore(RecordStore* store, const std::string& dir) {
  auto* rocks = dynamic_cast<RocksRecordStore*>(store);
  if (rocks == nullptr) return absl::UnimplementedError("checkpoint of a non-RocksDB store");
  return rocks->Checkpoint(dir);
}

absl::StatusOr<VerifyReport> VerifyStore(RecordStore* store) {
  auto* rocks = dynamic_cast<RocksRecordStore*>(store);
  if (rocks == nullptr) return absl::UnimplementedError("verify of a non-RocksDB store");
  return rocks->Verify();
}

absl::StatusOr<int64_t> RestoreStore(const std::string& backup_dir, const std::string& store_dir,
                                     bool force) {
  namespace fs = std::filesystem;
  std::string what = fmt::format("restoring \"{}\" from \"{}\"", store_dir, backup_dir);
  std::error_code ec;
  if (!fs::exists(fs::path(backup_dir) / "CURRENT", ec)) {
    return absl::InvalidArgumentError(
        fmt::format("{}: \"{}\" is not a store backup (no CURRENT file); name a folder written by "
                    "`fixmine db backup`",
                    what, backup_dir));
  }
  bool target_has_files = fs::is_directory(store_dir, ec) && !fs::is_empty(store_dir, ec);
  if (target_has_files) {
    // Opening takes RocksDB's lock: it fails while a server (or anything else) has it open.
    auto open = RecordStore::Open(store_dir);
    if (!open.ok() && open.status().code() == absl::StatusCode::kUnavailable) {
      return absl::UnavailableError(
          fmt::format("{}: the store is in use by a running process (stop fixmined first): {}",
                      what, std::string(open.status().message())));
    }
    if (open.ok()) open->reset();  // release the lock before replacing the folder
    if (!force) {
      return absl::FailedPreconditionError(
          fmt::format("{}: the target folder holds a store; pass --force to replace it", what));
    }
  }
  fs::path target(store_dir);
  fs::path staging = target;
  staging += ".restoring";
  fs::remove_all(staging, ec);
  fs::create_directories(target.parent_path().empty() ? fs::path(".") : target.parent_path(), ec);
  fs::copy(backup_dir, staging, fs::copy_options::recursive, ec);
  if (ec) {
    fs::remove_all(staging, ec);
    return absl::InternalError(fmt::format("{}: copying the backup: {}", what, ec.message()));
  }
  int64_t records = 0;
  {
    auto opened = RecordStore::Open(staging.string());
    if (!opened.ok()) {
      std::error_code ignored;
      fs::remove_all(staging, ignored);
      return absl::Status(opened.status().code(),
                          fmt::format("{}: the backup does not open: {}", what,
                                      std::string(opened.status().message())));
    }
    auto n = (*opened)->TotalRecords();
    FIXMINE_RETURN_IF_ERROR(n.status());
    records = *n;
  }
  fs::path replaced = target;
  replaced += ".replaced";
  fs::remove_all(replaced, ec);
  if (fs::exists(target, ec)) {
    fs::rename(target, replaced, ec);
    if (ec) {
      return absl::InternalError(
          fmt::format("{}: moving the old store aside: {}", what, ec.message()));
    }
  }
  fs::rename(staging, target, ec);
  if (ec) {
    return absl::InternalError(
        fmt::format("{}: moving the restored store into place: {}", what, ec.message()));
  }
  fs::remove_all(replaced, ec);
  return records;
}

}  // namespace fixmine::storage
