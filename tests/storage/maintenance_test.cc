// storage/maintenance.h and the schema version check at open, on a real RocksDB store.
#include "storage/maintenance.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>

#include "fmt/format.h"
#include "rocksdb/db.h"
#include "rocksdb/merge_operator.h"
#include "storage/keys.h"
#include "tests/testutil/git_repo.h"

namespace fixmine::storage {
namespace {

using ::testing::HasSubstr;

fixmine::v1::Record MakeRecord(const std::string& repo, int i) {
  fixmine::v1::Record r;
  r.set_repo(repo);
  r.set_commit(fmt::format("{:040x}", i + 1));
  r.set_id(fmt::format("{}-{}", repo, i));
  r.mutable_committer()->set_time(1700000000 + i);
  r.set_subject(fmt::format("change {}", i));
  auto* f = r.add_files();
  f->set_path("a.c");
  f->set_language("C");
  return r;
}

// The counters family's merge: adds the little-endian 64-bit values (keys::EncodeCounter).
class AddCounters : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* out, rocksdb::Logger*) const override {
    int64_t sum = keys::DecodeCounter(std::string_view(value.data(), value.size())).value_or(0);
    if (existing != nullptr) {
      sum += keys::DecodeCounter(std::string_view(existing->data(), existing->size())).value_or(0);
    }
    *out = keys::EncodeCounter(sum);
    return true;
  }
  const char* Name() const override { return "fixmine.CounterAdd"; }
};

// Opens the raw RocksDB of a closed store with every family, for tests that tamper with it.
// Nothing is flushed (the counters family's merge operands need the store's merge operator);
// changes stay in the WAL for the store to replay.
struct RawDb {
  explicit RawDb(const std::string& dir) {
    rocksdb::DBOptions options;
    options.avoid_flush_during_recovery = true;
    options.avoid_flush_during_shutdown = true;
    std::vector<std::string> names;
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(options, dir, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& name : names) {
      rocksdb::ColumnFamilyOptions cf;
      if (name == keys::kCountersCf) cf.merge_operator = std::make_shared<AddCounters>();
      descriptors.emplace_back(name, cf);
    }
    rocksdb::DB* raw = nullptr;
    EXPECT_TRUE(rocksdb::DB::Open(options, dir, descriptors, &handles, &raw).ok());
    db.reset(raw);
    for (size_t i = 0; i < names.size(); ++i) by_name[names[i]] = handles[i];
  }
  ~RawDb() {
    for (auto* h : handles) (void)db->DestroyColumnFamilyHandle(h);
    (void)db->Close();
  }
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name;
};

class MaintenanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path() + "/store";
    auto store = RecordStore::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    fixmine::v1::Job job;
    job.set_id("j1");
    job.set_repo("r");
    std::vector<fixmine::v1::Record> records;
    records.reserve(20);
    for (int i = 0; i < 20; ++i) records.push_back(MakeRecord("r", i));
    fixmine::v1::Repository repo;
    repo.set_name("r");
    ASSERT_TRUE(store_->WriteBatch(records, job, &repo).ok());
  }

  void SetSchemaVersion(const std::string& version) {
    store_.reset();
    RawDb raw(dir_);
    ASSERT_TRUE(raw.db->Put(rocksdb::WriteOptions(), keys::kSchemaVersionKey, version).ok());
  }

  testutil::TempDir tmp_;
  std::string dir_;
  std::unique_ptr<RecordStore> store_;
};

