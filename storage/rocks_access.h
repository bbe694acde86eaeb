#pragma once

// Internal to storage/: lets companion stores (trajectory_store.cc) use the RocksDB handle and
// their column family of a RecordStore made by RecordStore::Open.

#include <functional>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "storage/record_store.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace fixmine::storage::internal {

struct RocksAccess {
  rocksdb::DB* db = nullptr;                            // owned by the store
  rocksdb::ColumnFamilyHandle* trajectories = nullptr;  // owned by the store
  rocksdb::ColumnFamilyHandle* github = nullptr;        // owned by the store (github_store.cc)
  // Writes `batch` (synced) through the store's write guard, as the store's own writes go: refused
  // with RESOURCE_EXHAUSTED when the disk is nearly full, and after an I/O error; `what` names
  // the write in the error.
  std::function<absl::Status(std::string_view what, rocksdb::WriteBatch* batch)> write;
};

// nullopt when `store` is not the RocksDB store. Implemented in record_store.cc.
std::optional<RocksAccess> RocksAccessOf(RecordStore* store);

}  // namespace fixmine::storage::internal
