// A full disk while mining (docs/reliability.md): the store's data folder is a small tmpfs that
// is filled up to a little room; the job then fails with RESOURCE_EXHAUSTED, the server keeps
// answering reads, new mining is refused with RESOURCE_EXHAUSTED, and once space is freed a
// restarted server finishes the job with every record exactly once.
//
// Mounting needs root (CI runs as root, as in its container); without it this test fails with a
// message saying so rather than passing without testing anything.
#include <gtest/gtest.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>

#include "storage/record_store.h"
#include "storage/trajectory_store.h"
#include "tests/crash/crash_util.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/jobs.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

constexpr int kCommits = 1500;

// Stops the server, then unmounts the tmpfs under its data folder.
struct MountGuard {
  testutil::TestServer* server;
  std::string dir;
  ~MountGuard() {
    server->Stop();
    testutil::RunShell("umount " + testutil::ShellQuote(dir));
  }
};

TEST(DiskFull, MiningIntoAFullDiskGivesResourceExhaustedAndReadsKeepWorking) {
  ASSERT_EQ(geteuid(), 0u) << "this test mounts a tmpfs as the data folder and needs root";
  testutil::GitRepo repo;
  crashtest::BuildHistory(repo, kCommits, /*line_bytes=*/200);  // records of about 25 KB

  testutil::TestServer server(repo.path(), {"--mine-threads", "1", "--batch-records", "8"});
  std::filesystem::create_directories(server.data_dir());
  auto m = testutil::RunShell("mount -t tmpfs -o size=256m tmpfs " +
                              testutil::ShellQuote(server.data_dir()));
  ASSERT_EQ(m.exit_code, 0) << "mount failed: " << m.err;
  MountGuard guard{&server, server.data_dir()};
  ASSERT_TRUE(server.Start());
  client::FixmineClient c(server.address(), "");
  ASSERT_TRUE(c.AddRepository(repo.path(), "big").ok());

  // Once the job has written its first batch, something else fills the disk: leave 63 MiB free,
  // below the 64 MiB the store keeps for RocksDB (docs/reliability.md).
  auto job = testutil::StartJobMidway(c, "big", 30);
  ASSERT_TRUE(job.ok()) << job.status();
  struct statvfs vfs {};
  ASSERT_EQ(statvfs(server.data_dir().c_str(), &vfs), 0);
  const long long free_bytes = static_cast<long long>(vfs.f_bavail) * vfs.f_frsize;
  const long long filler = free_bytes - (63ll << 20);
  ASSERT_GT(filler, 0);
  const std::string filler_path = server.data_dir() + "/filler";
  auto f = testutil::RunShell("fallocate -l " + std::to_string(filler) + " " +
                              testutil::ShellQuote(filler_path));
  ASSERT_EQ(f.exit_code, 0) << f.err;

  fixmine::v1::Job last;
  absl::Status watched = c.WatchJob(job->id(), [&](const fixmine::v1::Job& j) { last = j; });
  ASSERT_TRUE(watched.ok())
      << watched << "; server log:\n"
      << testutil::RunShell("tail -20 " + server.log_path()).out << "\nRocksDB log:\n"
      << testutil::RunShell("grep -v Options " + server.data_dir() + "/store/LOG | tail -30").out;
  EXPECT_EQ(last.state(), fixmine::v1::FAILED);
  EXPECT_EQ(last.error().rfind("RESOURCE_EXHAUSTED: ", 0), 0u) << last.error();
  EXPECT_LT(last.records_written(), kCommits);

  // Reads keep working, and agree with each other.
  ASSERT_TRUE(c.Health().ok());
  auto count = c.CountRecords("");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, last.records_written());
  bool ok = false;
  auto stored = testutil::AllRecords(c, &ok);
  ASSERT_TRUE(ok);
  EXPECT_EQ(static_cast<int64_t>(stored.size()), *count);
  if (!stored.empty()) {
    auto one = c.GetRecord(stored.begin()->first);
    ASSERT_TRUE(one.ok()) << one.status();
    EXPECT_EQ(one->commit(), stored.begin()->second.commit());
  }
  auto got = c.GetJob(job->id());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->state(), fixmine::v1::FAILED) << "an ended job must not read as running";

  // New mining is refused with the same code while the disk is full.
  auto again = testutil::StartJob(c, "big");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kResourceExhausted) << again.status();

  // Once space is freed, writes resume by themselves: mining again completes the repository
  // with every record once. A restart then finds the store consistent.
  std::filesystem::remove(filler_path);
  auto resumed = testutil::StartJob(c, "big");
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  ASSERT_TRUE(c.WatchJob(resumed->id(), [&](const fixmine::v1::Job& j) { last = j; }).ok());
  EXPECT_EQ(last.state(), fixmine::v1::SUCCEEDED) << last.error();
  EXPECT_GT(last.already_present(), 0);
  ASSERT_TRUE(server.Restart());
  client::FixmineClient c2(server.address(), "");
  std::string id;
  auto jobs = c2.ListJobs("big");
  ASSERT_TRUE(jobs.ok());
  for (const auto& j : *jobs) {
    if (!testutil::JobEnded(j.state())) id = j.id();  // the failed job, stored as running, resumes
  }
  if (!id.empty()) {
    ASSERT_TRUE(c2.WatchJob(id, [&](const fixmine::v1::Job& j) { last = j; }).ok());
    EXPECT_EQ(last.state(), fixmine::v1::SUCCEEDED) << last.error();
  }
  auto all = testutil::AllRecords(c2, &ok);
  ASSERT_TRUE(ok);
  EXPECT_EQ(all.size(), static_cast<size_t>(kCommits));
  EXPECT_EQ(*c2.CountRecords(""), kCommits);
}

