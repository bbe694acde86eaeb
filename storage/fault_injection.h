#pragma once

// The store's RocksDB Env: a best-effort info log, and the test-only fault injection for the
// store's files (docs/reliability.md, "Disk I/O errors"). Internal to storage/.

#include <memory>
#include <string>

#include "rocksdb/env.h"

namespace fixmine::storage::internal {

// The environment variable that turns the fault injection on: it names a switch file. Unset
// (the normal case): no injection.
inline constexpr char kEioSwitchVariable[] = "FIXMINE_TEST_EIO_SWITCH";

// Returns an Env whose file system passes everything to the default one until a file exists at
// `switch_path`; from then on every write-side call (appending, syncing, flushing, creating,
// renaming or deleting files) fails with an I/O error as a disk does after a filesystem
// shutdown (EIO), while reads go on. When the file's first word is `sync`, only syncs fail
// (writes reach the page cache, fsync reports the lost pages). It never turns off again.
// Thread-safe.
std::unique_ptr<rocksdb::Env> NewEioSwitchEnv(const std::string& switch_path);

// The Env the store opens RocksDB with: the default file system (or, test-only, the EIO switch's
// when kEioSwitchVariable is set), except that RocksDB's info log (the LOG file in the store's
// folder) is written best-effort: a write to it that fails is dropped and the log stops, instead
// of leaving RocksDB's own log writer in an error state that its next log line turns into an
// abort (`sync_without_flush_called_`, docs/reliability.md "Disk I/O errors"). Thread-safe.
std::unique_ptr<rocksdb::Env> NewStoreEnv();

// The environment variable that names a crash point (test-only, tests/crash): the process
// kills itself with SIGKILL when it reaches the point of that name. Unset: never.
inline constexpr char kCrashPointVariable[] = "FIXMINE_TEST_CRASH_POINT";
// The crash points. In RecordStore::RemoveRepository: once the records' half of the removal is
// planned and the trajectories' is not (the point between the two writes of the removal before
// it became one batch), and right after the batch is committed.
inline constexpr char kCrashRemovalBetweenHalves[] = "remove-repository:between-halves";
inline constexpr char kCrashRemovalAfterWrite[] = "remove-repository:after-write";

// Kills the process with SIGKILL when kCrashPointVariable names `point`; returns otherwise.
void CrashPoint(const char* point);

}  // namespace fixmine::storage::internal
