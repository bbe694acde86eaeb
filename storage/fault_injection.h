#pragma once

// Test-only fault injection for the store's files (docs/reliability.md, "Disk I/O errors").
// Internal to storage/.

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

// NewEioSwitchEnv(value of kEioSwitchVariable) when that variable is set and not empty, else
// nullptr.
std::unique_ptr<rocksdb::Env> EioSwitchEnvFromEnvironment();

}  // namespace fixmine::storage::internal
