#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fixmine/v1/admin.pb.h"
#include "fixmine/v1/records.pb.h"
#include "storage/filter.h"

namespace fixmine::storage {

// The grpc.health.v1 service name under which fixmined reports whether the store takes writes:
// SERVING until a write fails with an I/O error (RecordStore::WriteFence), NOT_SERVING after
// (docs/reliability.md). The server itself ("") stays SERVING: reads go on.
inline constexpr char kStoreWritesHealthService[] = "fixmine.v1.StoreWrites";

// Where a scan is in the key space of the index it uses. Opaque to callers; stable across
// restarts for the same filter (resume tokens carry it).
struct ScanPosition {
  std::string index;     // which key space ("records", "lang", "time", ...)
  std::string last_key;  // last key visited in it; empty: from the start
};

// Settings of an opened store.
struct StoreOptions {
  // Estimated Jaccard similarity (0 to 1) at which WriteBatch marks a record near_duplicate_of
  // an earlier one; 0 turns the near-duplicate check off (signatures are still indexed).
  double near_dup_threshold = 0.8;
  // Opens a store whose MANIFEST is shorter or older than recorded (manifest_guard.h) instead
  // of refusing it with DATA_LOSS; fixmined --accept-damaged-store.
  bool accept_damaged_manifest = false;
};

// The record store: RocksDB with column families for records, secondary indexes, repositories,
// jobs and metadata. Knows nothing of git. One process opens a folder at a time.
// Thread-safe: every method may be called from any thread; writes of one repository's records
// must come from one writer at a time (the mining job of that repository).
class RecordStore {
 public:
  virtual ~RecordStore() = default;

  // Opens (creating when absent) the store in `dir`. FAILED_PRECONDITION when the folder holds
  // a store of another schema version; UNAVAILABLE when another process holds it open;
  // DATA_LOSS when its MANIFEST lost part of its length (manifest_guard.h).
  static absl::StatusOr<std::unique_ptr<RecordStore>> Open(const std::string& dir);
  // The same with explicit options.
  static absl::StatusOr<std::unique_ptr<RecordStore>> Open(const std::string& dir,
                                                           const StoreOptions& options);

  // --- repositories ---
  // Stores (creates or replaces) a repository by name.
  virtual absl::Status PutRepository(const fixmine::v1::Repository& repo) = 0;
  // NOT_FOUND when absent. `record_count` is filled from the store.
  virtual absl::StatusOr<fixmine::v1::Repository> GetRepository(std::string_view name) = 0;
  // All repositories by name, with `record_count` filled.
  virtual absl::StatusOr<std::vector<fixmine::v1::Repository>> ListRepositories() = 0;
  // Deletes the repository, its records and their index entries; returns how many records.
  // NOT_FOUND when absent.
  virtual absl::StatusOr<int64_t> RemoveRepository(std::string_view name) = 0;

  // --- jobs ---
  virtual absl::Status PutJob(const fixmine::v1::Job& job) = 0;
  // NOT_FOUND when absent.
  virtual absl::StatusOr<fixmine::v1::Job> GetJob(std::string_view id) = 0;
  // All jobs, newest (created_at, then id) first.
  virtual absl::StatusOr<std::vector<fixmine::v1::Job>> ListJobs() = 0;

  // --- benchmarks (decontamination, docs/curation.md) ---

  // Stores (creates or replaces) a benchmark by name; INVALID_ARGUMENT for an empty name.
  virtual absl::Status PutBenchmark(const fixmine::v1::Benchmark& benchmark) = 0;
  // All benchmarks by name, items included.
  virtual absl::StatusOr<std::vector<fixmine::v1::Benchmark>> ListBenchmarks() = 0;
  // NOT_FOUND when absent.
  virtual absl::Status RemoveBenchmark(std::string_view name) = 0;

  // --- records ---
  // True when a record with this id is stored.
  virtual absl::StatusOr<bool> HasRecord(std::string_view id) = 0;
  // Writes `records` (skipping any whose id is stored already), their index entries, `job` and,
  // when not null, `repo` in ONE atomic RocksDB WriteBatch (synced), so a crash keeps all or
  // nothing of it. Returns how many records were new.
  // Dedup (docs/curation.md): a new record whose patch_fingerprint is already indexed (by an
  // earlier batch, or earlier in this batch) is stored with duplicate_of = the first record's
  // id; otherwise its fingerprint is indexed to it, in the same batch (first writer wins, also
  // across repositories: batches are serialised for this). A record that is not a duplicate
  // and has a MinHash signature gets near_duplicate_of / near_duplicate_similarity from the
  // LSH index (the best earlier candidate at or above the threshold) and is indexed; its
  // `minhash` field is not kept in the stored record.
  virtual absl::StatusOr<int64_t> WriteBatch(const std::vector<fixmine::v1::Record>& records,
                                             const fixmine::v1::Job& job,
                                             const fixmine::v1::Repository* repo) = 0;
  // Overwrites stored records in place, by primary key, in ONE atomic synced WriteBatch. Only
  // fields that no index or counter depends on may differ (the server uses it for
  // `contamination`); a record whose id is not stored is skipped. Returns how many were
  // rewritten.
  virtual absl::StatusOr<int64_t> UpdateRecords(
      const std::vector<fixmine::v1::Record>& records) = 0;

  // NOT_FOUND when no record has this id.
  virtual absl::StatusOr<fixmine::v1::Record> GetRecord(std::string_view id) = 0;

  // Visits, on a consistent snapshot, the records matching `filter` (null: all) in store
  // order, starting right after `from` (a default ScanPosition starts at the beginning). The
  // index is chosen from filter->hints(); a `from` of another index is INVALID_ARGUMENT.
  // `visit` gets each matching record and the position just after it, and returns false to
  // stop. Order: repository name, then committer time newest first, then commit id (for the
  // repository key space; index key spaces have their own stable order).
  virtual absl::Status Scan(
      const Filter* filter, const ScanPosition& from,
      const std::function<bool(const fixmine::v1::Record&, const ScanPosition& after)>& visit) = 0;
  // Like Scan but without parsing non-matching... counts matching records.
  virtual absl::StatusOr<int64_t> Count(const Filter* filter) = 0;

  // Number of records of a repository (kept as a counter, O(1)).
  virtual absl::StatusOr<int64_t> RecordCount(std::string_view repo) = 0;
  // Total records.
  virtual absl::StatusOr<int64_t> TotalRecords() = 0;
  // Approximate bytes on disk.
  virtual int64_t ApproximateSize() = 0;
  // The store's generation: RocksDB's latest sequence number, which grows with every write.
  // Equal generations mean nothing was written in between. O(1).
  virtual uint64_t Generation() = 0;
  // Compacts every column family.
  virtual absl::Status Compact() = 0;

  // OK while the store takes writes. Once a write has failed with an I/O error (EIO from a
  // failing disk, or no space left for RocksDB itself), the store is fenced: every later write
  // is refused, without reaching RocksDB, with this status (FAILED_PRECONDITION for an I/O
  // error, RESOURCE_EXHAUSTED for no space), whose message names the first error and what the
  // operator should do. Reads are unaffected. Only reopening the store lifts it. Thread-safe.
  virtual absl::Status WriteFence() = 0;
  // Calls `on_fence` once, with WriteFence()'s status, when the store becomes fenced (on the
  // thread whose write failed; at once when it is fenced already). Replaces an earlier callback.
  // Thread-safe.
  virtual void SetFenceCallback(std::function<void(const absl::Status&)> on_fence) = 0;
};

}  // namespace fixmine::storage
