#include "storage/maintenance.h"

#include <filesystem>
#include <functional>
#include <map>
#include <system_error>

#include "common/status.h"
#include "fmt/format.h"
#include "storage/db_core.h"
#include "storage/keys.h"

namespace fixmine::storage {

using internal::Family;
using internal::FromRocks;

absl::StatusOr<CheckpointInfo> CheckpointStore(RecordStore* store, const std::string& dir) {
  internal::DbCore* core = store->core();
  std::string what = fmt::format("writing a checkpoint of \"{}\" to \"{}\"", core->dir(), dir);
  std::error_code ec;
  std::filesystem::path target(dir);
  if (std::filesystem::exists(target, ec)) {
    return absl::InvalidArgumentError(
        fmt::format("{}: the folder exists; name a folder that does not exist yet", what));
  }
  std::filesystem::path parent = target.parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent, ec)) {
    return absl::FailedPreconditionError(
        fmt::format("{}: the parent folder \"{}\" does not exist", what, parent.string()));
  }
  CheckpointInfo info;
  FIXMINE_RETURN_IF_ERROR(core->Checkpoint(dir, &info.sequence));
  for (const auto& entry : std::filesystem::directory_iterator(target, ec)) {
    if (!entry.is_regular_file()) continue;
    ++info.files;
    info.bytes += static_cast<int64_t>(entry.file_size(ec));
  }
  return info;
}

absl::StatusOr<VerifyReport> VerifyStore(RecordStore* store) {
  internal::DbCore* core = store->core();
  VerifyReport report;
  if (std::optional<std::string> bad = core->VerifyChecksums()) {
    report.problems.push_back("checksum verification failed: " + *bad);
  }

  std::unique_ptr<internal::ReadView> view = core->View();
  const rocksdb::ReadOptions ro = view->scan_options();
  constexpr size_t kMaxProblems = 100;  // a badly broken store must not flood the report
  auto problem = [&report](std::string text) {
    if (report.problems.size() < kMaxProblems) report.problems.push_back(std::move(text));
  };
  std::string value;
  auto present = [&](std::string_view primary) {
    absl::StatusOr<bool> found = core->Get(&ro, Family::kRecords, primary, &value, "verifying");
    return found.ok() && *found;
  };
  auto scan = [&](Family f,
                  const std::function<void(std::string_view key, std::string_view value)>& visit)
      -> absl::Status {
    std::unique_ptr<rocksdb::Iterator> it = core->NewIterator(ro, f);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      visit(std::string_view(it->key().data(), it->key().size()),
            std::string_view(it->value().data(), it->value().size()));
    }
    return FromRocks(it->status(), fmt::format("verifying \"{}\"", internal::SpecOf(f).name));
  };
  auto counter = [&](std::string_view key) -> absl::StatusOr<int64_t> {
    std::string bytes;
    FIXMINE_ASSIGN_OR_RETURN(
        bool found, core->Get(&ro, Family::kCounters, key, &bytes, "reading a record counter"));
    if (!found) return 0;
    std::optional<int64_t> n = keys::DecodeCounter(bytes);
    if (!n) return absl::DataLossError("reading a record counter: bad value size");
    return *n;
  };

  std::map<std::string, int64_t> per_repo;
  FIXMINE_RETURN_IF_ERROR(scan(Family::kRecords, [&](std::string_view key, std::string_view) {
    ++report.records;
    std::optional<size_t> n = keys::PrimaryRepoLength(key);
    if (!n) {
      problem(fmt::format("records: malformed primary key of {} bytes", key.size()));
      return;
    }
    ++per_repo[std::string(key.substr(0, *n))];
  }));
  FIXMINE_RETURN_IF_ERROR(scan(Family::kIds, [&](std::string_view id, std::string_view primary) {
    ++report.ids;
    if (!present(primary)) problem(fmt::format("ids: \"{}\" points to a missing record", id));
  }));
  FIXMINE_RETURN_IF_ERROR(scan(Family::kTime, [&](std::string_view key, std::string_view) {
    ++report.time_entries;
    if (!present(keys::PrimaryFromTimeKey(key))) {
      problem("time_index: an entry points to a missing record");
    }
  }));
  FIXMINE_RETURN_IF_ERROR(scan(Family::kLang, [&](std::string_view key, std::string_view) {
    ++report.lang_entries;
    if (!present(keys::PrimaryFromLangKey(key))) {
      problem("lang_index: an entry points to a missing record");
    }
  }));
  FIXMINE_RETURN_IF_ERROR(
      scan(Family::kRepos, [&](std::string_view, std::string_view) { ++report.repositories; }));
  FIXMINE_RETURN_IF_ERROR(
      scan(Family::kJobs, [&](std::string_view, std::string_view) { ++report.jobs; }));
  if (report.ids != report.records) {
    problem(fmt::format("the id index has {} entries but there are {} records", report.ids,
                        report.records));
  }
  {
    // Every record has its dedup member (docs/storage.md "Dedup groups").
    int64_t members = 0;
    FIXMINE_RETURN_IF_ERROR(scan(Family::kDedup, [&](std::string_view key, std::string_view) {
      if (!key.empty() && key[0] == 'm') ++members;
    }));
    if (members != report.records) {
      problem(fmt::format("the dedup index has {} members but there are {} records", members,
                          report.records));
    }
  }
  if (report.time_entries != report.records) {
    problem(fmt::format("the time index has {} entries but there are {} records",
                        report.time_entries, report.records));
  }
  FIXMINE_ASSIGN_OR_RETURN(int64_t total, counter(keys::kTotalCounterKey));
  report.counted_total = total;
  if (total != report.records) {
    problem(
        fmt::format("the total counter says {} records but there are {}", total, report.records));
  }
  // Per-repository counters, including those of repositories with no records left.
  FIXMINE_RETURN_IF_ERROR(
      scan(Family::kCounters, [&](std::string_view key, std::string_view bytes) {
        std::string prefix = keys::RepoCounterKey("");
        if (key.substr(0, prefix.size()) != prefix) return;
        std::string repo(key.substr(prefix.size()));
        std::optional<int64_t> n = keys::DecodeCounter(bytes);
        int64_t actual = per_repo.count(repo) ? per_repo[repo] : 0;
        if (n && *n != actual) {
          problem(fmt::format("repository \"{}\": its counter says {} records but there are {}",
                              repo, *n, actual));
        }
        per_repo.erase(repo);
      }));
  for (const auto& [repo, n] : per_repo) {
    problem(fmt::format("repository \"{}\": {} records but no counter", repo, n));
  }
  return report;
}

