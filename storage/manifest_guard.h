#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "rocksdb/listener.h"

namespace fixmine::storage {

// RocksDB reads its MANIFEST (the list of the store's files) up to the first record it cannot
// read and takes a cut file for a crash's torn tail: a MANIFEST that lost part of its length
// opens as an older, partial store, and the open then deletes the files it no longer knows.
// The guard keeps a sidecar, `FIXMINE-MANIFEST` in the store's folder, naming the current
// MANIFEST and the least length it must have ("MANIFEST-000123 4567\n"), written after every
// open, flush, compaction and close (the only times the MANIFEST grows), atomically by rename.
// A MANIFEST only grows until RocksDB replaces it with a higher-numbered one, so a shorter file
// of the same name, or an older name than the sidecar's, means the store is damaged.

// The sidecar's file name inside a store folder.
inline constexpr char kManifestStateFile[] = "FIXMINE-MANIFEST";

// Checks the MANIFEST named by `dir`/CURRENT against the sidecar, before RocksDB opens the
// store. OK when there is no sidecar (a new store, a restored backup) or no CURRENT (a new
// store); DATA_LOSS, naming both lengths and what to do, when the MANIFEST is shorter than
// recorded or older than the recorded one. Never modifies the folder.
absl::Status CheckManifestState(const std::string& dir);

// Records the current MANIFEST's name and length in the sidecar. Best effort: a failure is
// ignored (the next record replaces it; a missing sidecar only skips the next check).
// Thread-safe for one store folder at a time (serialised internally).
void RecordManifestState(const std::string& dir);

// A RocksDB listener that calls RecordManifestState after each flush and compaction. The store
// folder's path is copied.
std::shared_ptr<rocksdb::EventListener> NewManifestStateListener(const std::string& dir);

}  // namespace fixmine::storage
