#include "storage/fault_injection.h"

#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
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
  // RocksDB's own logger over this file system (the default file system's NewLogger writes
  // through its own files, which would not fail).
  IOStatus NewLogger(const std::string& f, const IOOptions& /*o*/,
                     std::shared_ptr<rocksdb::Logger>* r, IODebugContext* /*d*/) override {
    if (env_ == nullptr) return IOStatus::NotSupported("no Env for the logger");
    rocksdb::Status s = rocksdb::NewEnvLogger(f, env_, r);
    return s.ok() ? IOStatus::OK() : IOStatus::IOError(s.ToString());
  }
  // The Env whose file system this is (for NewLogger); not owned.
  void set_env(rocksdb::Env* env) { env_ = env; }

 private:
  IOStatus Wrap(IOStatus s, std::unique_ptr<FSWritableFile>* r) {
    if (s.ok()) *r = std::make_unique<EioWritableFile>(std::move(*r), &switch_);
    return s;
  }

  const Switch switch_;
  rocksdb::Env* env_ = nullptr;
};

// RocksDB's info log, written best-effort: the first failed write stops it (and is dropped).
class BestEffortLogger : public rocksdb::Logger {
 public:
  explicit BestEffortLogger(std::unique_ptr<FSWritableFile> file) : file_(std::move(file)) {}
  ~BestEffortLogger() override { CloseImpl().PermitUncheckedError(); }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char message[1024];
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(message, sizeof(message), format, copy);
    va_end(copy);
    if (n < 0) return;
    struct timeval now {};
    gettimeofday(&now, nullptr);
    struct tm t {};
    localtime_r(&now.tv_sec, &t);
    char line[1100];
    int len = snprintf(line, sizeof(line), "%04d/%02d/%02d-%02d:%02d:%02d.%06ld %s\n",
                       t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                       static_cast<long>(now.tv_usec), message);
    if (len <= 0) return;
    len = std::min(len, static_cast<int>(sizeof(line)) - 1);
    absl::MutexLock l(&mu_);
    if (file_ == nullptr || failed_) return;
    IOStatus s = file_->Append(Slice(line, static_cast<size_t>(len)), IOOptions(), nullptr);
    if (s.ok()) s = file_->Flush(IOOptions(), nullptr);
    if (!s.ok()) {
      failed_ = true;  // the disk fails; the store's own writes report it
      return;
    }
    size_ += static_cast<size_t>(len);
  }
  size_t GetLogFileSize() const override {
    absl::MutexLock l(&mu_);
    return size_;
  }

 protected:
  rocksdb::Status CloseImpl() override {
    absl::MutexLock l(&mu_);
    if (file_ != nullptr) file_->Close(IOOptions(), nullptr).PermitUncheckedError();
    file_.reset();
    return rocksdb::Status::OK();
  }

 private:
  mutable absl::Mutex mu_;
  std::unique_ptr<FSWritableFile> file_ ABSL_GUARDED_BY(mu_);
  bool failed_ ABSL_GUARDED_BY(mu_) = false;
  size_t size_ ABSL_GUARDED_BY(mu_) = 0;
};

// Passes everything to its target but writes the info log with BestEffortLogger.
class BestEffortLogFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit BestEffortLogFileSystem(const std::shared_ptr<rocksdb::FileSystem>& target)
      : FileSystemWrapper(target) {}
  const char* Name() const override { return "FixmineBestEffortLog"; }

  IOStatus NewLogger(const std::string& f, const IOOptions& /*o*/,
                     std::shared_ptr<rocksdb::Logger>* r, IODebugContext* d) override {
    std::unique_ptr<FSWritableFile> file;
    IOStatus s = target()->NewWritableFile(f, FileOptions(), &file, d);
    if (!s.ok()) return s;
    *r = std::make_shared<BestEffortLogger>(std::move(file));
    return IOStatus::OK();
  }
};

}  // namespace

std::unique_ptr<rocksdb::Env> NewStoreEnv() {
  std::shared_ptr<rocksdb::FileSystem> base = rocksdb::FileSystem::Default();
  std::shared_ptr<EioFileSystem> eio;
  const char* path = std::getenv(kEioSwitchVariable);
  if (path != nullptr && *path != '\0') base = eio = std::make_shared<EioFileSystem>(base, path);
  std::unique_ptr<rocksdb::Env> env =
      rocksdb::NewCompositeEnv(std::make_shared<BestEffortLogFileSystem>(base));
  if (eio != nullptr) eio->set_env(env.get());
  return env;
}

void CrashPoint(const char* point) {
  const char* armed = std::getenv(kCrashPointVariable);
  if (armed != nullptr && std::strcmp(armed, point) == 0) ::raise(SIGKILL);
}

}  // namespace fixmine::storage::internal
