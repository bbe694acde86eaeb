#pragma once
// Operator maintenance of a record store: consistent backups while it is open, an offline
// restore, and a verification pass (docs/operations.md). Thread-safe like RecordStore.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/record_store.h"

namespace fixmine::storage {

// What CheckpointStore wrote.
struct CheckpointInfo {
  uint64_t sequence = 0;  // RocksDB sequence number the checkpoint contains writes up to
  int64_t bytes = 0;      // bytes of the files in the checkpoint folder
  int64_t files = 0;      // files in it
};

// Writes a consistent copy of the open `store` (a RocksDB checkpoint: SST files hard-linked
// when on the same filesystem, copied otherwise, plus the live WAL) into `dir`, which must not
// exist; its parent must. The copy is itself a store folder that RecordStore::Open opens.
// Writes that commit while it runs are either wholly in it or wholly not (every WriteBatch is
// atomic). INVALID_ARGUMENT for an existing `dir`, FAILED_PRECONDITION for a missing parent.
absl::StatusOr<CheckpointInfo> CheckpointStore(RecordStore* store, const std::string& dir);

// What VerifyStore found.
struct VerifyReport {
  int64_t records = 0;        // entries of the records family
  int64_t ids = 0;            // entries of the id index
  int64_t time_entries = 0;   // entries of the time index
  int64_t lang_entries = 0;   // entries of the language index
  int64_t counted_total = 0;  // the total record counter
  int64_t repositories = 0;   // registered repositories
  int64_t jobs = 0;           // stored jobs
  // Each inconsistency or checksum failure found, as a sentence; empty when the store is sound.
  std::vector<std::string> problems;
};

// Reads every block of every SST file checking its checksum, then checks on one snapshot that
// the indexes and counters agree with the records: every id and index entry points to a stored
// record, every record has its id and time entries, and the total and per-repository counters
// equal the records counted. Problems are reported, not returned as errors; an error status
// means the check itself could not run.
absl::StatusOr<VerifyReport> VerifyStore(RecordStore* store);

// Restores the store folder `store_dir` from `backup_dir` (a folder CheckpointStore wrote),
// offline: UNAVAILABLE when a process holds `store_dir` open; FAILED_PRECONDITION when
// `store_dir` holds files and `force` is false; INVALID_ARGUMENT when `backup_dir` is not a
// store. The backup is copied to a sibling temporary folder, opened there (which checks its
// schema version) and only then renamed into place; a replaced store is deleted after that.
// Returns the number of records in the restored store.
absl::StatusOr<int64_t> RestoreStore(const std::string& backup_dir, const std::string& store_dir,
                                     bool force);

}  // namespace fixmine::storage