TEST_F(MaintenanceTest, OlderSchemaIsRefusedNamingBothVersionsAndWhatToDo) {
  SetSchemaVersion("0");
  auto store = RecordStore::Open(dir_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  std::string msg(store.status().message());
  EXPECT_THAT(msg, HasSubstr("schema version \"0\""));
  EXPECT_THAT(msg, HasSubstr(fmt::format("reads version {}", keys::kSchemaVersion)));
  EXPECT_THAT(msg, HasSubstr("older fixmine"));
  EXPECT_THAT(msg, HasSubstr("new --data-dir"));
}

TEST_F(MaintenanceTest, NewerSchemaIsRefusedNamingBothVersionsAndWhatToDo) {
  SetSchemaVersion(std::to_string(keys::kSchemaVersion + 1));
  auto store = RecordStore::Open(dir_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  std::string msg(store.status().message());
  EXPECT_THAT(msg, HasSubstr(fmt::format("schema version \"{}\"", keys::kSchemaVersion + 1)));
  EXPECT_THAT(msg, HasSubstr("newer fixmine"));
}

TEST_F(MaintenanceTest, VerifyCountsASoundStoreAndReportsAMissingIndexEntry) {
  auto report = VerifyStore(store_.get());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->problems.empty()) << report->problems[0];
  EXPECT_EQ(report->records, 20);
  EXPECT_EQ(report->ids, 20);
  EXPECT_EQ(report->time_entries, 20);
  EXPECT_EQ(report->lang_entries, 20);
  EXPECT_EQ(report->counted_total, 20);
  EXPECT_EQ(report->repositories, 1);
  EXPECT_EQ(report->jobs, 1);

  store_.reset();
  {
    RawDb raw(dir_);
    ASSERT_TRUE(raw.db->Delete(rocksdb::WriteOptions(), raw.by_name[keys::kIdsCf], "r-3").ok());
  }
  auto store = RecordStore::Open(dir_);
  ASSERT_TRUE(store.ok());
  report = VerifyStore(store->get());
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->problems.size(), 1u) << ::testing::PrintToString(report->problems);
  EXPECT_THAT(report->problems[0], HasSubstr("id index has 19 entries but there are 20 records"));
}

TEST_F(MaintenanceTest, CheckpointOpensAsAStoreAndRestoreReplacesOnlyWithForce) {
  std::string backup = tmp_.path() + "/backup";
  auto info = CheckpointStore(store_.get(), backup);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_GT(info->files, 0);
  EXPECT_GT(info->sequence, 0u);
  auto exists = CheckpointStore(store_.get(), backup);
  EXPECT_EQ(exists.status().code(), absl::StatusCode::kInvalidArgument);
  auto no_parent = CheckpointStore(store_.get(), tmp_.path() + "/none/backup");
  EXPECT_EQ(no_parent.status().code(), absl::StatusCode::kFailedPrecondition);

  // Writes after the checkpoint are not in it.
  fixmine::v1::Job job;
  job.set_id("j2");
  ASSERT_TRUE(store_->WriteBatch({MakeRecord("r", 99)}, job, nullptr).ok());

  // Restoring over the open store is refused; so is a non-empty target without force.
  auto busy = RestoreStore(backup, dir_, /*force=*/true);
  EXPECT_EQ(busy.status().code(), absl::StatusCode::kUnavailable) << busy.status();
  store_.reset();
  auto no_force = RestoreStore(backup, dir_, /*force=*/false);
  EXPECT_EQ(no_force.status().code(), absl::StatusCode::kFailedPrecondition);
  auto not_backup = RestoreStore(tmp_.path(), tmp_.path() + "/other", false);
  EXPECT_EQ(not_backup.status().code(), absl::StatusCode::kInvalidArgument);

  auto restored = RestoreStore(backup, dir_, /*force=*/true);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(*restored, 20);
  auto store = RecordStore::Open(dir_);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(*(*store)->TotalRecords(), 20);
  EXPECT_FALSE(*(*store)->HasRecord("r-99"));
  EXPECT_TRUE(VerifyStore(store->get())->problems.empty());
  // A restore into an empty data folder needs no force.
  store->reset();
  auto fresh = RestoreStore(backup, tmp_.path() + "/fresh/store", false);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(*fresh, 20);
}

// Sum of the sizes of the store folder's blob files (RocksDB's integrated BlobDB).
int64_t BlobFileBytes(const std::string& dir, int* files) {
  int64_t bytes = 0;
  *files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".blob") continue;
    ++*files;
    bytes += static_cast<int64_t>(entry.file_size());
  }
  return bytes;
}

