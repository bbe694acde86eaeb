#include <gtest/gtest.h>

#include "miner/walk.h"
#include "tests/testutil/git_repo.h"

namespace fixmine::miner {
namespace {

TEST(MineSmoke, OneRecordPerNonMergeCommit) {
  testutil::GitRepo repo;
  repo.Write("a.txt", "one\ntwo\n");
  std::string c1 = repo.CommitAll("first\n");
  repo.Write("a.txt", "one\n2\n");
  std::string c2 = repo.CommitAll("second line\n\nbody\n");
  std::vector<fixmine::v1::Record> got;
  RecordOptions ro;
  ro.repo_name = "r";
  WalkStats stats;
  auto st = Mine(repo.path(), {}, ro,
                 [&](fixmine::v1::Record&& r) {
                   got.push_back(std::move(r));
                   return absl::OkStatus();
                 },
                 &stats);
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].commit(), c2);
  EXPECT_EQ(got[1].commit(), c1);
  EXPECT_EQ(got[0].subject(), "second line");
  ASSERT_EQ(got[0].files_size(), 1);
  EXPECT_EQ(got[0].files(0).added(), 1);
  EXPECT_EQ(got[0].files(0).deleted(), 1);
  EXPECT_EQ(got[0].files(0).patch(), repo.Git("show --format= --full-index " + c2));
}

}  // namespace
}  // namespace fixmine::miner
