#pragma once

// The database core of the store (docs/architecture.md "Storage"): the one RocksDB instance, its
// column families opened from one table, the one conversion of rocksdb::Status to absl::Status,
// the guarded synced write (free-space check and I/O-error fence) and typed reads. Internal to
// storage/: the components (record_index.h, dedup_index.h, bug_links.h, trajectory_store.h,
// github_store.h, maintenance.h) read through it and append their writes to a rocksdb::WriteBatch
// that one DbCore::Write commits. The rocksdb::DB it holds never leaves it.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "fmt/format.h"
#include "google/protobuf/message_lite.h"
#include "rocksdb/db.h"
#include "rocksdb/snapshot.h"
#include "rocksdb/write_batch.h"

namespace fixmine::storage {
struct StoreOptions;
}  // namespace fixmine::storage

namespace fixmine::storage::internal {

// The column families; keys.h documents each one's key layout and values.
enum class Family : uint8_t {
  kMeta,
  kRecords,
  kIds,
  kLang,
  kTime,
  kRepos,
  kJobs,
  kCounters,
  kFingerprints,
  kLsh,
  kBenchmarks,
  kTrajectories,
  kDedup,
  kGithub,
};
inline constexpr size_t kFamilyCount = 14;

// How a family is tuned (DbCore::Open builds the RocksDB options from it).
enum class FamilyTuning : uint8_t {
  kBase,      // block cache, bloom filter, LZ4 and bottommost ZSTD
  kRecords,   // kBase with large values in blob files (BlobDB)
  kCounters,  // kBase with the 8-byte add merge operator (keys::EncodeCounter)
};

// One row of the family table.
struct FamilySpec {
  Family family;
  const char* name;  // RocksDB column family name (stable on disk)
  FamilyTuning tuning;
  const char* purpose;  // one line, for docs and error messages
};

// The table every family is declared and opened from, in Family order.
extern const std::array<FamilySpec, kFamilyCount> kFamilies;

// The spec of `f`.
const FamilySpec& SpecOf(Family f);

// Converts a RocksDB status at the edge of storage/, saying what was being done: NotFound ->
// NOT_FOUND, Corruption -> DATA_LOSS, InvalidArgument -> INVALID_ARGUMENT, NotSupported ->
// UNIMPLEMENTED, Busy/TimedOut/TryAgain -> UNAVAILABLE, Aborted -> ABORTED, no space ->
// RESOURCE_EXHAUSTED, anything else INTERNAL. OK for an OK status. The only such conversion.
absl::Status FromRocks(const rocksdb::Status& s, std::string_view what);

// `key` as lowercase hex, for error messages about binary keys.
std::string HexKey(std::string_view key);

// A consistent view of the store for reads (a RocksDB snapshot), released when destroyed. Made
// by DbCore::View; must not outlive its DbCore. Not copyable.
class ReadView {
 public:
  ReadView(const ReadView&) = delete;
  ReadView& operator=(const ReadView&) = delete;
  // Read options on the snapshot.
  const rocksdb::ReadOptions& options() const { return options_; }
  // The same options for a long scan: fill_cache off, so it does not evict hot blocks.
  rocksdb::ReadOptions scan_options() const {
    rocksdb::ReadOptions o = options_;
    o.fill_cache = false;
    return o;
  }

 private:
  friend class DbCore;
  explicit ReadView(rocksdb::DB* db) : snapshot_(db) { options_.snapshot = snapshot_.snapshot(); }
  rocksdb::ManagedSnapshot snapshot_;
  rocksdb::ReadOptions options_;
};

// The store's RocksDB. Thread-safe: every method may be called from any thread.
class DbCore {
 public:
  // Opens (creating when absent) the database in `dir` with every family of kFamilies (and any
  // unknown family found on disk, so that a newer schema's store opens far enough to be refused
  // by its version). UNAVAILABLE when another process (or another store in this one) holds it;
  // DATA_LOSS when its MANIFEST lost part of its length, unless options.accept_damaged_manifest;
  // other errors from RocksDB. Does not check the schema version (RecordStore::Open does).
  static absl::StatusOr<std::unique_ptr<DbCore>> Open(const std::string& dir,
                                                      const StoreOptions& options);
  // Closes the database and records the MANIFEST state (manifest_guard.h).
  ~DbCore();
  DbCore(const DbCore&) = delete;
  DbCore& operator=(const DbCore&) = delete;

