// The trajectory work of the one mining sequence (pipeline/mine_repository.cc) and of the
// pre-pass (miner/trajectory.cc) that runs on several threads: what the threads find is what one
// thread finds, and a one-step trajectory whose files are taken from its step record during the
// walk has the files a rendering of its diff gives.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "miner/git_handles.h"
#include "miner/trajectory.h"
#include "pipeline/mine_repository.h"
#include "tests/testutil/git_repo.h"

namespace fixmine::pipeline {
namespace {

using fixmine::v1::Record;
using fixmine::v1::Trajectory;
using testutil::GitRepo;

// Eight pull requests merged with --no-ff: branches of 1, 2 and 3 commits, some while the
// mainline moved on (the merge base stays the fork point); of the one-commit ones, one is a
// rename with an edit and one deletes a file.
void BuildHistory(GitRepo& repo) {
  repo.Write("core.c", "int core(void) { return 0; }\n");
  repo.Write("old.txt", "to be removed\n");
  repo.CommitAll("base\n");
  for (int i = 0; i < 8; ++i) {
    const std::string branch = fmt::format("pr{}", i);
    repo.Git("checkout -q -b " + branch);
    const int steps = 1 + i % 3;
    for (int s = 0; s < steps; ++s) {
      if (i == 3) {
        repo.Git("mv core.c core_v2.c");
        repo.Write("core_v2.c", "int core(void) { return 4; }\n");
      } else if (i == 6) {
        repo.Remove("old.txt");
      } else {
        repo.Write(fmt::format("f{}.c", i), fmt::format("int f{}(void) {{ return {}; }}\n", i, s));
      }
      repo.CommitAll(fmt::format("{}: step {}\n{}", branch, s, s == 0 ? "\nFixes #1.\n" : ""));
    }
    repo.Git("checkout -q main");
    if (i % 2 == 1) {
      repo.Write("main.txt", fmt::format("mainline {}\n", i));
      repo.CommitAll(fmt::format("main moves on {}\n", i));
    }
    repo.Git(fmt::format("merge -q --no-ff {} -m 'Merge pull request #{} from ada/{}' -m 'PR {}'",
                         branch, 10 + i, branch, i));
  }
  // pr8 merges the mainline into itself halfway: its range has two parents outside it (the fork
  // point and the mainline commit merged in), and the merge base is the later one.
  repo.Git("checkout -q -b pr8");
  repo.Write("g.c", "int g(void) { return 0; }\n");
  repo.CommitAll("pr8: step 0\n\nFixes #1.\n");
  repo.Git("checkout -q main");
  repo.Write("main.txt", "mainline 8\n");
  repo.CommitAll("main moves on 8\n");
  repo.Git("checkout -q pr8");
  repo.Git("merge -q --no-ff main -m 'Merge branch main into pr8'");
  repo.Write("g.c", "int g(void) { return 1; }\n");
  repo.CommitAll("pr8: step 1\n");
  repo.Git("checkout -q main");
  repo.Git("merge -q --no-ff pr8 -m 'Merge pull request #18 from ada/pr8' -m 'PR 8'");
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string Serialized(const miner::TrajectorySet& set) {
  std::string out;
  for (const Trajectory& t : set.trajectories) {
    out += t.SerializeAsString();
    out += "\n--\n";
  }
  std::map<std::string, std::string> steps;
  for (const auto& [commit, step] : set.steps) {
    steps[commit] = fmt::format("{}:{}", step.trajectory_id, step.step);
  }
  for (const auto& [commit, step] : steps) out += fmt::format("{}={}\n", commit, step);
  return out;
}

TEST(TrajectoryPipeline, PrePassOnSeveralThreadsFindsWhatOneThreadFinds) {
  GitRepo repo;
  BuildHistory(repo);
  miner::RecordOptions ro;
  ro.repo_name = "traj";
  std::string one_thread;
  for (int workers : {1, 3, 8}) {
    miner::WalkOptions wo;
    wo.workers = workers;
    miner::TrajectorySet set;
    miner::TrajectoryStats stats;
    absl::Status st =
        miner::FindTrajectories(repo.path(), wo, ro, /*with_files=*/true, &set, &stats);
    ASSERT_TRUE(st.ok()) << st;
    // pr8's back-merge is a merge too; its branch (the mainline commit) has no steps off the
    // mainline, so it makes no trajectory.
    ASSERT_EQ(set.trajectories.size(), 9u);
    EXPECT_EQ(stats.merges, 10);
    EXPECT_EQ(set.steps.size(), 1u + 2u + 3u + 1u + 2u + 3u + 1u + 2u + 2u);
    // The base is git's merge base of the merge's parents, whether found from the range's
    // single outside parent or, for pr8, by a merge-base walk.
    for (const Trajectory& t : set.trajectories) {
      const std::string m = t.merge_commit();
      EXPECT_EQ(t.base_commit(),
                Trim(repo.Git(fmt::format("merge-base {}^1 {}^{}", m, m, t.parent_index()))))
          << t.title();
    }
    if (workers == 1) {
      one_thread = Serialized(set);
    } else {
      EXPECT_EQ(Serialized(set), one_thread) << workers << " threads";
    }
  }
}

// Keeps what MineRepository hands over, and whether each trajectory came before the "diffs"
// phase (taken from its step record during the walk) or after (rendered).
class CollectSink : public MiningSink {
 public:
  absl::Status Put(Record&& record, std::string&&, const miner::WalkStats&) override {
    records[record.commit()] = std::move(record);
    return absl::OkStatus();
  }
  absl::Status FlushRecords(const miner::WalkStats&) override { return absl::OkStatus(); }
  void Phase(std::string_view name, int64_t) override {
    if (name == "diffs") in_diffs = true;
  }
  absl::Status PutTrajectories(std::vector<Trajectory>* group) override {
    for (Trajectory& t : *group) {
      (in_diffs ? rendered : from_walk).push_back(t.id());
      trajectories.push_back(std::move(t));
    }
    return absl::OkStatus();
  }
  std::map<std::string, Record> records;
  std::vector<Trajectory> trajectories;
  std::vector<std::string> from_walk, rendered;
  bool in_diffs = false;
};

TEST(TrajectoryPipeline, OneStepTrajectoriesTakeTheirStepRecordsFilesAsARenderingWould) {
  GitRepo repo;
  BuildHistory(repo);
  MiningSpec spec;
  spec.path = repo.path();
  spec.record.repo_name = "traj";
  spec.trajectories = true;
  spec.walk.workers = 2;
  CollectSink sink;
  MiningResult result;
  absl::Status st = MineRepository(spec, &sink, &result);
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_EQ(sink.trajectories.size(), 9u);
  EXPECT_EQ(result.trajectories, 9);
  // pr0, pr3 and pr6 have one step: taken from the walk; the others are rendered after it.
  EXPECT_EQ(sink.from_walk.size(), 3u);
  EXPECT_EQ(sink.rendered.size(), 6u);
  EXPECT_EQ(result.trajectories_by_steps[1], 3);

  miner::RepoPtr git_repo;
  ASSERT_TRUE(miner::OpenRepository(repo.path(), &git_repo).ok());
  miner::RecordOptions ro = spec.record;
  for (const Trajectory& got : sink.trajectories) {
    ASSERT_GT(got.files_size(), 0) << got.id();
    Trajectory again = got;
    again.clear_files();
    again.clear_shed();
    ASSERT_TRUE(miner::FillTrajectoryFiles(git_repo.get(), ro, &again).ok());
    EXPECT_EQ(again.SerializeAsString(), got.SerializeAsString()) << got.id();
    // any_fix: every branch's first step says "Fixes #1."
    EXPECT_TRUE(got.any_fix()) << got.id();
    ASSERT_EQ(sink.records.count(got.step_commits(0)), 1u);
  }
}

// A one-step trajectory whose step record lost part of its patch to the record's byte budget
// does not take the record's files: it is rendered after the walk, within its own budget.
TEST(TrajectoryPipeline, OneStepTrajectoryOfAShedRecordIsRendered) {
  GitRepo repo;
  repo.Write("a.c", "int a;\n");
  repo.CommitAll("base\n");
  repo.Git("checkout -q -b big");
  std::string big;
  for (int i = 0; i < 400; ++i) big += fmt::format("int value_{} = {};\n", i, i * 7);
  repo.Write("big.c", big);
  repo.CommitAll("big: add a table\n");
  repo.Git("checkout -q main");
  repo.Git("merge -q --no-ff big -m 'Merge pull request #5 from ada/big' -m 'A table'");
  MiningSpec spec;
  spec.path = repo.path();
  spec.record.repo_name = "traj";
  spec.record.max_record_bytes = 4096;
  spec.trajectories = true;
  CollectSink sink;
  MiningResult result;
  absl::Status st = MineRepository(spec, &sink, &result);
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_EQ(sink.trajectories.size(), 1u);
  EXPECT_TRUE(sink.from_walk.empty());
  EXPECT_EQ(sink.rendered.size(), 1u);
  const Trajectory& got = sink.trajectories[0];
  EXPECT_EQ(got.step_count(), 1);
  EXPECT_LE(got.ByteSizeLong(), 4096u);
  miner::RepoPtr git_repo;
  ASSERT_TRUE(miner::OpenRepository(repo.path(), &git_repo).ok());
  Trajectory again = got;
  again.clear_files();
  again.clear_shed();
  ASSERT_TRUE(miner::FillTrajectoryFiles(git_repo.get(), spec.record, &again).ok());
  EXPECT_EQ(again.SerializeAsString(), got.SerializeAsString());
}

}  // namespace
}  // namespace fixmine::pipeline
