// An I/O error from the data disk while mining (docs/reliability.md, "Disk I/O errors"): the
// store's files are written through a fault-injecting RocksDB FileSystem (the test-only
// FIXMINE_TEST_EIO_SWITCH hook, storage/fault_injection.h) that fails every write with EIO once
// a switch file exists, as a disk does after a filesystem shutdown. The write fails, the store
// is fenced (later writes are refused with a status that names the error and what to do), the
// server keeps answering reads and health (which reports the fence), SIGTERM ends it cleanly,
// and after the disk is "fixed" a restarted server finishes the job with every record once.
// Before, RocksDB 7.8 aborted the server on its `sync_without_flush_called_` assertion when its
// info log (on the same disk) was written after a failed write (docs/reliability.md).
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "tests/crash/crash_util.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/jobs.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

constexpr int kSmallCommits = 40;
constexpr int kBigCommits = 600;

// Sets an environment variable for the servers this test starts; unsets it at the end.
struct ScopedEnv {
  ScopedEnv(const char* name, const std::string& value) : name(name) {
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { unsetenv(name); }
  const char* name;
};

// `mode`: what the switch file says ("all": every write call fails; "sync": only syncs do).
void FailTheDiskWhileMining(const std::string& mode) {
  testutil::TempDir dir;
  testutil::GitRepo small;
  crashtest::BuildHistory(small, kSmallCommits);
  testutil::GitRepo big;
  crashtest::BuildHistory(big, kBigCommits, /*line_bytes=*/200);
  const std::string parent = std::filesystem::path(small.path()).parent_path().string();
  ASSERT_EQ(parent, std::filesystem::path(big.path()).parent_path().string());
  const std::string switch_path = dir.path() + "/disk-fails";
  ScopedEnv env("FIXMINE_TEST_EIO_SWITCH", switch_path);

  testutil::TestServer server(parent, {"--mine-threads", "1", "--batch-records", "8"});
  ASSERT_TRUE(server.Start());
  client::FixmineClient c(server.address(), "");
  ASSERT_EQ(
      server.Cli("repo add " + testutil::ShellQuote(small.path()) + " --name small").exit_code, 0);
  auto mined = server.Cli("mine small --wait");
  ASSERT_EQ(mined.exit_code, 0) << mined.err;
  ASSERT_TRUE(c.AddRepository(big.path(), "big").ok());

  auto job = testutil::StartJobMidway(c, "big", 30);
  ASSERT_TRUE(job.ok()) << job.status();
  { std::ofstream(switch_path) << mode << "\n"; }  // the disk fails from now on

  fixmine::v1::Job last;
  absl::Status watched = c.WatchJob(job->id(), [&](const fixmine::v1::Job& j) { last = j; });
  ASSERT_TRUE(watched.ok()) << watched << "; server log:\n"
                            << testutil::RunShell("tail -30 " + server.log_path()).out;
  EXPECT_EQ(last.state(), fixmine::v1::FAILED);
  EXPECT_TRUE(absl::StrContains(last.error(), "I/O error")) << last.error();
  EXPECT_LT(last.records_written(), kBigCommits);
  ASSERT_EQ(kill(server.pid(), 0), 0) << "fixmined died; log:\n"
                                      << testutil::RunShell("tail -30 " + server.log_path()).out;

  // Reads go on: the small repository's records, by count, stream and id.
  auto count = c.CountRecords("repo = small");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, kSmallCommits);
  bool ok = false;
  auto stored = testutil::AllRecords(c, &ok);
  ASSERT_TRUE(ok);
  EXPECT_GE(static_cast<int>(stored.size()), kSmallCommits);
  auto one = c.GetRecord(stored.begin()->first);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->commit(), stored.begin()->second.commit());

  // Health answers and reports the fence, saying what to do.
  auto health = server.Cli("health");
  EXPECT_EQ(health.exit_code, 1) << health.out << health.err;
  EXPECT_TRUE(absl::StrContains(health.out + health.err, "writes refused"))
      << health.out << health.err;
  EXPECT_TRUE(absl::StrContains(health.out + health.err, "db verify")) << health.out << health.err;
  EXPECT_TRUE(c.Health().ok()) << "the gRPC health check of the server itself stays SERVING";

  // Further writes are refused with a status naming the error and the operator's steps.
  auto again = testutil::StartJob(c, "big");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition) << again.status();
  EXPECT_TRUE(absl::StrContains(std::string(again.status().message()), "I/O error"))
      << again.status();
  EXPECT_TRUE(absl::StrContains(std::string(again.status().message()), "db verify"))
      << again.status();
  auto add = server.Cli("repo add " + testutil::ShellQuote(small.path()) + " --name other");
  EXPECT_NE(add.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(add.err, "fix the disk")) << add.err;

  // SIGTERM ends it cleanly (no abort in RocksDB's shutdown either).
  EXPECT_EQ(server.Stop(), 0) << testutil::RunShell("tail -30 " + server.log_path()).out;

  // The disk is fixed: a restarted server resumes the job and every record is there once.
  std::filesystem::remove(switch_path);
  ASSERT_TRUE(server.Start()) << testutil::RunShell("tail -30 " + server.log_path()).out;
  client::FixmineClient c2(server.address(), "");
  auto verify = server.Cli("db verify");
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  // The job's final state could not be stored either: it is still RUNNING there and resumes.
  auto jobs = c2.ListJobs("big");
  ASSERT_TRUE(jobs.ok());
  std::string resumed;
  for (const auto& j : *jobs) {
    if (!testutil::JobEnded(j.state())) resumed = j.id();
  }
  ASSERT_EQ(resumed, job->id());
  ASSERT_TRUE(c2.WatchJob(resumed, [&](const fixmine::v1::Job& x) { last = x; }).ok());
  EXPECT_EQ(last.state(), fixmine::v1::SUCCEEDED) << last.error();
  auto all = testutil::AllRecords(c2, &ok);
  ASSERT_TRUE(ok);
  EXPECT_EQ(all.size(), static_cast<size_t>(kSmallCommits + kBigCommits));
  EXPECT_EQ(*c2.CountRecords(""), kSmallCommits + kBigCommits);
}

// Every write call fails (the filesystem shut down): the WAL append fails first.
TEST(Eio, AWriteErrorFencesTheStoreAndTheServerKeepsAnsweringReadsAndHealth) {
  FailTheDiskWhileMining("all");
}

// Appends reach the page cache but fsync fails (the device lost the pages): the WAL sync fails
// first.
TEST(Eio, ASyncErrorFencesTheStoreAndTheServerKeepsAnsweringReadsAndHealth) {
  FailTheDiskWhileMining("sync");
}

}  // namespace
}  // namespace fixmine
