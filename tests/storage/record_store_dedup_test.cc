// The store's dedup indexes: exact fingerprints (the earliest authored record is canonical,
// within a batch and across batches and repositories) and MinHash LSH near-duplicates. The rule
// in every order is tested in record_store_canonical_test.cc.
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "storage/record_store.h"
#include "tests/testutil/git_repo.h"

namespace fixmine::storage {
namespace {

using fixmine::v1::Job;
using fixmine::v1::Record;

// A record of `repo` with a 40-hex commit made from `n`, fingerprint `fp` and a signature
// whose first `same` values are shared with every other record built with the same `base`.
Record Make(const std::string& repo, int n, const std::string& fp, int base = -1, int same = 0) {
  Record r;
  r.set_repo(repo);
  r.set_commit(fmt::format("{:040x}", n));
  r.set_id(repo + ":" + r.commit());
  r.mutable_committer()->set_time(1700000000 + n);
  r.mutable_author()->set_time(1700000000 + n);
  r.set_patch_fingerprint(fp);
  if (base >= 0) {
    for (int i = 0; i < 64; ++i) r.add_minhash(i < same ? base * 1000 + i : n * 100000 + i);
  }
  return r;
}

Job TestJob() {
  Job j;
  j.set_id("job");
  return j;
}

class DedupStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<RecordStore> Open(double threshold = 0.8) {
    StoreOptions options;
    options.near_dup_threshold = threshold;
    auto s = RecordStore::Open(dir_.path() + "/store", options);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  testutil::TempDir dir_;
};

TEST_F(DedupStoreTest, EarliestAuthoredWinsWithinAndAcrossBatchesAndRepositories) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store
                  ->WriteBatch({Make("a", 1, "f1"), Make("a", 2, "f1"), Make("a", 3, "f2")},
                               TestJob(), nullptr)
                  .ok());
  ASSERT_TRUE(store->WriteBatch({Make("b", 4, "f1"), Make("b", 5, "")}, TestJob(), nullptr).ok());
  EXPECT_EQ(store->GetRecord(Make("a", 1, "").id())->duplicate_of(), "");
  EXPECT_EQ(store->GetRecord(Make("a", 2, "").id())->duplicate_of(), Make("a", 1, "").id());
  EXPECT_EQ(store->GetRecord(Make("a", 3, "").id())->duplicate_of(), "");
  EXPECT_EQ(store->GetRecord(Make("b", 4, "").id())->duplicate_of(), Make("a", 1, "").id());
  EXPECT_EQ(store->GetRecord(Make("b", 5, "").id())->duplicate_of(), "");  // no fingerprint

  // Removing the canonical's repository moves the label to the earliest remaining copy, and a
  // later copy points to it.
  ASSERT_TRUE(store
                  ->PutRepository([] {
                    fixmine::v1::Repository r;
                    r.set_name("a");
                    return r;
                  }())
                  .ok());
  ASSERT_TRUE(store->RemoveRepository("a").ok());
  EXPECT_EQ(store->GetRecord(Make("b", 4, "").id())->duplicate_of(), "");
  ASSERT_TRUE(store->WriteBatch({Make("c", 6, "f1")}, TestJob(), nullptr).ok());
  EXPECT_EQ(store->GetRecord(Make("c", 6, "").id())->duplicate_of(), Make("b", 4, "").id());
  // An earlier-authored copy arriving later takes the label over.
  ASSERT_TRUE(store->WriteBatch({Make("d", 0, "f1")}, TestJob(), nullptr).ok());
  EXPECT_EQ(store->GetRecord(Make("d", 0, "").id())->duplicate_of(), "");
  EXPECT_EQ(store->GetRecord(Make("b", 4, "").id())->duplicate_of(), Make("d", 0, "").id());
  EXPECT_EQ(store->GetRecord(Make("c", 6, "").id())->duplicate_of(), Make("d", 0, "").id());
}

TEST_F(DedupStoreTest, NearDuplicatesAboveTheThresholdOnly) {
  auto store = Open(0.8);
  ASSERT_NE(store, nullptr);
  Record first = Make("a", 1, "f1", /*base=*/7, /*same=*/64);
  ASSERT_TRUE(store->WriteBatch({first}, TestJob(), nullptr).ok());
  // 56 of 64 values shared: 0.875; 32 of 64: 0.5.
  Record near = Make("b", 2, "f2", 7, 56);
  Record far = Make("b", 3, "f3", 7, 32);
  Record unrelated = Make("b", 4, "f4", 9, 64);
  ASSERT_TRUE(store->WriteBatch({near, far, unrelated}, TestJob(), nullptr).ok());
  Record got = *store->GetRecord(near.id());
  EXPECT_EQ(got.near_duplicate_of(), first.id());
  EXPECT_EQ(got.near_duplicate_similarity(), 88);
  EXPECT_EQ(got.minhash_size(), 0);  // kept in the index, not in the record
  EXPECT_EQ(store->GetRecord(far.id())->near_duplicate_of(), "");
  EXPECT_EQ(store->GetRecord(unrelated.id())->near_duplicate_of(), "");
  EXPECT_EQ(store->GetRecord(first.id())->near_duplicate_of(), "");

  // Within one batch, and an exact duplicate is not also reported as a near one.
  Record again = Make("c", 5, "f1", 7, 64);
  Record near2 = Make("c", 6, "f6", 11, 64);
  Record near3 = Make("c", 7, "f7", 11, 60);
  ASSERT_TRUE(store->WriteBatch({again, near2, near3}, TestJob(), nullptr).ok());
  EXPECT_EQ(store->GetRecord(again.id())->duplicate_of(), first.id());
  EXPECT_EQ(store->GetRecord(again.id())->near_duplicate_of(), "");
  EXPECT_EQ(store->GetRecord(near3.id())->near_duplicate_of(), near2.id());
}

TEST_F(DedupStoreTest, ThresholdZeroTurnsTheCheckOff) {
  auto store = Open(0);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(
      store->WriteBatch({Make("a", 1, "f1", 7, 64), Make("a", 2, "f2", 7, 63)}, TestJob(), nullptr)
          .ok());
  EXPECT_EQ(store->GetRecord(Make("a", 2, "").id())->near_duplicate_of(), "");
}

}  // namespace
}  // namespace fixmine::storage
