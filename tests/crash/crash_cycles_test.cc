// Crash safety (docs/reliability.md): fixmined is killed with SIGKILL at random moments while a
// mining job runs, and restarted. After every restart the store opens, the job is still there
// and not failed, no record is lost or doubled, and every stored record equals the record a
// clean, uninterrupted run stores under the same id. At the end the job finishes and the store
// equals the clean run's exactly.
//
// FIXMINE_CRASH_CYCLES sets the number of kills (default 10, what ctest runs);
// FIXMINE_CRASH_SEED replays a run (the seed is printed first). tests/crash/crash_cycles.sh
// wraps both.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <thread>

#include "google/protobuf/util/message_differencer.h"
#include "tests/crash/crash_util.h"
#include "tests/testutil/jobs.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

using google::protobuf::util::MessageDifferencer;

constexpr char kBatch[] = "16";  // records per atomic batch: many commit points per run
// The job's pause after each batch (server/job_runner.cc, test-only): 75 batches of the
// 1200-commit history take at least 3 s.
constexpr char kFlushPauseVariable[] = "FIXMINE_TEST_FLUSH_PAUSE_MS";
constexpr char kFlushPauseMs[] = "40";

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::atoi(v) : fallback;
}

// Mines the repository once without interruption; returns its records.
std::map<std::string, fixmine::v1::Record> CleanRun(const std::string& repo_path) {
  testutil::TestServer server(repo_path, {"--mine-threads", "1", "--batch-records", kBatch});
  EXPECT_TRUE(server.Start());
  client::FixmineClient c(server.address(), "");
  fixmine::v1::Job last = testutil::MineToEnd(c, repo_path, "big");
  EXPECT_EQ(last.state(), fixmine::v1::SUCCEEDED) << last.error();
  bool ok = false;
  return testutil::AllRecords(c, &ok);
}

// Fails the test when `got` holds a record that differs from the clean run's (a lost record is
// checked by the caller through the counts).
void ExpectSubsetOfClean(const std::map<std::string, fixmine::v1::Record>& got,
                         const std::map<std::string, fixmine::v1::Record>& clean,
                         const std::string& where) {
  for (const auto& [id, rec] : got) {
    auto it = clean.find(id);
    if (it == clean.end()) {
      ADD_FAILURE() << where << ": record " << id << " (commit " << rec.commit()
                    << ") is not in the clean run";
      continue;
    }
    std::string diff;
    MessageDifferencer d;
    d.ReportDifferencesToString(&diff);
    if (!d.Compare(it->second, rec)) {
      ADD_FAILURE() << where << ": record " << id << " differs from the clean run:\n" << diff;
      return;  // one full report is enough
    }
  }
}

