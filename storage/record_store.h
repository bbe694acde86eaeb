#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "fixmine/v1/admin.pb.h"
#include "fixmine/v1/records.pb.h"
#include "storage/filter.h"

namespace fixmine::storage {

namespace internal {
class BugLinks;
class DbCore;
class DedupIndex;
class RecordIndex;
}  // namespace internal

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
// jobs and metadata (storage/keys.h), over the database core (storage/db_core.h) and its
// components (docs/architecture.md "Storage"). Knows nothing of git. One process opens a folder
// at a time. TrajectoryStore and GithubStore work on the same database.
// Thread-safe: every method may be called from any thread; writes of one repository's records
// must come from one writer at a time (the mining job of that repository).
class RecordStore {
 public:
  ~RecordStore();
  RecordStore(const RecordStore&) = delete;
  RecordStore& operator=(const RecordStore&) = delete;

  // Opens (creating when absent) the store in `dir`. FAILED_PRECONDITION when the folder holds
  // a store of another schema version; UNAVAILABLE when another process holds it open;
  // DATA_LOSS when its MANIFEST lost part of its length (manifest_guard.h).
  static absl::StatusOr<std::unique_ptr<RecordStore>> Open(const std::string& dir);
  // The same with explicit options.
  static absl::StatusOr<std::unique_ptr<RecordStore>> Open(const std::string& dir,
                                                           const StoreOptions& options);

  // --- repositories ---
  // Stores (creates or replaces) a repository by name.
  absl::Status PutRepository(const fixmine::v1::Repository& repo);
  // NOT_FOUND when absent. `record_count` is filled from the store.
  absl::StatusOr<fixmine::v1::Repository> GetRepository(std::string_view name);
  // All repositories by name, with `record_count` filled.
  absl::StatusOr<std::vector<fixmine::v1::Repository>> ListRepositories();
  // Deletes the repository with everything stored for it, in ONE atomic synced batch: its
  // records and their index entries and counter, its dedup members (the remaining members of
  // their groups relabelled), its bug-fix links, its trajectories and its GitHub data. A crash
  // keeps all of it or none. Returns how many records. NOT_FOUND when absent.
  absl::StatusOr<int64_t> RemoveRepository(std::string_view name);

  // --- jobs ---
  absl::Status PutJob(const fixmine::v1::Job& job);
  // NOT_FOUND when absent.
  absl::StatusOr<fixmine::v1::Job> GetJob(std::string_view id);
  // All jobs, newest (created_at, then id) first.
  absl::StatusOr<std::vector<fixmine::v1::Job>> ListJobs();

  // --- benchmarks (decontamination, docs/curation.md) ---

  // Stores (creates or replaces) a benchmark by name; INVALID_ARGUMENT for an empty name.
  absl::Status PutBenchmark(const fixmine::v1::Benchmark& benchmark);
  // All benchmarks by name, items included.
  absl::StatusOr<std::vector<fixmine::v1::Benchmark>> ListBenchmarks();
  // NOT_FOUND when absent.
  absl::Status RemoveBenchmark(std::string_view name);

  // --- records ---
  // True when a record with this id is stored.
  absl::StatusOr<bool> HasRecord(std::string_view id);
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
  absl::StatusOr<int64_t> WriteBatch(const std::vector<fixmine::v1::Record>& records,
                                     const fixmine::v1::Job& job,
                                     const fixmine::v1::Repository* repo);
  // Overwrites stored records in place, by primary key, in ONE atomic synced WriteBatch. Only
  // fields that no index or counter depends on may differ (the server uses it for
  // `contamination`); a record whose id is not stored is skipped. Returns how many were
  // rewritten.
  absl::StatusOr<int64_t> UpdateRecords(const std::vector<fixmine::v1::Record>& records);

  // NOT_FOUND when no record has this id.
  absl::StatusOr<fixmine::v1::Record> GetRecord(std::string_view id);

