// Crash safety of `repo rm` (docs/reliability.md): removing a repository deletes its records,
// index entries, counters, dedup members, bug-fix links, trajectories and GitHub data in ONE
// RocksDB batch, so a fixmined killed at any moment of the removal leaves either the whole
// repository (records and trajectories) or none of it: never records without trajectories, nor
// orphaned trajectories of a removed repository (the removal was two writes before, records
// first). fixmined is killed at the test-only crash points of RecordStore::RemoveRepository
// (storage/fault_injection.h) — between the two old halves and right after the batch — and at
// random moments during `repo rm`; after each kill the store is opened directly and checked.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "client/fixmine_client.h"
#include "fmt/format.h"
#include "storage/fault_injection.h"
#include "storage/maintenance.h"
#include "storage/record_store.h"
#include "storage/trajectory_store.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/jobs.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

constexpr int kPulls = 12;          // merged pull requests: one trajectory each
constexpr int kStepsPerPull = 3;    // commits on each pull request's branch
constexpr char kRepo[] = "merged";  // the repository's name in the store

// A history of kPulls pull requests merged with --no-ff ("Merge pull request #N"), each of
// kStepsPerPull commits, on top of a base commit.
void BuildMergedHistory(testutil::GitRepo& repo) {
  repo.Write("base.c", "int base;\n");
  repo.CommitAll("base\n");
  for (int pr = 1; pr <= kPulls; ++pr) {
    repo.Git(fmt::format("checkout -q -b topic{}", pr));
    for (int step = 0; step < kStepsPerPull; ++step) {
      repo.Write(fmt::format("f{}.c", pr), fmt::format("int f{} = {};\n", pr, step));
      repo.CommitAll(step == 1 ? fmt::format("Fix the f{} value, fixes #{}\n", pr, pr)
                               : fmt::format("topic {}: step {}\n", pr, step));
    }
    repo.Git("checkout -q main");
    repo.Git(fmt::format("merge -q --no-ff topic{} -m 'Merge pull request #{} from ada/topic{}'",
                         pr, pr, pr));
  }
}

// What the store holds of the repository.
struct Held {
  bool repository = false;
  int64_t records = 0;                // records streamed whose repo is kRepo
  int64_t counted = 0;                // its record counter
  int64_t trajectories = 0;           // trajectories whose repo is kRepo
  std::vector<std::string> problems;  // VerifyStore's
};

// Opens the stopped server's store directly and reads what it holds of kRepo.
Held ReadStore(const std::string& data_dir) {
  Held held;
  auto store = storage::RecordStore::Open(data_dir + "/store");
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return held;
  held.repository = (*store)->GetRepository(kRepo).ok();
  EXPECT_TRUE((*store)
                  ->Scan(nullptr, storage::ScanPosition(),
                         [&](const fixmine::v1::Record& r, const storage::ScanPosition&) {
                           if (r.repo() == kRepo) ++held.records;
                           return true;
                         })
                  .ok());
  auto counted = (*store)->RecordCount(kRepo);
  EXPECT_TRUE(counted.ok()) << counted.status();
  held.counted = counted.value_or(-1);
  auto trajectories = storage::TrajectoryStore::Of(store->get());
  EXPECT_TRUE(trajectories.ok()) << trajectories.status();
  if (trajectories.ok()) {
    EXPECT_TRUE((*trajectories)
                    ->Scan(nullptr, "",
                           [&](const fixmine::v1::Trajectory& t, const std::string&) {
                             if (t.repo() == kRepo) ++held.trajectories;
                             return true;
                           })
                    .ok());
  }
  auto report = storage::VerifyStore(store->get());
  EXPECT_TRUE(report.ok()) << report.status();
  if (report.ok()) held.problems = report->problems;
  return held;
}

class RemoveRepositoryCrash : public ::testing::Test {
 protected:
  void SetUp() override {
    BuildMergedHistory(repo_);
    server_ = std::make_unique<testutil::TestServer>(repo_.path());
  }

  void TearDown() override { ::unsetenv(storage::internal::kCrashPointVariable); }

