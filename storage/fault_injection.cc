#include "storage/fault_injection.h"

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <utility>

#include "rocksdb/file_system.h"

namespace fixmine::storage::internal {
namespace {

using rocksdb::FileOptions;
using rocksdb::FSWritableFile;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

class Switch {
 public:
  explicit Switch(std::string path) : path_(std::move(path)) {}
  // True once the switch file exists (for a sync when `sync` is true, else for any write call).
  bool on(bool sync = false) const {
    int mode = mode_.load(std::memory_order_acquire);
    if (mode == kOff) {
      std::ifstream f(path_);
      if (!f) return false;
      std::string word;
      f >> word;
      mode = word == "sync" ? kSyncOnly : kAll;
      mode_.store(mode, std::memory_order_release);
    }
    return mode == kAll || sync;
  }
  IOStatus Fail(const char* op) const {
    // What the POSIX file system reports for EIO, so that the rest of the stack sees what it
    // would see from a failing disk.
    return IOStatus::IOError(op, "Input/output error (injected by FIXMINE_TEST_EIO_SWITCH)");
  }

 private:
  static constexpr int kOff = 0;
  static constexpr int kAll = 1;
  static constexpr int kSyncOnly = 2;
  const std::string path_;
  mutable std::atomic<int> mode_{kOff};  // stays on once on: the disk does not heal itself
};

class EioWritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  EioWritableFile(std::unique_ptr<FSWritableFile>&& target, const Switch* sw)
      : FSWritableFileOwnerWrapper(std::move(target)), switch_(sw) {}

  IOStatus Append(const Slice& data, const IOOptions& o, IODebugContext* d) override {
    if (switch_->on()) return switch_->Fail("append");
    return FSWritableFileOwnerWrapper::Append(data, o, d);
  }
  IOStatus Append(const Slice& data, const IOOptions& o, const rocksdb::DataVerificationInfo& v,
                  IODebugContext* d) override {
    if (switch_->on()) return switch_->Fail("append");
    return FSWritableFileOwnerWrapper::Append(data, o, v, d);
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& o,
                            IODebugContext* d) override {
    if (switch_->on()) return switch_->Fail("append");
    return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, o, d);
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& o,
                            const rocksdb::DataVerificationInfo& v, IODebugContext* d) override {
    if (switch_->on()) return switch_->Fail("append");
    return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, o, v, d);
  }
  IOStatus Truncate(uint64_t size, const IOOptions& o, IODebugContext* d) override {
    if (switch_->on()) return switch_->Fail("truncate");
    return FSWritableFileOwnerWrapper::Truncate(size, o, d);
  }
  IOStatus Flush(const IOOptions& o, IODebugContext* d) override {
    if (switch_->on()) return switch_->Fail("flush");
    return FSWritableFileOwnerWrapper::Flush(o, d);
  }
  IOStatus Sync(const IOOptions& o, IODebugContext* d) override {
    if (switch_->on(true)) return switch_->Fail("sync");
    return FSWritableFileOwnerWrapper::Sync(o, d);
  }
  IOStatus Fsync(const IOOptions& o, IODebugContext* d) override {
    if (switch_->on(true)) return switch_->Fail("fsync");
    return FSWritableFileOwnerWrapper::Fsync(o, d);
  }
  IOStatus RangeSync(uint64_t offset, uint64_t n, const IOOptions& o, IODebugContext* d) override {
    if (switch_->on(true)) return switch_->Fail("range sync");
    return FSWritableFileOwnerWrapper::RangeSync(offset, n, o, d);
  }
  IOStatus Allocate(uint64_t offset, uint64_t len, const IOOptions& o, IODebugContext* d) override {
    if (switch_->on()) return switch_->Fail("allocate");
    return FSWritableFileOwnerWrapper::Allocate(offset, len, o, d);
  }

 private:
  const Switch* switch_;
};

class EioFileSystem : public rocksdb::FileSystemWrapper {
 public:
  EioFileSystem(const std::shared_ptr<rocksdb::FileSystem>& target, std::string switch_path)
      : FileSystemWrapper(target), switch_(std::move(switch_path)) {}

  const char* Name() const override { return "FixmineEioSwitch"; }

  IOStatus NewWritableFile(const std::string& f, const FileOptions& o,
                           std::unique_ptr<FSWritableFile>* r, IODebugContext* d) override {
    if (switch_.on()) return switch_.Fail(f.c_str());
    return Wrap(target()->NewWritableFile(f, o, r, d), r);
  }
  IOStatus ReopenWritableFile(const std::string& f, const FileOptions& o,
                              std::unique_ptr<FSWritableFile>* r, IODebugContext* d) override {
    if (switch_.on()) return switch_.Fail(f.c_str());
    return Wrap(target()->ReopenWritableFile(f, o, r, d), r);
  }
  IOStatus ReuseWritableFile(const std::string& f, const std::string& old, const FileOptions& o,
                             std::unique_ptr<FSWritableFile>* r, IODebugContext* d) override {
    if (switch_.on()) return switch_.Fail(f.c_str());
    return Wrap(target()->ReuseWritableFile(f, old, o, r, d), r);
  }
  IOStatus RenameFile(const std::string& s, const std::string& t, const IOOptions& o,
                      IODebugContext* d) override {
    if (switch_.on()) return switch_.Fail(t.c_str());
    return target()->RenameFile(s, t, o, d);
  }
  IOStatus DeleteFile(const std::string& f, const IOOptions& o, IODebugContext* d) override {
    if (switch_.on()) return switch_.Fail(f.c_str());
    return target()->DeleteFile(f, o, d);
  }
  IOStatus LinkFile(const std::string& s, const std::string& t, const IOOptions& o,
                    IODebugContext* d) override {
    if (switch_.on()) return switch_.Fail(t.c_str());
    return target()->LinkFile(s, t, o, d);
  }

 private:
  IOStatus Wrap(IOStatus s, std::unique_ptr<FSWritableFile>* r) {
    if (s.ok()) *r = std::make_unique<EioWritableFile>(std::move(*r), &switch_);
    return s;
  }

  const Switch switch_;
};

}  // namespace

std::unique_ptr<rocksdb::Env> NewEioSwitchEnv(const std::string& switch_path) {
  return rocksdb::NewCompositeEnv(
      std::make_shared<EioFileSystem>(rocksdb::FileSystem::Default(), switch_path));
}

std::unique_ptr<rocksdb::Env> EioSwitchEnvFromEnvironment() {
  const char* path = std::getenv(kEioSwitchVariable);
  if (path == nullptr || *path == '\0') return nullptr;
  return NewEioSwitchEnv(path);
}

}  // namespace fixmine::storage::internal