absl::StatusOr<int64_t> RestoreStore(const std::string& backup_dir, const std::string& store_dir,
                                     bool force) {
  namespace fs = std::filesystem;
  std::string what = fmt::format("restoring \"{}\" from \"{}\"", store_dir, backup_dir);
  std::error_code ec;
  if (!fs::exists(fs::path(backup_dir) / "CURRENT", ec)) {
    return absl::InvalidArgumentError(
        fmt::format("{}: \"{}\" is not a store backup (no CURRENT file); name a folder written by "
                    "`fixmine db backup`",
                    what, backup_dir));
  }
  bool target_has_files = fs::is_directory(store_dir, ec) && !fs::is_empty(store_dir, ec);
  if (target_has_files) {
    // Opening takes RocksDB's lock: it fails while a server (or anything else) has it open.
    auto open = RecordStore::Open(store_dir);
    if (!open.ok() && open.status().code() == absl::StatusCode::kUnavailable) {
      return absl::UnavailableError(
          fmt::format("{}: the store is in use by a running process (stop fixmined first): {}",
                      what, std::string(open.status().message())));
    }
    if (open.ok()) open->reset();  // release the lock before replacing the folder
    if (!force) {
      return absl::FailedPreconditionError(
          fmt::format("{}: the target folder holds a store; pass --force to replace it", what));
    }
  }
  fs::path target(store_dir);
  fs::path staging = target;
  staging += ".restoring";
  fs::remove_all(staging, ec);
  fs::create_directories(target.parent_path().empty() ? fs::path(".") : target.parent_path(), ec);
  fs::copy(backup_dir, staging, fs::copy_options::recursive, ec);
  if (ec) {
    fs::remove_all(staging, ec);
    return absl::InternalError(fmt::format("{}: copying the backup: {}", what, ec.message()));
  }
  int64_t records = 0;
  {
    auto opened = RecordStore::Open(staging.string());
    if (!opened.ok()) {
      std::error_code ignored;
      fs::remove_all(staging, ignored);
      return absl::Status(opened.status().code(),
                          fmt::format("{}: the backup does not open: {}", what,
                                      std::string(opened.status().message())));
    }
    auto n = (*opened)->TotalRecords();
    FIXMINE_RETURN_IF_ERROR(n.status());
    records = *n;
  }
  fs::path replaced = target;
  replaced += ".replaced";
  fs::remove_all(replaced, ec);
  if (fs::exists(target, ec)) {
    fs::rename(target, replaced, ec);
    if (ec) {
      return absl::InternalError(
          fmt::format("{}: moving the old store aside: {}", what, ec.message()));
    }
  }
  fs::rename(staging, target, ec);
  if (ec) {
    return absl::InternalError(
        fmt::format("{}: moving the restored store into place: {}", what, ec.message()));
  }
  fs::remove_all(replaced, ec);
  return records;
}

}  // namespace fixmine::storage
