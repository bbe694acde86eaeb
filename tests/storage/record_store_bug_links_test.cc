// The store's reverse bug-fix links: a record written with bug_introducing_commits adds its
// commit to labels.fixed_by of those records, whether they are stored before it, after it
// (the walk goes newest first) or in the same batch, exactly once under re-writes.
#include <algorithm>
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

// The record id as the miner makes it (miner::RecordId): the git blob id of
// "fixmine-record\n<repo>\n<commit>", cut to 24 hex digits. git hash-object is the oracle.
std::string MinerId(const std::string& repo, const std::string& commit) {
  testutil::CommandResult r = testutil::RunShell(
      fmt::format("printf 'fixmine-record\\n%s\\n%s' {} {} | git hash-object --stdin",
                  testutil::ShellQuote(repo), testutil::ShellQuote(commit)));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out.substr(0, 24);
}

Record Make(const std::string& repo, int n, const std::vector<int>& bugs = {}) {
  Record r;
  r.set_repo(repo);
  r.set_commit(fmt::format("{:040x}", n));
  r.set_id(MinerId(repo, r.commit()));
  r.mutable_committer()->set_time(1700000000 + n);
  for (int b : bugs) r.mutable_labels()->add_bug_introducing_commits(fmt::format("{:040x}", b));
  return r;
}

Job MakeJob(const std::string& id) {
  Job j;
  j.set_id(id);
  return j;
}

std::vector<std::string> FixedBy(RecordStore& store, const std::string& repo, int n) {
  auto r = store.GetRecord(MinerId(repo, fmt::format("{:040x}", n)));
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return {};
  return {r->labels().fixed_by().begin(), r->labels().fixed_by().end()};
}

std::string Hex(int n) { return fmt::format("{:040x}", n); }

class BugLinksTest : public ::testing::Test {
 protected:
  std::unique_ptr<RecordStore> Open() {
    auto s = RecordStore::Open(dir_.path() + "/store");
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  testutil::TempDir dir_;
};

// Commits 1 (bug) <- 5 (fix of 1) <- 9 (fix of 1 and 5); written newest first, one per batch,
// as a walk would: the links wait until the bug records arrive.
TEST_F(BugLinksTest, FixWrittenBeforeItsBugRecord) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->WriteBatch({Make("r", 9, {1, 5})}, MakeJob("j"), nullptr).ok());
  ASSERT_TRUE(store->WriteBatch({Make("r", 5, {1})}, MakeJob("j"), nullptr).ok());
  ASSERT_TRUE(store->WriteBatch({Make("r", 1)}, MakeJob("j"), nullptr).ok());
  EXPECT_EQ(FixedBy(*store, "r", 1), (std::vector<std::string>{Hex(5), Hex(9)}));
  EXPECT_EQ(FixedBy(*store, "r", 5), std::vector<std::string>{Hex(9)});
  EXPECT_TRUE(FixedBy(*store, "r", 9).empty());
  // The fix keeps its own links.
  auto fix = store->GetRecord(MinerId("r", Hex(9)));
  ASSERT_TRUE(fix.ok());
  EXPECT_EQ(fix->labels().bug_introducing_commits_size(), 2);
}

// Incremental mining: the bug record is stored first, the fix arrives in a later job.
TEST_F(BugLinksTest, FixWrittenAfterItsBugRecord) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->WriteBatch({Make("r", 1), Make("r", 2)}, MakeJob("j1"), nullptr).ok());
  ASSERT_TRUE(store->WriteBatch({Make("r", 7, {1})}, MakeJob("j2"), nullptr).ok());
  EXPECT_EQ(FixedBy(*store, "r", 1), std::vector<std::string>{Hex(7)});
  EXPECT_TRUE(FixedBy(*store, "r", 2).empty());
}

// One batch holding fix and bug in either order; a repeated write (a resumed job) adds
// nothing twice; links never cross repositories.
TEST_F(BugLinksTest, SameBatchAndResumeAreExact) {
  auto store = Open();
  ASSERT_TRUE(store);
  std::vector<Record> batch = {Make("r", 8, {3}), Make("r", 3), Make("r", 2), Make("r", 6, {2})};
  ASSERT_TRUE(store->WriteBatch(batch, MakeJob("j"), nullptr).ok());
  ASSERT_TRUE(store->WriteBatch(batch, MakeJob("j"), nullptr).ok());
  ASSERT_TRUE(store->WriteBatch({Make("other", 3)}, MakeJob("k"), nullptr).ok());
  EXPECT_EQ(FixedBy(*store, "r", 3), std::vector<std::string>{Hex(8)});
  EXPECT_EQ(FixedBy(*store, "r", 2), std::vector<std::string>{Hex(6)});
  EXPECT_TRUE(FixedBy(*store, "other", 3).empty());
}

// Removing a repository removes its pending links: mined again without the fix, the bug
// record has no fixed_by.
TEST_F(BugLinksTest, RemoveRepositoryDropsLinks) {
  auto store = Open();
  ASSERT_TRUE(store);
  fixmine::v1::Repository repo;
  repo.set_name("r");
  ASSERT_TRUE(store->PutRepository(repo).ok());
  ASSERT_TRUE(store->WriteBatch({Make("r", 9, {1})}, MakeJob("j"), nullptr).ok());
  ASSERT_TRUE(store->RemoveRepository("r").ok());
  ASSERT_TRUE(store->WriteBatch({Make("r", 1)}, MakeJob("j"), nullptr).ok());
  EXPECT_TRUE(FixedBy(*store, "r", 1).empty());
}

}  // namespace
}  // namespace fixmine::storage
