// Faults that must stay inside their own job or be refused at start (docs/reliability.md):
// a job stuck in libgit2 does not hold SIGTERM and is not resumed forever; a clone killed
// mid-way leaves nothing behind; a damaged MANIFEST stops the start; `repo rm` racing `mine`
// loses nothing; a stale port file is not read as the new port.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "absl/strings/match.h"
#include "client/fixmine_client.h"
#include "fmt/format.h"
#include "storage/manifest_guard.h"
#include "tests/hostile/hostile_util.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/test_server.h"

namespace fixmine::hostile {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Sends SIGTERM and returns the seconds until the process exited (bounded: 60 s, then -1).
double SecondsToStop(testutil::TestServer& server) {
  auto start = Clock::now();
  int rc = server.Stop();
  if (rc < 0) return -1;
  return std::chrono::duration<double>(Clock::now() - start).count();
}

TEST(Faults, StuckJobDoesNotHoldSigtermAndIsNotResumedForever) {
  testutil::GitRepo repo;
  TruncatedObjectRepo(repo);
  testutil::TestServer server(repo.path(),
                              {"--mine-threads", "1", "--trajectories", "off", "--szz", "off"});
  ASSERT_TRUE(server.Start());
  std::string id;
  {
    client::FixmineClient c(server.address(), "");
    ASSERT_TRUE(c.AddRepository(repo.path(), "r").ok());
    id = StartHangingJob(c);
    ASSERT_FALSE(id.empty());
  }
  // Stuck twice: each SIGTERM still ends the process within the 2 s bound (plus scheduling;
  // times kSlowdown in a sanitizer build, which CI runs on a loaded machine).
  for (int round = 1; round <= 2; ++round) {
    double seconds = SecondsToStop(server);
    EXPECT_GE(seconds, 0) << "round " << round << ": fixmined did not exit in 60 s";
    EXPECT_LT(seconds, 4.0 * testutil::kSlowdown) << "round " << round;
    ASSERT_TRUE(server.Start());
    client::FixmineClient c(server.address(), "");
    auto j = c.GetJob(id);
    ASSERT_TRUE(j.ok()) << j.status();
    if (round == 1) {
      // Resumed once (it may be a transient stall), and stuck again.
      EXPECT_EQ(j->stuck_stops(), 1);
      ASSERT_TRUE(testutil::WaitRunning(c, id));
    } else {
      EXPECT_EQ(j->state(), fixmine::v1::FAILED);
      EXPECT_EQ(j->stuck_stops(), 2);
      EXPECT_TRUE(absl::StrContains(j->error(), "not resumed automatically")) << j->error();
    }
  }
  // The server still serves, and stops at once now that nothing is stuck.
  client::FixmineClient c(server.address(), "");
  EXPECT_TRUE(c.Health().ok());
  double seconds = SecondsToStop(server);
  EXPECT_GE(seconds, 0);
  EXPECT_LT(seconds, 4.0 * testutil::kSlowdown);
}

TEST(Faults, InterruptedCloneFoldersAreRemovedAtStart) {
  testutil::TempDir root;
  testutil::TestServer server(root.path());
  ASSERT_TRUE(server.Start());
  ASSERT_GE(server.Stop(), 0);
  // What a SIGKILL during CloneMirror leaves: a private temporary sibling of the mirror.
  const fs::path mirrors = fs::path(server.data_dir()) / "mirrors";
  const fs::path leftover = mirrors / "proj.git.tmp-4242-123456";
  fs::create_directories(leftover / "objects" / "pack");
  WriteFile((leftover / "objects" / "pack" / "pack-1.pack").string(), std::string(4096, 'x'));
  const fs::path mirror = mirrors / "kept.git";
  fs::create_directories(mirror);
  ASSERT_TRUE(server.Start());
  EXPECT_FALSE(fs::exists(leftover));
  EXPECT_TRUE(fs::exists(mirror)) << "a finished mirror must be kept";
}

TEST(Faults, TruncatedManifestRefusesToStart) {
  testutil::GitRepo repo;
  for (int i = 0; i < 5; ++i) {
    repo.Write(fmt::format("f{}.c", i), fmt::format("int f{}() {{ return {}; }}\n", i, i));
    repo.CommitAll(fmt::format("fix: commit {}", i));
  }
  testutil::TestServer server(repo.path());
  ASSERT_TRUE(server.Start());
  {
    client::FixmineClient c(server.address(), "");
    ASSERT_EQ(MineToEnd(c, repo.path(), "r").state(), fixmine::v1::SUCCEEDED);
    ASSERT_TRUE(c.CompactStore().ok());  // the MANIFEST then lists flushed and compacted files
  }
  ASSERT_EQ(server.Stop(), 0);
  const fs::path store = fs::path(server.data_dir()) / "store";
  std::string current = ReadFile((store / "CURRENT").string());
  while (!current.empty() && current.back() == '\n') current.pop_back();
  const fs::path manifest = store / current;
  const auto size = fs::file_size(manifest);
  ASSERT_GT(size, 100u);
  fs::resize_file(manifest, size / 2);

  // fixmined refuses the store, says why and what to do, and leaves it as it was.
  auto r =
      RunShell(fmt::format("{} --listen 127.0.0.1:0 --data-dir {}",
                           ShellQuote(testutil::FixmindPath()), ShellQuote(server.data_dir())));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, current)) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "db restore")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "--accept-damaged-store")) << r.err;
  EXPECT_EQ(fs::file_size(manifest), size / 2) << "the refused store was modified";
  EXPECT_TRUE(storage::CheckManifestState(store.string()).code() == absl::StatusCode::kDataLoss);
}