// Trajectories are written through the same guard as records: on a nearly full disk storing
// them is refused with RESOURCE_EXHAUSTED (and never reaches RocksDB), what is stored stays
// readable, and once space is freed the write goes through.
TEST(DiskFull, TrajectoryWritesAreRefusedOnANearlyFullDiskAndResumeAfter) {
  ASSERT_EQ(geteuid(), 0u) << "this test mounts a tmpfs as the data folder and needs root";
  testutil::TempDir dir;
  const std::string mnt = dir.path() + "/mnt";
  std::filesystem::create_directories(mnt);
  auto m = testutil::RunShell("mount -t tmpfs -o size=256m tmpfs " + testutil::ShellQuote(mnt));
  ASSERT_EQ(m.exit_code, 0) << "mount failed: " << m.err;
  struct Unmount {
    std::string dir;
    ~Unmount() { testutil::RunShell("umount " + testutil::ShellQuote(dir)); }
  } unmount{mnt};
  {
    auto store = storage::RecordStore::Open(mnt + "/store");
    ASSERT_TRUE(store.ok()) << store.status();
    auto trajectories = storage::TrajectoryStore::Of(store->get());
    ASSERT_TRUE(trajectories.ok()) << trajectories.status();
    auto make = [](const std::string& id) {
      fixmine::v1::Trajectory t;
      t.set_id(id);
      t.set_repo("r");
      t.set_merge_commit(std::string(40, 'a'));
      t.mutable_merged_by()->set_time(1700000000);
      return t;
    };
    absl::Status first = (*trajectories)->Put({make("first")});
    ASSERT_TRUE(first.ok()) << first;

    struct statvfs vfs {};
    ASSERT_EQ(statvfs(mnt.c_str(), &vfs), 0);
    const long long filler = static_cast<long long>(vfs.f_bavail) * vfs.f_frsize - (63ll << 20);
    ASSERT_GT(filler, 0);
    const std::string filler_path = mnt + "/filler";
    auto f = testutil::RunShell("fallocate -l " + std::to_string(filler) + " " +
                                testutil::ShellQuote(filler_path));
    ASSERT_EQ(f.exit_code, 0) << f.err;

    absl::Status refused = (*trajectories)->Put({make("second")});
    EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
    EXPECT_NE(refused.message().find("storing trajectories"), std::string_view::npos) << refused;
    EXPECT_TRUE((*trajectories)->Get("first").ok());
    EXPECT_EQ((*trajectories)->Get("second").status().code(), absl::StatusCode::kNotFound);

    std::filesystem::remove(filler_path);
    absl::Status second = (*trajectories)->Put({make("second")});
    ASSERT_TRUE(second.ok()) << second;
    auto got = (*trajectories)->Get("second");
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->merge_commit(), std::string(40, 'a'));
  }
}

}  // namespace
}  // namespace fixmine