TEST(CrashCycles, SigkillAtRandomMomentsLosesAndDuplicatesNothing) {
  const int cycles = std::max(1, EnvInt("FIXMINE_CRASH_CYCLES", 10));
  const uint64_t seed = std::getenv("FIXMINE_CRASH_SEED") != nullptr
                            ? std::strtoull(std::getenv("FIXMINE_CRASH_SEED"), nullptr, 10)
                            : std::random_device{}();
  std::cout << "crash cycles: " << cycles << ", seed: " << seed
            << " (replay with FIXMINE_CRASH_SEED=" << seed << ")" << std::endl;
  RecordProperty("crash_seed", std::to_string(seed));
  // Longer runs mine a longer history, so that the job still runs for most kills (each cycle's
  // checks take a while, and the resumed job mines meanwhile).
  const int kCommits = std::max(1200, 60 * cycles);
  std::mt19937_64 rng(seed);

  testutil::GitRepo repo;
  crashtest::BuildHistory(repo, kCommits);
  const auto clean = CleanRun(repo.path());
  ASSERT_EQ(clean.size(), static_cast<size_t>(kCommits));

  // The job pauses after each batch it writes (test-only), so that it runs for several seconds
  // however fast this machine mines: the checks of each cycle take a while, and the resumed job
  // mines meanwhile; without the pause a fast machine finished the job before most kills.
  ::setenv(kFlushPauseVariable, kFlushPauseMs, 1);
  struct Unset {
    ~Unset() { ::unsetenv(kFlushPauseVariable); }
  } unset;
  testutil::TestServer server(repo.path(), {"--mine-threads", "1", "--batch-records", kBatch});
  ASSERT_TRUE(server.Start());
  std::string job_id;
  {
    client::FixmineClient c(server.address(), "");
    auto job = testutil::AddAndStartJob(c, repo.path(), "big");
    ASSERT_TRUE(job.ok()) << job.status();
    job_id = job->id();
  }

  size_t previous = 0;
  int killed_running = 0;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    const std::string where =
        "cycle " + std::to_string(cycle) + " (seed " + std::to_string(seed) + ")";
    {
      client::FixmineClient c(server.address(), "");
      // The kill moment: one time in four a random delay after the (re)start, so kills land
      // while the job is being resumed; otherwise once the job has written past a random point
      // of its share of what is left of the history, plus a random delay of up to 20 ms.
      bool running = false;
      if (rng() % 4 == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 150));
        auto j = c.GetJob(job_id);
        running = j.ok() && !testutil::JobEnded(j->state());
      } else {
        auto progress = c.GetJob(job_id);
        ASSERT_TRUE(progress.ok()) << where << ": " << progress.status();
        const int64_t done = progress->records_written();
        const int64_t share = std::max<int64_t>(0, kCommits - done) / (cycles - cycle + 1);
        const int64_t target = done + static_cast<int64_t>(rng() % (share + 1));
        auto j = testutil::WaitForJob(
            c, job_id, [&](const fixmine::v1::Job& x) { return x.records_written() >= target; },
            60);
        ASSERT_TRUE(j.ok()) << where << ": " << j.status();
        running = !testutil::JobEnded(j->state());
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 20000));
      }
      if (running) ++killed_running;
    }
    server.Kill();
    ASSERT_TRUE(server.Start()) << where << ": the store did not open after SIGKILL; log "
                                << server.log_path();

    client::FixmineClient c(server.address(), "");
    auto jobs = c.ListJobs("big");
    ASSERT_TRUE(jobs.ok()) << where << ": " << jobs.status();
    ASSERT_EQ(jobs->size(), 1u) << where;
    EXPECT_EQ((*jobs)[0].id(), job_id) << where;
    const auto state = (*jobs)[0].state();
    EXPECT_TRUE(state == fixmine::v1::QUEUED || state == fixmine::v1::RUNNING ||
                state == fixmine::v1::SUCCEEDED)
        << where << ": job is " << fixmine::v1::JobState_Name(state) << ": " << (*jobs)[0].error();

    // The resumed job keeps writing while this reads, so the counter is read before and after
    // the stream: a record counted twice (or an uncounted one) breaks the bracket.
    auto before = c.CountRecords("");
    ASSERT_TRUE(before.ok()) << where << ": " << before.status();
    bool ok = false;
    const auto now = testutil::AllRecords(c, &ok);
    ASSERT_TRUE(ok) << where;
    auto after = c.CountRecords("");
    ASSERT_TRUE(after.ok()) << where << ": " << after.status();
    EXPECT_LE(*before, static_cast<int64_t>(now.size()))
        << where << ": the record counter is ahead of the records (counted twice)";
    EXPECT_GE(*after, static_cast<int64_t>(now.size()))
        << where << ": the record counter is behind the records";
    EXPECT_GE(now.size(), previous) << where << ": records were lost";
    ExpectSubsetOfClean(now, clean, where);
    if (HasFailure()) return;
    previous = now.size();
  }

  client::FixmineClient c(server.address(), "");
  fixmine::v1::Job last;
  ASSERT_TRUE(c.WatchJob(job_id, [&](const fixmine::v1::Job& j) { last = j; }).ok());
  EXPECT_EQ(last.state(), fixmine::v1::SUCCEEDED) << last.error();
  bool ok = false;
  const auto final_records = testutil::AllRecords(c, &ok);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*c.CountRecords(""), kCommits);
  ASSERT_EQ(final_records.size(), clean.size()) << "records lost (seed " << seed << ")";
  ExpectSubsetOfClean(final_records, clean, "end");
  std::cout << "kills while the job was running: " << killed_running << " of " << cycles
            << "; records lost: " << (clean.size() - final_records.size())
            << ", duplicated: 0 (checked per cycle); attempts: " << last.attempts() << std::endl;
  // Kills must mostly hit a running job, or the test proved little.
  EXPECT_GE(killed_running * 4, cycles) << "seed " << seed;
}

}  // namespace
}  // namespace fixmine
