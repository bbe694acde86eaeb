#include "storage/db_core.h"

#include <set>
#include <string>

#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "storage/keys.h"
#include "storage/record_store.h"
#include "tests/testutil/git_repo.h"

namespace fixmine::storage::internal {
namespace {

// The family table is the one declaration of the families: in Family order, names unique, and
// every name is a family RocksDB holds after the open, found by that name.
TEST(DbCore, OpensEveryFamilyOfTheTableByName) {
  std::set<std::string> names;
  for (size_t i = 0; i < kFamilies.size(); ++i) {
    EXPECT_EQ(static_cast<size_t>(kFamilies[i].family), i) << kFamilies[i].name;
    EXPECT_TRUE(names.insert(kFamilies[i].name).second) << "twice: " << kFamilies[i].name;
    EXPECT_NE(std::string(kFamilies[i].purpose), "") << kFamilies[i].name;
    EXPECT_EQ(&SpecOf(kFamilies[i].family), &kFamilies[i]);
  }
  testutil::TempDir tmp;
  const std::string dir = tmp.path() + "/store";
  {
    auto core = DbCore::Open(dir, StoreOptions());
    ASSERT_TRUE(core.ok()) << core.status();
    for (const FamilySpec& spec : kFamilies) {
      ASSERT_NE((*core)->cf(spec.family), nullptr) << spec.name;
      EXPECT_EQ((*core)->cf(spec.family)->GetName(), spec.name);
    }
    // A typed write and read through the core land in the family named.
    rocksdb::WriteBatch batch;
    fixmine::v1::Job job;
    job.set_id("j1");
    ASSERT_TRUE(
        FromRocks(batch.Put((*core)->cf(Family::kJobs), "j1", job.SerializeAsString()), "t").ok());
    ASSERT_TRUE((*core)->Write("writing a job", &batch).ok());
    auto read = (*core)->GetProto<fixmine::v1::Job>(nullptr, Family::kJobs, "j1", "reading");
    ASSERT_TRUE(read.ok()) << read.status();
    ASSERT_TRUE(read->has_value());
    EXPECT_EQ((*read)->id(), "j1");
    auto absent = (*core)->GetProto<fixmine::v1::Job>(nullptr, Family::kRepos, "j1", "reading");
    ASSERT_TRUE(absent.ok());
    EXPECT_FALSE(absent->has_value());
    // A value that is not the message asked for is DATA_LOSS.
    rocksdb::WriteBatch bad;
    ASSERT_TRUE(FromRocks(bad.Put((*core)->cf(Family::kJobs), "j2", "\xff\xff"), "t").ok());
    ASSERT_TRUE((*core)->Write("writing junk", &bad).ok());
    EXPECT_EQ((*core)
                  ->GetProto<fixmine::v1::Job>(nullptr, Family::kJobs, "j2", "reading")
                  .status()
                  .code(),
              absl::StatusCode::kDataLoss);
  }
  std::vector<std::string> on_disk;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &on_disk).ok());
  EXPECT_EQ(std::set<std::string>(on_disk.begin(), on_disk.end()), names);
}

TEST(DbCore, FromRocksMapsEachCodeAndSaysWhatWasDone) {
  EXPECT_TRUE(FromRocks(rocksdb::Status::OK(), "x").ok());
  EXPECT_EQ(FromRocks(rocksdb::Status::NotFound(), "x").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(FromRocks(rocksdb::Status::Corruption("bad block"), "x").code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(FromRocks(rocksdb::Status::InvalidArgument(), "x").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FromRocks(rocksdb::Status::Busy(), "x").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(FromRocks(rocksdb::Status::NoSpace(), "x").code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(FromRocks(rocksdb::Status::IOError("eio"), "x").code(), absl::StatusCode::kInternal);
  absl::Status s = FromRocks(rocksdb::Status::Corruption("bad block"), "reading record \"r\"");
  EXPECT_EQ(s.message().substr(0, 20), "reading record \"r\": ");
  EXPECT_NE(s.message().find("bad block"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace fixmine::storage::internal