  // Visits, on a consistent snapshot, the records matching `filter` (null: all) in store
  // order, starting right after `from` (a default ScanPosition starts at the beginning). The
  // index is chosen from filter->hints(); a `from` of another index is INVALID_ARGUMENT.
  // `visit` gets each matching record and the position just after it, and returns false to
  // stop. Order: repository name, then committer time newest first, then commit id (for the
  // repository key space; index key spaces have their own stable order).
  absl::Status Scan(
      const Filter* filter, const ScanPosition& from,
      const std::function<bool(const fixmine::v1::Record&, const ScanPosition& after)>& visit);
  // Scan's records as bytes: `visit` gets each matching record's serialized bytes. A stored
  // value whose top-level fields are laid out as protobuf C++'s serializer writes them (a walk
  // over its tags; every record fixmine's writers stored) is handed out as stored, without a
  // parse and reserialization; any other value is parsed and reserialized. Nested messages
  // (author, labels, files, ...) are not inspected: as stored, they equal Scan's
  // record.SerializeAsString() for every value fixmine's serializer wrote; nested unknown
  // fields of a newer schema would stay in place instead of moving to the end (equal once
  // parsed, not byte-equal).
  // To evaluate `filter`, a record is parsed without its files when the filter reads none
  // (Filter::ReadsFiles), whole otherwise; not at all without a filter. Positions and order
  // are Scan's, and so are the errors for what is parsed: DATA_LOSS naming the key of a
  // record that does not parse. What is not parsed is not checked: a damaged nested value (a
  // bad length, a string that is not UTF-8) in the files under a filter that reads none, or
  // anywhere below the top level without a filter, is handed out as stored, and the reader's
  // parse of it fails instead (a filter that reads files, such as `files >= 0`, finds it).
  // `bytes` is valid only during the call.
  absl::Status ScanSerialized(
      const Filter* filter, const ScanPosition& from,
      const std::function<bool(std::string_view bytes, const ScanPosition& after)>& visit);
  // Like Scan but without parsing non-matching... counts matching records.
  absl::StatusOr<int64_t> Count(const Filter* filter);

  // Number of records of a repository (kept as a counter, O(1)).
  absl::StatusOr<int64_t> RecordCount(std::string_view repo);
  // Total records.
  absl::StatusOr<int64_t> TotalRecords();
  // Approximate bytes on disk.
  int64_t ApproximateSize();
  // The store's generation: RocksDB's latest sequence number, which grows with every write.
  // Equal generations mean nothing was written in between. O(1).
  uint64_t Generation();
  // Compacts every column family.
  absl::Status Compact();

  // OK while the store takes writes. Once a write has failed with an I/O error (EIO from a
  // failing disk, or no space left for RocksDB itself), the store is fenced: every later write
  // is refused, without reaching RocksDB, with this status (FAILED_PRECONDITION for an I/O
  // error, RESOURCE_EXHAUSTED for no space), whose message names the first error and what the
  // operator should do. Reads are unaffected. Only reopening the store lifts it. Thread-safe.
  absl::Status WriteFence();
  // Calls `on_fence` once, with WriteFence()'s status, when the store becomes fenced (on the
  // thread whose write failed; at once when it is fenced already). Replaces an earlier callback.
  // Thread-safe.
  void SetFenceCallback(const std::function<void(const absl::Status&)>& on_fence);

  // The database core, for the other components of storage/ (TrajectoryStore, GithubStore,
  // maintenance.h); its type is complete only inside storage/.
  internal::DbCore* core() const { return core_.get(); }

 private:
  RecordStore(std::unique_ptr<internal::DbCore> core, const StoreOptions& options);
  // Writes the schema version into a new store; FAILED_PRECONDITION for another version.
  absl::Status CheckSchema();
  // Builds or relabels the dedup family when its layout or threshold marks differ.
  absl::Status CompleteDedupIndex();

  const std::unique_ptr<internal::DbCore> core_;
  const StoreOptions options_;
  const std::unique_ptr<internal::RecordIndex> records_;
  // Serialises the writes that read before they write: record batches (dedup index, bug-fix
  // links), record updates and repository removals.
  absl::Mutex batch_mu_;
  const std::unique_ptr<internal::DedupIndex> dedup_ ABSL_PT_GUARDED_BY(batch_mu_);
  const std::unique_ptr<internal::BugLinks> bug_links_ ABSL_PT_GUARDED_BY(batch_mu_);
};

}  // namespace fixmine::storage