TEST(Faults, ManifestGuardAcceptsAHealthyStoreAcrossRestarts) {
  testutil::GitRepo repo;
  repo.Write("a.c", "int a;\n");
  repo.CommitAll("one");
  testutil::TestServer server(repo.path());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(server.Start()) << "start " << i;
    client::FixmineClient c(server.address(), "");
    if (i == 0) {
      ASSERT_TRUE(c.AddRepository(repo.path(), "r").ok());
    }
    ASSERT_TRUE(c.CompactStore().ok());
    ASSERT_EQ(server.Stop(), 0);
  }
  // A SIGKILL between flushes keeps the store openable too.
  ASSERT_TRUE(server.Start());
  server.Kill();
  ASSERT_TRUE(server.Start());
  client::FixmineClient c(server.address(), "");
  EXPECT_TRUE(c.GetRepository("r").ok());
}

TEST(Faults, RemoveRacingMineNeverLeavesARepositoryWithoutItsRecords) {
  testutil::GitRepo repo;
  for (int i = 0; i < 30; ++i) {
    repo.Write(fmt::format("src/f{}.c", i % 5), fmt::format("int v = {};\n", i));
    repo.CommitAll(fmt::format("fix: change {}", i));
  }
  testutil::TestServer server(repo.path(), {"--trajectories", "off", "--szz", "off"});
  ASSERT_TRUE(server.Start());
  client::FixmineClient c(server.address(), "");
  for (int round = 0; round < 6; ++round) {
    ASSERT_TRUE(JobEnded(MineToEnd(c, repo.path(), "r").state())) << "round " << round;
    // Now `mine` (with its watermark) and `repo rm` at once, from two threads.
    std::string second_id;
    std::thread miner([&] {
      client::FixmineClient m(server.address(), "");
      auto j = testutil::StartJob(m, "r");
      if (j.ok()) second_id = j->id();
    });
    std::this_thread::sleep_for(std::chrono::microseconds((round % 3) * 300));
    auto removed = c.RemoveRepository("r");
    miner.join();
    if (!second_id.empty()) {
      testutil::WatchToEnd(c, second_id);
    }
    if (!removed.ok()) {
      // Refused because the job held the repository: it must still be whole.
      EXPECT_EQ(removed.status().code(), absl::StatusCode::kFailedPrecondition) << removed.status();
      ASSERT_TRUE(c.RemoveRepository("r").ok());
    }
    // Removed: gone for good, with its records; no job wrote it back.
    auto repos = c.ListRepositories();
    ASSERT_TRUE(repos.ok());
    EXPECT_TRUE(repos->empty()) << "round " << round << ": the repository came back";
    auto n = c.CountRecords("");
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 0) << "round " << round;
  }
}

TEST(Faults, StalePortFileIsRemovedAtStart) {
  testutil::TempDir dir;
  const std::string port_file = dir.path() + "/port";
  WriteFile(port_file, "1\n");
  // A start that cannot listen must not leave the old port for a script to read.
  auto r = RunShell(fmt::format("{} --listen 256.0.0.1:0 --data-dir {} --port-file {}",
                                ShellQuote(testutil::FixmindPath()), ShellQuote(dir.path() + "/d"),
                                ShellQuote(port_file)));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(fs::exists(port_file)) << "the stale port file survived the start";
}

}  // namespace
}  // namespace fixmine::hostile
