#include "storage/manifest_guard.h"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/base/attributes.h"
#include "absl/synchronization/mutex.h"
#include "fmt/format.h"

namespace fixmine::storage {
namespace {

namespace fs = std::filesystem;

// The MANIFEST file named by CURRENT ("MANIFEST-000123\n"); empty when there is none.
std::string CurrentManifest(const std::string& dir) {
  std::ifstream f(fs::path(dir) / "CURRENT");
  std::string name;
  if (!(f >> name)) return "";
  return name;
}

// The number of "MANIFEST-000123"; -1 when the name has another form.
int64_t ManifestNumber(const std::string& name) {
  constexpr std::string_view kPrefix = "MANIFEST-";
  if (name.size() <= kPrefix.size() || name.compare(0, kPrefix.size(), kPrefix) != 0) return -1;
  int64_t n = 0;
  for (size_t i = kPrefix.size(); i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9' || n > (INT64_MAX - 9) / 10) return -1;
    n = n * 10 + (name[i] - '0');
  }
  return n;
}

// Serialises RecordManifestState (the flush and compaction listeners run on RocksDB's threads).
ABSL_CONST_INIT absl::Mutex record_mu(absl::kConstInit);

class Listener : public rocksdb::EventListener {
 public:
  explicit Listener(std::string dir) : dir_(std::move(dir)) {}
  void OnFlushCompleted(rocksdb::DB*, const rocksdb::FlushJobInfo&) override {
    RecordManifestState(dir_);
  }
  void OnCompactionCompleted(rocksdb::DB*, const rocksdb::CompactionJobInfo&) override {
    RecordManifestState(dir_);
  }

 private:
  const std::string dir_;
};

}  // namespace

absl::Status CheckManifestState(const std::string& dir) {
  std::ifstream sidecar(fs::path(dir) / kManifestStateFile);
  std::string recorded_name;
  int64_t recorded_size = -1;
  if (!(sidecar >> recorded_name >> recorded_size)) return absl::OkStatus();
  const std::string current = CurrentManifest(dir);
  if (current.empty()) return absl::OkStatus();
  const std::string remedy = fmt::format(
      "the store's list of files is damaged and opening it would serve (and keep) a partial "
      "store. Restore a backup (`fixmine db restore BACKUP_DIR --data-dir {} --force`, with "
      "fixmined stopped), or start fixmined once with --accept-damaged-store to open it as it "
      "is and check it with `fixmine db verify`",
      fs::path(dir).parent_path().string());
  const int64_t recorded_number = ManifestNumber(recorded_name);
  const int64_t current_number = ManifestNumber(current);
  if (recorded_number >= 0 && current_number >= 0 && current_number < recorded_number) {
    return absl::DataLossError(
        fmt::format("opening store \"{}\": CURRENT names {}, older than {} recorded in {}: {}", dir,
                    current, recorded_name, kManifestStateFile, remedy));
  }
  if (current != recorded_name) return absl::OkStatus();
  std::error_code ec;
  const uintmax_t size = fs::file_size(fs::path(dir) / current, ec);
  if (ec) return absl::OkStatus();  // missing: RocksDB's own open reports it
  if (static_cast<int64_t>(size) < recorded_size) {
    return absl::DataLossError(fmt::format(
        "opening store \"{}\": {} is {} bytes, shorter than the {} bytes it had when the store "
        "last changed (recorded in {}): {}",
        dir, current, size, recorded_size, kManifestStateFile, remedy));
  }
  return absl::OkStatus();
}

void RecordManifestState(const std::string& dir) {
  absl::MutexLock l(&record_mu);
  const std::string current = CurrentManifest(dir);
  if (current.empty()) return;
  std::error_code ec;
  const uintmax_t size = fs::file_size(fs::path(dir) / current, ec);
  if (ec) return;
  const fs::path target = fs::path(dir) / kManifestStateFile;
  fs::path tmp = target;
  tmp += ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << current << " " << size << "\n";
    if (!f.flush()) return;
  }
  fs::rename(tmp, target, ec);
}

std::shared_ptr<rocksdb::EventListener> NewManifestStateListener(const std::string& dir) {
  return std::make_shared<Listener>(dir);
}

}  // namespace fixmine::storage
