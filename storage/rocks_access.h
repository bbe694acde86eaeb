#pragma once

// Internal to storage/: lets companion stores (trajectory_store.cc) use the RocksDB handle and
// their column family of a RecordStore made by RecordStore::Open.

#include <optional>

#include "storage/record_store.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace fixmine::storage::internal {

struct RocksAccess {
  rocksdb::DB* db = nullptr;                            // owned by the store
  rocksdb::ColumnFamilyHandle* trajectories = nullptr;  // owned by the store
};

// nullopt when `store` is not the RocksDB store. Implemented in record_store.cc.
std::optional<RocksAccess> RocksAccessOf(RecordStore* store);

}  // namespace fixmine::storage::internal