// A record whose pre-image is 16 KiB of pseudo-random hex: above the records family's blob
// threshold (4 KiB), and compressible only to about half.
fixmine::v1::Record MakeLargeRecord(const std::string& repo, int i, std::mt19937* rng) {
  fixmine::v1::Record r = MakeRecord(repo, i);
  std::string content(16 << 10, ' ');
  for (char& c : content) c = "0123456789abcdef"[(*rng)() & 15];
  r.mutable_files(0)->set_old_content(content);
  return r;
}

TEST_F(MaintenanceTest, LargeRecordsLiveInBlobFilesThatBackupRestoreAndRemovalHandle) {
  std::mt19937 rng(7);
  std::vector<fixmine::v1::Record> big, keep;
  // Eight rounds, each flushed by Compact into blob files of its own, each file holding both
  // repositories' values: removing one leaves every file half garbage.
  for (int round = 0; round < 8; ++round) {
    for (const std::string name : {"big", "keep"}) {
      std::vector<fixmine::v1::Record> batch;
      for (int i = round * 4; i < round * 4 + 4; ++i) {
        batch.push_back(MakeLargeRecord(name, i, &rng));
      }
      fixmine::v1::Job job;
      job.set_id(fmt::format("job-{}-{}", name, round));
      job.set_repo(name);
      fixmine::v1::Repository repo;
      repo.set_name(name);
      auto n = store_->WriteBatch(batch, job, &repo);
      ASSERT_TRUE(n.ok()) << n.status();
      ASSERT_EQ(*n, 4);
      (name == "big" ? big : keep)
          .insert((name == "big" ? big : keep).end(), batch.begin(), batch.end());
    }
    ASSERT_TRUE(store_->Compact().ok());
  }
  int files = 0;
  int64_t blob_bytes = BlobFileBytes(dir_, &files);
  EXPECT_GT(files, 0);
  EXPECT_GT(blob_bytes, 64 * (6 << 10)) << "the large values are not in blob files";

  std::string backup = tmp_.path() + "/backup";
  auto info = CheckpointStore(store_.get(), backup);
  ASSERT_TRUE(info.ok()) << info.status();
  int backup_files = 0;
  EXPECT_EQ(BlobFileBytes(backup, &backup_files), blob_bytes);
  EXPECT_EQ(backup_files, files);
  store_.reset();

  std::string restored_dir = tmp_.path() + "/restored/store";
  auto restored = RestoreStore(backup, restored_dir, /*force=*/false);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(*restored, 84);  // the fixture's 20 small records and the 64 large ones
  auto opened = RecordStore::Open(restored_dir);
  ASSERT_TRUE(opened.ok()) << opened.status();
  RecordStore& store = **opened;
  for (const auto* batch : {&big, &keep}) {
    for (const auto& want : *batch) {
      auto got = store.GetRecord(want.id());
      ASSERT_TRUE(got.ok()) << want.id() << ": " << got.status();
      EXPECT_EQ(got->files(0).old_content(), want.files(0).old_content()) << want.id();
      EXPECT_EQ(got->commit(), want.commit());
    }
  }
  auto report = VerifyStore(&store);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->problems.empty()) << report->problems[0];
  EXPECT_EQ(report->records, 84);

  // Removing one repository and compacting gives its values' space back, although they share
  // blob files with the kept repository's (Compact forces blob garbage collection).
  int64_t before = store.ApproximateSize();
  EXPECT_GE(before, blob_bytes);  // the size counts blob files
  auto removed = store.RemoveRepository("big");
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 32);
  ASSERT_TRUE(store.Compact().ok());
  int64_t after = store.ApproximateSize();
  EXPECT_LT(after, before * 6 / 10) << "before " << before << " after " << after;
  for (const auto& want : keep) {
    auto got = store.GetRecord(want.id());
    ASSERT_TRUE(got.ok()) << want.id() << ": " << got.status();
    EXPECT_EQ(got->files(0).old_content(), want.files(0).old_content()) << want.id();
  }
  EXPECT_FALSE(*store.HasRecord(big[0].id()));
  EXPECT_EQ(*store.TotalRecords(), 52);
}

}  // namespace
}  // namespace fixmine::storage
