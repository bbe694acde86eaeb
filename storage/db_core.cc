#include "storage/db_core.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

#include "common/status.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "storage/fault_injection.h"
#include "storage/keys.h"
#include "storage/manifest_guard.h"
#include "storage/record_store.h"

namespace fixmine::storage::internal {

const std::array<FamilySpec, kFamilyCount> kFamilies = {{
    {Family::kMeta, keys::kMetaCf, FamilyTuning::kBase,
     "schema version, dedup layout marks and bug-fix links"},
    {Family::kRecords, keys::kRecordsCf, FamilyTuning::kRecords,
     "records by repository, newest commit first"},
    {Family::kIds, keys::kIdsCf, FamilyTuning::kBase, "record id -> primary key"},
    {Family::kLang, keys::kLangIndexCf, FamilyTuning::kBase, "records by file language"},
    {Family::kTime, keys::kTimeIndexCf, FamilyTuning::kBase, "records by committer time"},
    {Family::kRepos, keys::kReposCf, FamilyTuning::kBase, "registered repositories"},
    {Family::kJobs, keys::kJobsCf, FamilyTuning::kBase, "mining and sync jobs"},
    {Family::kCounters, keys::kCountersCf, FamilyTuning::kCounters,
     "record counts, total and per repository"},
    {Family::kFingerprints, keys::kFingerprintsCf, FamilyTuning::kBase,
     "no longer written; emptied by the dedup rebuild"},
    {Family::kLsh, keys::kLshBandsCf, FamilyTuning::kBase, "MinHash LSH buckets"},
    {Family::kBenchmarks, keys::kBenchmarksCf, FamilyTuning::kBase, "decontamination benchmarks"},
    {Family::kTrajectories, keys::kTrajectoriesCf, FamilyTuning::kBase,
     "pull-request trajectories"},
    {Family::kDedup, keys::kDedupCf, FamilyTuning::kBase, "dedup groups"},
    {Family::kGithub, keys::kGithubCf, FamilyTuning::kBase,
     "GitHub issues, pull requests, comments, ETags, sync state and instances"},
}};

const FamilySpec& SpecOf(Family f) { return kFamilies[static_cast<size_t>(f)]; }

namespace {

// Block cache shared by every column family. Records are read mostly by range scans, so a
// modest cache is enough; the OS page cache holds the rest.
constexpr size_t kBlockCacheBytes = size_t{64} << 20;

// Free space below which the store refuses writes (docs/reliability.md): room for the largest
// write batch (16 MiB of records) plus a memtable flush, so that RocksDB does not hit ENOSPC.
constexpr uint64_t kMinFreeBytes = uint64_t{64} << 20;

rocksdb::WriteOptions SyncWrite() {
  rocksdb::WriteOptions options;
  options.sync = true;
  return options;
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

std::string HexKey(std::string_view key) {
  std::string out;
  out.reserve(key.size() * 2);
  for (unsigned char c : key) out += fmt::format("{:02x}", c);
  return out;
}

absl::StatusOr<std::unique_ptr<DbCore>> DbCore::Open(const std::string& dir,
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
  std::unique_ptr<rocksdb::Env> env = NewStoreEnv();
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
  const rocksdb::ColumnFamilyOptions base = BaseFamilyOptions(cache);
  auto family_options = [&base](FamilyTuning tuning) -> rocksdb::ColumnFamilyOptions {
    if (tuning == FamilyTuning::kRecords) return RecordsFamilyOptions(base);
    rocksdb::ColumnFamilyOptions options = base;
    if (tuning == FamilyTuning::kCounters) {
      options.merge_operator = std::make_shared<CounterAddOperator>();
    }
    return options;
  };

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.reserve(kFamilies.size());
  for (const FamilySpec& spec : kFamilies) {
    descriptors.emplace_back(spec.name, family_options(spec.tuning));
  }
  // RocksDB refuses to open a store without naming every family it has; open any we do not
  // know of (a newer schema adds them, and the version check then refuses the store).
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, dir, &existing).ok()) {
    for (const std::string& name : existing) {
      auto known = std::find_if(kFamilies.begin(), kFamilies.end(),
                                [&name](const FamilySpec& spec) { return name == spec.name; });
      if (known == kFamilies.end()) descriptors.emplace_back(name, base);
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
  std::unique_ptr<DbCore> core(new DbCore(dir, std::move(env), raw));
  // Each handle goes to the family of its name.
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    auto spec = std::find_if(kFamilies.begin(), kFamilies.end(),
                             [h](const FamilySpec& f) { return h->GetName() == f.name; });
    if (spec == kFamilies.end()) {
      core->extra_handles_.push_back(h);
    } else {
      core->handles_[static_cast<size_t>(spec->family)] = h;
    }
  }
  for (const FamilySpec& spec : kFamilies) {
    if (core->cf(spec.family) == nullptr) {
      return absl::InternalError(
          fmt::format("{}: RocksDB did not open column family \"{}\"", what, spec.name));
    }
  }
  return core;
}

DbCore::DbCore(std::string dir, std::unique_ptr<rocksdb::Env> env, rocksdb::DB* db)
    : dir_(std::move(dir)), env_(std::move(env)), db_(db) {}

DbCore::~DbCore() {
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    if (h != nullptr) db_->DestroyColumnFamilyHandle(h);
  }
  for (rocksdb::ColumnFamilyHandle* h : extra_handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close().PermitUncheckedError();
  delete db_;
  RecordManifestState(dir_);
}

absl::StatusOr<bool> DbCore::Get(const rocksdb::ReadOptions* ro, Family f, std::string_view key,
                                 std::string* value, std::string_view what) const {
  rocksdb::Status s = db_->Get(ro != nullptr ? *ro : rocksdb::ReadOptions(), cf(f), key, value);
  if (s.IsNotFound()) return false;
  FIXMINE_RETURN_IF_ERROR(FromRocks(s, what));
  return true;
}

std::unique_ptr<rocksdb::Iterator> DbCore::NewIterator(const rocksdb::ReadOptions& ro,
                                                       Family f) const {
  return std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(ro, cf(f)));
}

absl::Status DbCore::Write(std::string_view what, rocksdb::WriteBatch* batch) {
  return Guarded(what, [&] { return db_->Write(SyncWrite(), batch); });
}

// RocksDB 7.8 cannot go on after an I/O error: its WAL writer asserts
// (`sync_without_flush_called_`) when used again after a failed append or sync (Debian's build
// keeps assertions, so the server would abort), and its background error keeps the database
// read-only until it is reopened anyway. Hence the fence.
absl::Status DbCore::Guarded(std::string_view what, const std::function<rocksdb::Status()>& write) {
  std::function<void(const absl::Status&)> notify;
  absl::Status result;
  {
    absl::MutexLock l(&write_mu_);
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

absl::Status DbCore::Fenced(std::string_view what) const {
  const bool no_space = write_fence_.code() == absl::StatusCode::kResourceExhausted;
  return absl::Status(
      write_fence_.code(),
      fmt::format("{}: the store takes no more writes since a write failed with {} ({}); {}", what,
                  no_space ? "no space left on its disk" : "an I/O error",
                  std::string(write_fence_.message()),
                  no_space ? "free disk space, restart fixmined, then run `fixmine db verify`"
                           : "fix the disk (see the kernel log), restart fixmined, then run "
                             "`fixmine db verify` (restore a backup if it reports problems)"));
}

absl::Status DbCore::WriteFence() {
  absl::MutexLock l(&write_mu_);
  if (write_fence_.ok()) return absl::OkStatus();
  return Fenced("writing to the store");
}

void DbCore::SetFenceCallback(const std::function<void(const absl::Status&)>& on_fence) {
  bool fenced = false;
  {
    absl::MutexLock l(&write_mu_);
    on_fence_ = on_fence;
    fenced = !write_fence_.ok();
  }
  if (fenced && on_fence) on_fence(WriteFence());
}

int64_t DbCore::ApproximateSize() const {
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

absl::Status DbCore::Compact() {
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  // Rewrite the live values of every blob file, so that the space of removed or replaced
  // records comes back now (ordinary compactions only relocate the oldest quarter's).
  options.blob_garbage_collection_policy = rocksdb::BlobGarbageCollectionPolicy::kForce;
  options.blob_garbage_collection_age_cutoff = 1.0;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    FIXMINE_RETURN_IF_ERROR(Guarded(fmt::format("compacting \"{}\"", h->GetName()), [&] {
      return db_->CompactRange(options, h, nullptr, nullptr);
    }));
  }
  return absl::OkStatus();
}

absl::Status DbCore::Checkpoint(const std::string& dir, uint64_t* sequence) {
  std::string what = fmt::format("writing a checkpoint of \"{}\" to \"{}\"", dir_, dir);
  rocksdb::Checkpoint* raw = nullptr;
  FIXMINE_RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_, &raw), what));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  return FromRocks(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0, sequence), what);
}

std::optional<std::string> DbCore::VerifyChecksums() {
  rocksdb::Status s = db_->VerifyChecksum();
  if (s.ok()) return std::nullopt;
  return s.ToString();
}

}  // namespace fixmine::storage::internal