  // The store's folder.
  const std::string& dir() const { return dir_; }
  // The handle of family `f`; owned by the core.
  rocksdb::ColumnFamilyHandle* cf(Family f) const { return handles_[static_cast<size_t>(f)]; }

  // A snapshot to read from.
  std::unique_ptr<ReadView> View() const { return std::unique_ptr<ReadView>(new ReadView(db_)); }

  // Reads `key` of `f` into `value`: true when present, false when absent; errors converted for
  // `what`. `ro` null: the latest state.
  absl::StatusOr<bool> Get(const rocksdb::ReadOptions* ro, Family f, std::string_view key,
                           std::string* value, std::string_view what) const;
  // Reads `key` of `f` and parses it as `Message`: nullopt when absent, DATA_LOSS when it does
  // not parse.
  template <typename Message>
  absl::StatusOr<std::optional<Message>> GetProto(const rocksdb::ReadOptions* ro, Family f,
                                                  std::string_view key,
                                                  std::string_view what) const {
    std::string value;
    absl::StatusOr<bool> found = Get(ro, f, key, &value, what);
    if (!found.ok()) return found.status();
    if (!*found) return std::optional<Message>();
    Message m;
    if (!m.ParseFromString(value)) {
      return absl::DataLossError(fmt::format("{}: the stored value does not parse", what));
    }
    return std::optional<Message>(std::move(m));
  }
  // An iterator over `f`; `ro` must outlive it (and its bounds with it).
  std::unique_ptr<rocksdb::Iterator> NewIterator(const rocksdb::ReadOptions& ro, Family f) const;

  // Commits `batch` (synced) through the write guard: RESOURCE_EXHAUSTED without reaching
  // RocksDB when the store's disk has less than 64 MiB free; the fence's status once a write
  // has failed with an I/O error (the first such failure sets it: RESOURCE_EXHAUSTED for no
  // space, FAILED_PRECONDITION otherwise; it and every later write are refused, reads go on,
  // only reopening lifts it). `what` names the write in errors. An empty batch is still written.
  absl::Status Write(std::string_view what, rocksdb::WriteBatch* batch);

  // OK while writes are taken, else the fence's status (RecordStore::WriteFence).
  absl::Status WriteFence();
  // Calls `on_fence` once when the store becomes fenced (at once when it is already).
  void SetFenceCallback(const std::function<void(const absl::Status&)>& on_fence);

  // RocksDB's latest sequence number.
  uint64_t Generation() const { return db_->GetLatestSequenceNumber(); }
  // SST, blob and memtable bytes of every family.
  int64_t ApproximateSize() const;
  // Compacts every family, forcing blob garbage collection; through the write guard.
  absl::Status Compact();
  // Writes a RocksDB checkpoint into `dir` (must not exist); `sequence` gets the sequence number
  // it holds writes up to.
  absl::Status Checkpoint(const std::string& dir, uint64_t* sequence);
  // Reads every block of every SST file checking its checksum; the RocksDB message on failure.
  std::optional<std::string> VerifyChecksums();

 private:
  DbCore(std::string dir, std::unique_ptr<rocksdb::Env> env, rocksdb::DB* db);

  // The status of a write refused (or failed) because of the fence.
  absl::Status Fenced(std::string_view what) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Runs `write` through the guard (see Write).
  absl::Status Guarded(std::string_view what, const std::function<rocksdb::Status()>& write);

  const std::string dir_;
  std::unique_ptr<rocksdb::Env> env_;  // null: the default; outlives db_
  rocksdb::DB* db_;                    // owned; closed and deleted by the destructor
  std::array<rocksdb::ColumnFamilyHandle*, kFamilyCount> handles_{};  // owned, by Family
  std::vector<rocksdb::ColumnFamilyHandle*> extra_handles_;  // unknown families found on disk

  // Serialises writes with the fence; `write_fence_` is set by the first write that failed with
  // an I/O error.
  absl::Mutex write_mu_;
  absl::Status write_fence_ ABSL_GUARDED_BY(write_mu_);
  std::function<void(const absl::Status&)> on_fence_ ABSL_GUARDED_BY(write_mu_);
};

}  // namespace fixmine::storage::internal
