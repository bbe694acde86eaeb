// `fixmine db backup|verify|compact|restore` against the real fixmined: a backup taken while a
// job mines restores into a store that opens, verifies, streams, and finishes the job.
#include <gtest/gtest.h>

#include <filesystem>

#include "client/fixmine_client.h"
#include "fmt/format.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/jobs.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

namespace fs = std::filesystem;
using testutil::CommandResult;
using testutil::ShellQuote;

TEST(Backup, BackupDuringMiningRestoresToAStoreThatOpensStreamsAndFinishesTheJob) {
  // Large enough that the job is still mining when the backup (of a small store) has ended.
  const int kCommits = 3000;
  testutil::HistoryServer h(kCommits, "fix: ");
  ASSERT_TRUE(h.Start());
  testutil::TestServer& server = h.server();
  testutil::TempDir backups;
  const std::string backup_dir = backups.path() + "/b1";
  bool during_job = false;
  {
    client::FixmineClient c(server.address(), "");
    auto job = testutil::StartJobMidway(c, "big");  // once a first batch is written
    ASSERT_TRUE(job.ok()) << job.status();
    CommandResult b = server.Cli("db backup " + ShellQuote(backup_dir));
    ASSERT_EQ(b.exit_code, 0) << b.err;
    EXPECT_NE(b.out.find("backup " + backup_dir), std::string::npos) << b.out;
    auto j = c.GetJob(job->id());
    ASSERT_TRUE(j.ok());
    during_job = !testutil::JobEnded(j->state());
    // The test's premise: the backup was taken while the job was writing.
    ASSERT_TRUE(during_job) << "the job ended before the backup did; the test needs more commits";
    // The live server finishes its job; the live store verifies clean.
    fixmine::v1::Job last = testutil::WatchToEnd(c, job->id());
    ASSERT_EQ(last.state(), fixmine::v1::SUCCEEDED) << last.error();
    CommandResult v = server.Cli("db verify");
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
    EXPECT_NE(v.out.find(fmt::format("records:       {}", kCommits)), std::string::npos) << v.out;
    CommandResult compact = server.Cli("db compact");
    EXPECT_EQ(compact.exit_code, 0) << compact.err;
    // Backups refuse an existing folder and a relative one.
    CommandResult again = server.Cli("db backup " + ShellQuote(backup_dir));
    EXPECT_EQ(again.exit_code, 2) << again.err;
    EXPECT_NE(again.err.find("exists"), std::string::npos) << again.err;
    CommandResult relative = server.Cli("db backup relative/dir");
    EXPECT_EQ(relative.exit_code, 2) << relative.err;
    EXPECT_NE(relative.err.find("absolute"), std::string::npos) << relative.err;
  }
  // Restore refuses while the server holds the store, and a non-empty target without --force.
  CommandResult busy =
      testutil::RunCli(fmt::format("db restore {} --data-dir {} --force", ShellQuote(backup_dir),
                                   ShellQuote(server.data_dir())));
  EXPECT_EQ(busy.exit_code, 1) << busy.err;
  EXPECT_NE(busy.err.find("stop fixmined first"), std::string::npos) << busy.err;
  ASSERT_EQ(server.Stop(), 0);
  CommandResult no_force = testutil::RunCli(fmt::format(
      "db restore {} --data-dir {}", ShellQuote(backup_dir), ShellQuote(server.data_dir())));
  EXPECT_EQ(no_force.exit_code, 2) << no_force.err;
  EXPECT_NE(no_force.err.find("--force"), std::string::npos) << no_force.err;
  CommandResult restored =
      testutil::RunCli(fmt::format("db restore {} --data-dir {} --force", ShellQuote(backup_dir),
                                   ShellQuote(server.data_dir())));
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_NE(restored.out.find("restored "), std::string::npos) << restored.out;

  // The restored store opens, verifies clean and streams what it holds.
  ASSERT_TRUE(server.Start());
  client::FixmineClient c(server.address(), "");
  auto count = c.CountRecords("");
  ASSERT_TRUE(count.ok()) << count.status();
  // Each record once (AllRecords checks); the stream may see records of the resumed job written
  // after the count, never fewer.
  EXPECT_GE(static_cast<int64_t>(testutil::AllRecords(c).size()), *count);
  // A job that was mid-way in the backup resumes and completes it: every commit once.
  auto jobs = c.ListJobs("big");
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  fixmine::v1::Job last = testutil::WatchToEnd(c, (*jobs)[0].id());
  EXPECT_EQ(last.state(), fixmine::v1::SUCCEEDED) << last.error();
  EXPECT_EQ(*c.CountRecords(""), kCommits);
  CommandResult v = server.Cli("db verify --output json");
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

}  // namespace
}  // namespace fixmine