  // Starts fixmined with the crash point `point` armed ("" for none).
  void StartServer(const std::string& point) {
    if (point.empty()) {
      ::unsetenv(storage::internal::kCrashPointVariable);
    } else {
      ::setenv(storage::internal::kCrashPointVariable, point.c_str(), 1);
    }
    ASSERT_TRUE(server_->Start()) << "log " << server_->log_path();
    ::unsetenv(storage::internal::kCrashPointVariable);
  }

  // Registers and mines the repository through the running server.
  void AddAndMine() {
    client::FixmineClient c(server_->address(), "");
    const fixmine::v1::Job last = testutil::MineToEnd(c, repo_.path(), kRepo);
    ASSERT_EQ(last.state(), fixmine::v1::SUCCEEDED) << last.error();
  }

  // Kills the server and checks that the store holds the whole repository (as `full_`) or none
  // of it; returns true when it holds it.
  bool ExpectAllOrNothing(const std::string& where) {
    server_->Kill();  // reaps a server that killed itself, kills one that did not
    Held held = ReadStore(server_->data_dir());
    EXPECT_TRUE(held.problems.empty()) << where << ": " << held.problems[0];
    if (held.repository) {
      EXPECT_EQ(held.records, full_.records) << where << ": records lost, trajectories kept";
      EXPECT_EQ(held.counted, full_.records) << where;
      EXPECT_EQ(held.trajectories, full_.trajectories)
          << where << ": the repository is there but some of its trajectories are not";
    } else {
      EXPECT_EQ(held.records, 0) << where << ": records of a removed repository";
      EXPECT_EQ(held.counted, 0) << where;
      EXPECT_EQ(held.trajectories, 0) << where << ": orphaned trajectories";
    }
    return held.repository;
  }

  testutil::GitRepo repo_;
  std::unique_ptr<testutil::TestServer> server_;
  Held full_;  // what a mined repository holds
};

TEST_F(RemoveRepositoryCrash, KilledAtAnyPointOfRemovalKeepsAllOrNothing) {
  StartServer("");
  AddAndMine();
  if (HasFailure()) return;
  server_->Stop();
  full_ = ReadStore(server_->data_dir());
  // The premise: the repository has records and one trajectory per merged pull request.
  ASSERT_TRUE(full_.repository);
  ASSERT_EQ(full_.trajectories, kPulls);
  ASSERT_GE(full_.records, kPulls * kStepsPerPull);

  // 1. Killed where the removal used to have written the records but not the trajectories:
  //    nothing is written yet, so everything is still there.
  StartServer(storage::internal::kCrashRemovalBetweenHalves);
  {
    client::FixmineClient c(server_->address(), "");
    EXPECT_FALSE(c.RemoveRepository(kRepo).ok()) << "the server did not reach the crash point";
  }
  EXPECT_TRUE(ExpectAllOrNothing("killed between the halves"));

  // 2. Killed right after the batch: everything is gone, trajectories included.
  StartServer(storage::internal::kCrashRemovalAfterWrite);
  {
    client::FixmineClient c(server_->address(), "");
    EXPECT_FALSE(c.RemoveRepository(kRepo).ok()) << "the server did not reach the crash point";
  }
  EXPECT_FALSE(ExpectAllOrNothing("killed after the batch"));

  // 3. Killed at random moments while `repo rm` runs, re-mining the repository after each
  //    cycle that removed it.
  const uint64_t seed = std::random_device{}();
  std::cout << "remove-repository crash seed: " << seed << std::endl;
  std::mt19937_64 rng(seed);
  bool present = false;
  for (int cycle = 0; cycle < 6; ++cycle) {
    const std::string where = fmt::format("cycle {} (seed {})", cycle, seed);
    StartServer("");
    if (!present) {
      AddAndMine();
      if (HasFailure()) return;
    }
    const auto delay = std::chrono::microseconds(rng() % 3000);
    std::thread remover([address = server_->address()] {
      client::FixmineClient c(address, "");
      (void)c.RemoveRepository(kRepo);  // fails when the kill lands first
    });
    std::this_thread::sleep_for(delay);
    server_->Kill();
    remover.join();
    present = ExpectAllOrNothing(where);
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace fixmine
