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
  auto st = Mine(
      repo.path(), {}, ro,
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

// RecordOptions::max_record_bytes: an over-budget record sheds the largest files' pre-images
// first, then the largest patches, and ends within its budget; smaller records are unchanged.
TEST(MineSmoke, OversizedRecordShedsContentsThenPatchesLargestFirst) {
  testutil::GitRepo repo;
  auto text = [](char c, int lines) {
    std::string t;
    for (int i = 0; i < lines; ++i) t += std::string(60, c) + std::to_string(i) + "\n";
    return t;
  };
  repo.Write("big.txt", text('b', 2000));  // about 124 KB
  repo.Write("mid.txt", text('m', 1000));  // about 62 KB
  repo.Write("small.txt", text('s', 10));
  repo.CommitAll("add\n");
  repo.Write("big.txt", text('B', 2000));
  repo.Write("mid.txt", text('M', 1000));
  repo.Write("small.txt", text('S', 10));
  std::string c2 = repo.CommitAll("rewrite every line\n");
  auto mine = [&](size_t budget) {
    std::vector<fixmine::v1::Record> got;
    RecordOptions ro;
    ro.repo_name = "r";
    ro.max_record_bytes = budget;
    WalkStats stats;
    EXPECT_TRUE(Mine(
                    repo.path(), {}, ro,
                    [&](fixmine::v1::Record&& r) {
                      got.push_back(std::move(r));
                      return absl::OkStatus();
                    },
                    &stats)
                    .ok());
    EXPECT_EQ(got.size(), 2u);
    return got.empty() ? fixmine::v1::Record() : got[0];
  };
  auto file = [](const fixmine::v1::Record& r, const std::string& path) {
    for (const auto& f : r.files()) {
      if (f.path() == path) return f;
    }
    ADD_FAILURE() << "no " << path;
    return fixmine::v1::FileChange();
  };
  fixmine::v1::Record full = mine(0);
  ASSERT_EQ(full.commit(), c2);
  const size_t full_size = full.ByteSizeLong();
  EXPECT_EQ(mine(full_size).SerializeAsString(), full.SerializeAsString()) << "fits: unchanged";

  // Room for everything but big.txt's pre-image: only that one is shed.
  const size_t big_old = file(full, "big.txt").old_content().size();
  fixmine::v1::Record a = mine(full_size - big_old + 100);
  EXPECT_LE(a.ByteSizeLong(), full_size - big_old + 100);
  EXPECT_TRUE(file(a, "big.txt").old_content().empty());
  EXPECT_TRUE(file(a, "big.txt").old_content_truncated());
  EXPECT_EQ(file(a, "mid.txt").old_content(), file(full, "mid.txt").old_content());
  EXPECT_EQ(file(a, "big.txt").patch(), file(full, "big.txt").patch());
  EXPECT_EQ(a.unavailable_files(), 0);

  // Room for no pre-image and not for big.txt's patch: every pre-image goes, then that patch.
  size_t no_contents = full_size;
  for (const auto& f : full.files()) no_contents -= f.old_content().size() + 4;
  const size_t budget = no_contents - file(full, "big.txt").patch().size() / 2;
  fixmine::v1::Record b = mine(budget);
  EXPECT_LE(b.ByteSizeLong(), budget);
  for (const auto& f : b.files()) EXPECT_TRUE(f.old_content().empty()) << f.path();
  EXPECT_TRUE(file(b, "big.txt").patch().empty());
  EXPECT_TRUE(file(b, "big.txt").unavailable());
  EXPECT_NE(file(b, "big.txt").unavailable_reason().find("budget"), std::string::npos);
  EXPECT_EQ(file(b, "mid.txt").patch(), file(full, "mid.txt").patch());
  EXPECT_EQ(file(b, "small.txt").patch(), file(full, "small.txt").patch());
  EXPECT_EQ(b.unavailable_files(), 1);
  EXPECT_EQ(b.quality().lines_added(), full.quality().lines_added());
}

}  // namespace
}  // namespace fixmine::miner
