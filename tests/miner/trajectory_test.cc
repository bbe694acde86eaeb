// Pull-request trajectories (miner/trajectory.cc) against the git CLI: step lists against
// `git rev-list --reverse --topo-order --no-merges M^1..M^k`, bases against `git merge-base`,
// combined diffs against `git diff --full-index -M base tip`, on drawn histories.
#include "miner/trajectory.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "miner/git_handles.h"
#include "miner/walk.h"
#include "tests/testutil/git_repo.h"

namespace fixmine::miner {
namespace {

using fixmine::v1::Record;
using fixmine::v1::Trajectory;
using testutil::GitRepo;
using testutil::Lines;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

TrajectorySet Find(GitRepo& repo, TrajectoryStats* stats, const WalkOptions& walk = {}) {
  RecordOptions ro;
  ro.repo_name = "traj";
  TrajectorySet set;
  absl::Status st = FindTrajectories(repo.path(), walk, ro, /*with_files=*/true, &set, stats);
  EXPECT_TRUE(st.ok()) << st;
  return set;
}

// What git says the steps of branch `k` of merge `m` are.
std::vector<std::string> GitSteps(GitRepo& repo, const std::string& m, int k) {
  return Lines(
      repo.Git(fmt::format("rev-list --reverse --topo-order --no-merges {}^1..{}^{}", m, m, k)));
}

std::string Patches(const Trajectory& t) {
  std::string out;
  for (const auto& f : t.files()) out += f.patch();
  return out;
}

// Checks `t` (branch `k` of merge `m`) against the git CLI.
void ExpectMatchesGit(GitRepo& repo, const Trajectory& t, const std::string& m, int k) {
  EXPECT_EQ(t.merge_commit(), m);
  EXPECT_EQ(t.parent_index(), k);
  std::vector<std::string> steps(t.step_commits().begin(), t.step_commits().end());
  EXPECT_EQ(steps, GitSteps(repo, m, k));
  EXPECT_EQ(t.step_count(), static_cast<int>(steps.size()));
  ASSERT_EQ(t.step_record_ids_size(), t.step_commits_size());
  for (int i = 0; i < t.step_commits_size(); ++i) {
    EXPECT_EQ(t.step_record_ids(i), RecordId("traj", t.step_commits(i)));
  }
  std::string base = Trim(repo.Git(fmt::format("merge-base {}^1 {}^{}", m, m, k)));
  EXPECT_EQ(t.base_commit(), base);
  std::string tip = Trim(repo.Git(fmt::format("rev-parse {}^{}", m, k)));
  EXPECT_EQ(t.tip_commit(), tip);
  EXPECT_EQ(Patches(t), repo.Git(fmt::format("diff --full-index -M {} {}", base, tip)));
  EXPECT_EQ(t.id(), TrajectoryId("traj", m, k));
}

std::map<std::string, Record> MineAll(GitRepo& repo, const TrajectorySet& set) {
  RecordOptions ro;
  ro.repo_name = "traj";
  WalkOptions wo;
  wo.workers = 2;
  wo.annotate = [&set](Record* r) { set.Annotate(r); };
  std::map<std::string, Record> out;
  absl::Status st = Mine(
      repo.path(), wo, ro,
      [&](Record&& r) {
        std::string c = r.commit();
        out.emplace(c, std::move(r));
        return absl::OkStatus();
      },
      nullptr);
  EXPECT_TRUE(st.ok()) << st;
  return out;
}

//   *   M  Merge pull request #7 from ada/widget   (--no-ff)
//   |\  (merge)
//   | * s3 widget: docs
//   | * s2 widget: fix the count
//   * | m1 main moves on
//   | * s1 widget: add
//   |/
//   * a  base
TEST(Trajectory, ThreeCommitBranchMergedNoFfIsOneTrajectoryInOrder) {
  GitRepo repo;
  repo.Write("a.txt", "one\ntwo\nthree\n");
  std::string a = repo.CommitAll("base\n");
  repo.Git("checkout -q -b widget");
  repo.Write("w.c", "int widget(void) { return 1; }\n");
  std::string s1 = repo.CommitAll("widget: add\n");
  repo.Git("checkout -q main");
  repo.Write("a.txt", "one\ntwo\nthree\nfour\n");
  std::string m1 = repo.CommitAll("main moves on\n");
  repo.Git("checkout -q widget");
  repo.Write("w.c", "int widget(void) { return 2; }\n");
  std::string s2 = repo.CommitAll("widget: fix the count\n\nFixes #3.\n");
  repo.Write("README", "widgets\n");
  std::string s3 = repo.CommitAll("widget: docs\n");
  repo.Git("checkout -q main");
  repo.Git(
      "merge -q --no-ff widget -m 'Merge pull request #7 from ada/widget' -m 'Add the widget'");
  std::string m = Trim(repo.Git("rev-parse HEAD"));

  TrajectoryStats stats;
  TrajectorySet set = Find(repo, &stats);
  ASSERT_EQ(set.trajectories.size(), 1u);
  const Trajectory& t = set.trajectories[0];
  ExpectMatchesGit(repo, t, m, 2);
  EXPECT_EQ(std::vector<std::string>(t.step_commits().begin(), t.step_commits().end()),
            (std::vector<std::string>{s1, s2, s3}));
  EXPECT_EQ(t.base_commit(), a);
  EXPECT_EQ(t.kind(), "merge");
  EXPECT_EQ(t.pr_number(), 7);
  EXPECT_EQ(t.title(), "Add the widget");
  EXPECT_EQ(t.source_branch(), "ada/widget");
  EXPECT_EQ(t.repo(), "traj");
  EXPECT_EQ(t.merged_by().name(), "Cy Committer");
  // The combined diff holds the branch's files only, not main's a.txt change.
  ASSERT_EQ(t.files_size(), 2);
  EXPECT_EQ(t.files(0).path(), "README");
  EXPECT_EQ(t.files(1).path(), "w.c");
  EXPECT_EQ(stats.merges, 1);
  EXPECT_EQ(stats.squashes, 0);

  std::map<std::string, Record> records = MineAll(repo, set);
  ASSERT_EQ(records.size(), 5u);
  for (auto [commit, step] : {std::pair{s1, 0}, std::pair{s2, 1}, std::pair{s3, 2}}) {
    EXPECT_EQ(records[commit].trajectory_id(), t.id()) << commit;
    EXPECT_EQ(records[commit].trajectory_step(), step) << commit;
  }
  EXPECT_EQ(records[a].trajectory_id(), "");
  EXPECT_EQ(records[m1].trajectory_id(), "");
}

//   *   M2 Merge branch 'topic'   (the branch again)
//   |\  (merge)
//   | * s3 third
//   * |   M1 Merge branch 'topic'
//   |\ \  (merge)
//   | |/
//   | * s2 second
//   | * s1 first
//   |/
//   * a  base
TEST(Trajectory, BranchMergedTwiceGivesTwoTrajectoriesWithoutOverlap) {
  GitRepo repo;
  repo.Write("f.txt", "0\n");
  std::string a = repo.CommitAll("base\n");
  repo.Git("checkout -q -b topic");
  repo.Write("f.txt", "1\n");
  std::string s1 = repo.CommitAll("first\n");
  repo.Write("g.txt", "2\n");
  std::string s2 = repo.CommitAll("second\n");
  repo.Git("checkout -q main");
  repo.Git("merge -q --no-ff topic -m \"Merge branch 'topic'\"");
  std::string m1 = Trim(repo.Git("rev-parse HEAD"));
  repo.Git("checkout -q topic");
  repo.Write("g.txt", "3\n");
  std::string s3 = repo.CommitAll("third\n");
  repo.Git("checkout -q main");
  repo.Git("merge -q --no-ff topic -m \"Merge branch 'topic'\"");
  std::string m2 = Trim(repo.Git("rev-parse HEAD"));

  TrajectoryStats stats;
  TrajectorySet set = Find(repo, &stats);
  ASSERT_EQ(set.trajectories.size(), 2u);
  // Oldest merge first.
  ExpectMatchesGit(repo, set.trajectories[0], m1, 2);
  ExpectMatchesGit(repo, set.trajectories[1], m2, 2);
  EXPECT_EQ(set.trajectories[0].step_count(), 2);
  EXPECT_EQ(set.trajectories[1].step_count(), 1);
  EXPECT_EQ(set.trajectories[1].step_commits(0), s3);
  EXPECT_EQ(set.trajectories[1].base_commit(), s2);
  EXPECT_EQ(set.trajectories[0].source_branch(), "topic");
  EXPECT_EQ(set.trajectories[0].title(), "Merge branch 'topic'");
  EXPECT_EQ(set.trajectories[0].pr_number(), 0);
  EXPECT_EQ(stats.nested_steps, 0);
  EXPECT_EQ(set.steps.at(s1).trajectory_id, set.trajectories[0].id());
  EXPECT_EQ(set.steps.at(s3).trajectory_id, set.trajectories[1].id());
  EXPECT_EQ(set.steps.count(a), 0u);
}

//   *-.   O  Merge branches 'x' and 'y'   (octopus)
//   |\ \  (merge)
//   | | * y1 y work
//   | * | x2 x more
//   | * | x1 x work
//   | |/
//   |/
//   * a  base
TEST(Trajectory, OctopusMergeGivesOneTrajectoryPerBranch) {
  GitRepo repo;
  repo.Write("base.txt", "b\n");
  repo.CommitAll("base\n");
  repo.Git("checkout -q -b x");
  repo.Write("x.txt", "x1\n");
  repo.CommitAll("x work\n");
  repo.Write("x.txt", "x2\n");
  repo.CommitAll("x more\n");
  repo.Git("checkout -q main");
  repo.Git("checkout -q -b y");
  repo.Write("y.txt", "y1\n");
  repo.CommitAll("y work\n");
  repo.Git("checkout -q main");
  repo.Git("merge -q --no-ff x y -m \"Merge branches 'x' and 'y'\"");
  std::string o = Trim(repo.Git("rev-parse HEAD"));
  ASSERT_EQ(Lines(repo.Git("rev-list --parents -n1 HEAD"))[0].size(), 4u * 40 + 3);

  TrajectoryStats stats;
  TrajectorySet set = Find(repo, &stats);
  ASSERT_EQ(set.trajectories.size(), 2u);
  ExpectMatchesGit(repo, set.trajectories[0], o, 2);
  ExpectMatchesGit(repo, set.trajectories[1], o, 3);
  EXPECT_EQ(set.trajectories[0].kind(), "octopus");
  EXPECT_EQ(set.trajectories[0].step_count(), 2);
  EXPECT_EQ(set.trajectories[1].step_count(), 1);
  EXPECT_NE(set.trajectories[0].id(), set.trajectories[1].id());
  EXPECT_EQ(stats.octopus_merges, 1);
  EXPECT_EQ(stats.merges, 1);
}

//   * c  Add the parser (#42)    squash merge on main
//   * b  plain change
//   * a  base
TEST(Trajectory, SquashMergeSubjectIsASingleStepTrajectory) {
  GitRepo repo;
  repo.Write("p.c", "int p;\n");
  repo.CommitAll("base\n");
  repo.Write("p.c", "int p = 1;\n");
  std::string b = repo.CommitAll("plain change\n");
  repo.Write("parse.c", "int parse(void) { return 0; }\n");
  std::string c = repo.CommitAll("Add the parser (#42)\n\n* first\n* second\n");

  TrajectoryStats stats;
  TrajectorySet set = Find(repo, &stats);
  ASSERT_EQ(set.trajectories.size(), 1u);
  const Trajectory& t = set.trajectories[0];
  EXPECT_EQ(t.kind(), "squash");
  EXPECT_EQ(t.pr_number(), 42);
  EXPECT_EQ(t.title(), "Add the parser");
  EXPECT_EQ(t.merge_commit(), c);
  EXPECT_EQ(t.tip_commit(), c);
  EXPECT_EQ(t.base_commit(), b);
  ASSERT_EQ(t.step_commits_size(), 1);
  EXPECT_EQ(t.step_commits(0), c);
  EXPECT_EQ(Patches(t), repo.Git(fmt::format("diff --full-index -M {} {}", b, c)));
  EXPECT_EQ(stats.squashes, 1);
  EXPECT_EQ(set.steps.at(c).step, 0);
}

//   *   M2 Merge pull request #2 from ada/outer
//   |\  (merge)
//   | *   M1 Merge branch 'inner' into outer
//   | |\  (merge)
//   | | * i1 inner work (#9)
//   | |/
//   | * o1 outer work
//   |/
//   * a  base
TEST(Trajectory, NestedBranchStepsBelongToTheNearestMerge) {
  GitRepo repo;
  repo.Write("a.txt", "a\n");
  repo.CommitAll("base\n");
  repo.Git("checkout -q -b outer");
  repo.Write("o.txt", "o\n");
  std::string o1 = repo.CommitAll("outer work\n");
  repo.Git("checkout -q -b inner");
  repo.Write("i.txt", "i\n");
  std::string i1 = repo.CommitAll("inner work (#9)\n");
  repo.Git("checkout -q outer");
  repo.Git("merge -q --no-ff inner -m \"Merge branch 'inner' into outer\"");
  std::string m1 = Trim(repo.Git("rev-parse HEAD"));
  repo.Git("checkout -q main");
  repo.Git("merge -q --no-ff outer -m 'Merge pull request #2 from ada/outer' -m 'Outer'");
  std::string m2 = Trim(repo.Git("rev-parse HEAD"));

  TrajectoryStats stats;
  TrajectorySet set = Find(repo, &stats);
  ASSERT_EQ(set.trajectories.size(), 2u);
  ExpectMatchesGit(repo, set.trajectories[0], m1, 2);
  ExpectMatchesGit(repo, set.trajectories[1], m2, 2);
  // The outer branch lists both steps; i1 belongs to the inner merge, which met it first.
  EXPECT_EQ(set.trajectories[1].step_count(), 2);
  EXPECT_EQ(set.trajectories[1].nested_steps(), 1);
  EXPECT_EQ(stats.nested_steps, 1);
  EXPECT_EQ(set.steps.at(i1).trajectory_id, set.trajectories[0].id());
  EXPECT_EQ(set.steps.at(o1).trajectory_id, set.trajectories[1].id());
  EXPECT_EQ(set.steps.at(o1).step, 0);
  // A "(#N)" subject a merge brought in is that merge's step, not a squash.
  EXPECT_EQ(stats.squashes, 0);
}

//   *   M3 Merge pull request #3 from ada/feature
//   |\  (merge)
//   | *   Mb Merge branch 'main' into feature   (back-merge: brings only o1, owned by M2)
//   | |\  (merge)
//   | |/
//   |/|
//   * |   M2 Merge pull request #2 from ada/other
//   |\ \  (merge)
//   | * | o1 other work
//   |/ /
//   | * f1 feature work
//   |/
//   * a  base
TEST(Trajectory, BackMergeOfTheMainlineIsNotAPullRequest) {
  GitRepo repo;
  repo.Write("a.txt", "a\n");
  repo.CommitAll("base\n");
  repo.Git("checkout -q -b feature");
  repo.Write("f.txt", "f\n");
  std::string f1 = repo.CommitAll("feature work\n");
  repo.Git("checkout -q main");
  repo.Git("checkout -q -b other");
  repo.Write("o.txt", "o\n");
  std::string o1 = repo.CommitAll("other work\n");
  repo.Git("checkout -q main");
  repo.Git("merge -q --no-ff other -m 'Merge pull request #2 from ada/other'");
  std::string m2 = Trim(repo.Git("rev-parse HEAD"));
  repo.Git("checkout -q feature");
  repo.Git("merge -q --no-ff main -m \"Merge branch 'main' into feature\"");
  repo.Git("checkout -q main");
  repo.Git("merge -q --no-ff feature -m 'Merge pull request #3 from ada/feature'");
  std::string m3 = Trim(repo.Git("rev-parse HEAD"));

  TrajectoryStats stats;
  TrajectorySet set = Find(repo, &stats);
  ASSERT_EQ(set.trajectories.size(), 2u);
  ExpectMatchesGit(repo, set.trajectories[0], m2, 2);
  EXPECT_EQ(set.trajectories[0].pr_number(), 2);
  // M3's range holds f1 and the back-merge; o1 is not in it (M3^1 reaches it).
  ExpectMatchesGit(repo, set.trajectories[1], m3, 2);
  EXPECT_EQ(set.trajectories[1].pr_number(), 3);
  EXPECT_EQ(set.steps.at(o1).trajectory_id, set.trajectories[0].id());
  EXPECT_EQ(set.steps.at(f1).trajectory_id, set.trajectories[1].id());
  EXPECT_EQ(stats.merges, 3);
  EXPECT_EQ(stats.branches_all_nested, 1);
}

// Writes a `git fast-import` stream: a base commit on main, `branches` one-commit branches
// b1..bN forked from it, and one octopus merge of all of them into main. Returns the merge's
// id. One git process instead of several per branch keeps the test fast.
std::string MakeOctopus(GitRepo& repo, int branches) {
  std::string s;
  auto commit = [&](const std::string& ref, int mark, const std::string& msg) {
    s += fmt::format("commit {}\nmark :{}\ncommitter Cy Committer <cy@example.com> {} +0000\n", ref,
                     mark, 1700000000 + mark);
    s += fmt::format("data {}\n{}\n", msg.size(), msg);
  };
  commit("refs/heads/main", 1, "base\n");
  s += "M 100644 inline base.txt\ndata 2\nb\n\n";
  for (int i = 1; i <= branches; ++i) {
    commit(fmt::format("refs/heads/b{}", i), i + 1, fmt::format("branch {} work\n", i));
    s += "from :1\n";
    std::string body = fmt::format("line of branch {}\n", i);
    s += fmt::format("M 100644 inline b{}.txt\ndata {}\n{}\n", i, body.size(), body);
  }
  commit("refs/heads/main", branches + 2, fmt::format("Merge {} branches\n", branches));
  s += "from :1\n";
  for (int i = 1; i <= branches; ++i) s += fmt::format("merge :{}\n", i + 1);
  testutil::TempDir tmp;
  const std::string stream = tmp.path() + "/stream";
  {
    std::ofstream f(stream, std::ios::binary);
    f << s;
  }
  repo.Git("fast-import --quiet < " + testutil::ShellQuote(stream));
  return Trim(repo.Git("rev-parse main"));
}

// A merge with 200 parents: only the first 64 branches (parents 2..65) become trajectories;
// the other 136 are counted and marked on each trajectory of the merge, and the pass ends
// within a bound that does not grow with the parents past the limit.
TEST(TrajectoryLimits, OctopusMergeOfManyParentsConsidersOnlyTheFirst64) {
  GitRepo repo;
  const std::string o = MakeOctopus(repo, 200);
  ASSERT_EQ(Lines(repo.Git("rev-list --parents -n1 " + o))[0].size(), 202u * 41 - 1);

  TrajectoryStats stats;
  const auto start = std::chrono::steady_clock::now();
  TrajectorySet set = Find(repo, &stats);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(set.trajectories.size(), 64u);
  EXPECT_EQ(stats.merges, 1);
  EXPECT_EQ(stats.octopus_merges, 1);
  EXPECT_EQ(stats.parents_shed, 136);
  for (size_t i = 0; i < set.trajectories.size(); ++i) {
    const Trajectory& t = set.trajectories[i];
    EXPECT_EQ(t.parent_index(), static_cast<int>(i) + 2);
    ASSERT_TRUE(t.has_shed()) << i;
    EXPECT_EQ(t.shed().parents(), 136);
    EXPECT_EQ(t.shed().steps(), 0);
    ASSERT_EQ(t.shed().reasons_size(), 1);
    EXPECT_EQ(t.shed().reasons(0),
              "merge has 201 parents: the first 64 branches kept, 136 shed (parent limit 64)");
  }
  // Spot checks against git: the first and the last branch kept.
  ExpectMatchesGit(repo, set.trajectories[0], o, 2);
  ExpectMatchesGit(repo, set.trajectories[63], o, 65);
  // Branch 65's commit (parent 66) belongs to no trajectory.
  const std::string shed_tip = Trim(repo.Git(fmt::format("rev-parse {}^66", o)));
  EXPECT_EQ(set.steps.count(shed_tip), 0u);
  // 64 range walks and diffs take well under a second here; the bound only catches a pass that
  // walks every parent again (2,000 parents took 54 s before the limit).
  EXPECT_LT(seconds, 60.0);

  // The limit is an option: 0 lifts it.
  TrajectoryOptions unlimited;
  unlimited.max_parents = 0;
  RecordOptions ro;
  ro.repo_name = "traj";
  TrajectorySet all;
  TrajectoryStats all_stats;
  ASSERT_TRUE(
      FindTrajectories(repo.path(), {}, ro, /*with_files=*/false, &all, &all_stats, unlimited)
          .ok());
  EXPECT_EQ(all.trajectories.size(), 200u);
  EXPECT_EQ(all_stats.parents_shed, 0);
  EXPECT_FALSE(all.trajectories[0].has_shed());
}

// A branch longer than the step limit keeps its oldest steps; the rest are counted, marked,
// and claim no record.
TEST(TrajectoryLimits, LongBranchKeepsTheOldestStepsAndMarksTheRest) {
  GitRepo repo;
  repo.Write("a.txt", "a\n");
  repo.CommitAll("base\n");
  repo.Git("checkout -q -b long");
  for (int i = 0; i < 12; ++i) {
    repo.Write("l.txt", fmt::format("{}\n", i));
    repo.CommitAll(fmt::format("step {}\n", i));
  }
  repo.Git("checkout -q main");
  repo.Git("merge -q --no-ff long -m 'Merge pull request #9 from ada/long'");
  const std::string m = Trim(repo.Git("rev-parse HEAD"));
  const std::vector<std::string> git_steps = GitSteps(repo, m, 2);
  ASSERT_EQ(git_steps.size(), 12u);

  RecordOptions ro;
  ro.repo_name = "traj";
  TrajectoryOptions options;
  options.max_steps = 5;
  TrajectorySet set;
  TrajectoryStats stats;
  ASSERT_TRUE(
      FindTrajectories(repo.path(), {}, ro, /*with_files=*/true, &set, &stats, options).ok());
  ASSERT_EQ(set.trajectories.size(), 1u);
  const Trajectory& t = set.trajectories[0];
  EXPECT_EQ(std::vector<std::string>(t.step_commits().begin(), t.step_commits().end()),
            std::vector<std::string>(git_steps.begin(), git_steps.begin() + 5));
  EXPECT_EQ(t.step_count(), 5);
  EXPECT_EQ(t.step_record_ids_size(), 5);
  ASSERT_TRUE(t.has_shed());
  EXPECT_EQ(t.shed().steps(), 7);
  EXPECT_EQ(t.shed().parents(), 0);
  ASSERT_EQ(t.shed().reasons_size(), 1);
  EXPECT_EQ(t.shed().reasons(0), "branch has 12 steps: the oldest 5 kept, 7 shed (step limit 5)");
  EXPECT_EQ(stats.steps_shed, 7);
  EXPECT_EQ(set.steps.at(git_steps[4]).step, 4);
  EXPECT_EQ(set.steps.count(git_steps[5]), 0u);
  // The combined diff is still the whole branch's.
  EXPECT_EQ(Patches(t), repo.Git(fmt::format("diff --full-index -M {}^1 {}", m, m)));
}

// Text of `lines` distinct lines of about 64 bytes.
std::string BigText(const std::string& tag, int lines) {
  std::string t;
  for (int i = 0; i < lines; ++i)
    t += fmt::format("{} line {:06} {}\n", tag, i, std::string(40, 'x'));
  return t;
}

// A combined diff over the byte budget (RecordOptions::max_record_bytes, the records' budget)
// sheds patches, largest first, marks the files and the trajectory, and fits; FindTrajectories
// with files and FillTrajectoryFiles shed the same.
TEST(TrajectoryLimits, CombinedDiffOverTheBudgetShedsPatchesAndFits) {
  GitRepo repo;
  repo.Write("a.txt", "a\n");
  repo.CommitAll("base\n");
  repo.Git("checkout -q -b big");
  for (int c = 0; c < 3; ++c) {
    for (int f = 0; f < 4; ++f) {
      repo.Write(fmt::format("f{}_{}.txt", c, f), BigText(fmt::format("c{}f{}", c, f), 500));
    }
    repo.CommitAll(fmt::format("add batch {}\n", c));
  }
  repo.Write("small.txt", "small\n");
  repo.CommitAll("add a small file\n");
  repo.Git("checkout -q main");
  repo.Git("merge -q --no-ff big -m 'Merge pull request #5 from ada/big'");
  const std::string m = Trim(repo.Git("rev-parse HEAD"));

  constexpr size_t kBudget = 64 << 10;
  RecordOptions ro;
  ro.repo_name = "traj";
  ro.max_record_bytes = kBudget;
  TrajectorySet set;
  ASSERT_TRUE(FindTrajectories(repo.path(), {}, ro, /*with_files=*/true, &set, nullptr).ok());
  ASSERT_EQ(set.trajectories.size(), 1u);
  const Trajectory& t = set.trajectories[0];
  EXPECT_LE(t.ByteSizeLong(), kBudget);
  // Every file is still listed (12 big and the small one); the big ones lost their patches.
  ASSERT_EQ(t.files_size(), 13);
  int unavailable = 0;
  for (const auto& f : t.files()) {
    if (f.path() == "small.txt") {
      EXPECT_FALSE(f.unavailable());
      EXPECT_EQ(f.patch(), repo.Git(fmt::format("diff --full-index {}^1 {} -- small.txt", m, m)));
      continue;
    }
    if (!f.unavailable()) continue;
    ++unavailable;
    EXPECT_TRUE(f.patch().empty());
    EXPECT_EQ(f.hunks_size(), 0);
    EXPECT_EQ(f.unavailable_reason(),
              "the trajectory is over its 65536-byte budget: the patch was left out");
  }
  ASSERT_TRUE(t.has_shed());
  EXPECT_EQ(t.shed().patches(), unavailable);
  EXPECT_GE(unavailable, 11);  // patch and hunks of a big file: about 64 KB; at most one fits
  EXPECT_EQ(t.shed().files(), 0);
  ASSERT_EQ(t.shed().reasons_size(), 1);
  EXPECT_NE(t.shed().reasons(0).find("over the 65536-byte budget (--max-record-bytes)"),
            std::string::npos)
      << t.shed().reasons(0);

  // Found without files, then filled (the server's and extract's way): the same trajectory.
  TrajectorySet bare;
  ASSERT_TRUE(FindTrajectories(repo.path(), {}, ro, /*with_files=*/false, &bare, nullptr).ok());
  ASSERT_EQ(bare.trajectories.size(), 1u);
  RepoPtr git;
  ASSERT_TRUE(OpenRepository(repo.path(), &git).ok());
  Trajectory filled = bare.trajectories[0];
  ASSERT_TRUE(FillTrajectoryFiles(git.get(), ro, &filled).ok());
  EXPECT_EQ(filled.SerializeAsString(), t.SerializeAsString());

  // Without a budget nothing is shed.
  ro.max_record_bytes = 0;
  TrajectorySet whole;
  ASSERT_TRUE(FindTrajectories(repo.path(), {}, ro, /*with_files=*/true, &whole, nullptr).ok());
  ASSERT_EQ(whole.trajectories.size(), 1u);
  EXPECT_FALSE(whole.trajectories[0].has_shed());
  EXPECT_GT(whole.trajectories[0].ByteSizeLong(), 12u * 30000);
  EXPECT_EQ(Patches(whole.trajectories[0]),
            repo.Git(fmt::format("diff --full-index -M {}^1 {}", m, m)));
}

// The cancel callback is asked between merges and between an octopus merge's branches: the
// pass stops there with CANCELLED, keeping what it found before.
TEST(TrajectoryLimits, CancelStopsThePassBetweenMerges) {
  GitRepo repo;
  repo.Write("a.txt", "a\n");
  repo.CommitAll("base\n");
  for (int i = 0; i < 4; ++i) {
    repo.Git(fmt::format("checkout -q -b topic{}", i));
    repo.Write(fmt::format("t{}.txt", i), "t\n");
    repo.CommitAll(fmt::format("topic {}\n", i));
    repo.Git("checkout -q main");
    repo.Git(fmt::format("merge -q --no-ff topic{} -m 'Merge pull request #{} from ada/t'", i, i));
  }
  RecordOptions ro;
  ro.repo_name = "traj";
  TrajectorySet set;
  TrajectoryOptions options;
  int asked = 0;
  options.cancelled = [&] {
    ++asked;
    return set.trajectories.size() >= 2;
  };
  absl::Status st =
      FindTrajectories(repo.path(), {}, ro, /*with_files=*/false, &set, nullptr, options);
  EXPECT_EQ(st.code(), absl::StatusCode::kCancelled) << st;
  EXPECT_EQ(set.trajectories.size(), 2u);
  EXPECT_GT(asked, 2);
  EXPECT_EQ(set.trajectories[0].pr_number(), 0);
  EXPECT_EQ(set.trajectories[1].pr_number(), 1);

  // Within one merge: an octopus of 40 branches stops after the third.
  GitRepo octo;
  MakeOctopus(octo, 40);
  TrajectorySet part;
  TrajectoryOptions stop_at_three;
  stop_at_three.cancelled = [&] { return part.trajectories.size() >= 3; };
  st = FindTrajectories(octo.path(), {}, ro, /*with_files=*/false, &part, nullptr, stop_at_three);
  EXPECT_EQ(st.code(), absl::StatusCode::kCancelled) << st;
  EXPECT_EQ(part.trajectories.size(), 3u);

  // The walk's own flag (what the server's job runner sets) stops it the same way.
  std::atomic<bool> cancel{true};
  WalkOptions walk;
  walk.cancel = &cancel;
  TrajectorySet none;
  st = FindTrajectories(repo.path(), walk, ro, /*with_files=*/false, &none, nullptr);
  EXPECT_EQ(st.code(), absl::StatusCode::kCancelled) << st;
  EXPECT_TRUE(none.trajectories.empty());
}

TEST(MergeMessage, GitHubGitLabAndPlainMerges) {
  MergeMessage gh = ParseMergeMessage(
      "Merge pull request #6789 from someone/fix-leak\n\nFix a leak in the pack reader\n");
  EXPECT_EQ(gh.pr_number, 6789);
  EXPECT_EQ(gh.source_branch, "someone/fix-leak");
  EXPECT_EQ(gh.title, "Fix a leak in the pack reader");

  MergeMessage gl = ParseMergeMessage(
      "Merge branch 'feature-x' into 'main'\n\nAdd feature X\n\nCloses #12\n\n"
      "See merge request group/project!345\n");
  EXPECT_EQ(gl.pr_number, 345);
  EXPECT_EQ(gl.source_branch, "feature-x");
  EXPECT_EQ(gl.title, "Add feature X");

  MergeMessage plain = ParseMergeMessage("Merge branch 'topic' of https://example.com/r.git\n");
  EXPECT_EQ(plain.pr_number, 0);
  EXPECT_EQ(plain.source_branch, "topic");
  EXPECT_EQ(plain.title, "Merge branch 'topic' of https://example.com/r.git");

  MergeMessage remote = ParseMergeMessage("Merge remote-tracking branch 'origin/dev'");
  EXPECT_EQ(remote.source_branch, "origin/dev");

  EXPECT_EQ(ParseSquashSubject("Add the parser (#42)").pr_number, 42);
  EXPECT_EQ(ParseSquashSubject("Add the parser (#42)").title, "Add the parser");
  EXPECT_EQ(ParseSquashSubject("Add the parser (#4x)").pr_number, 0);
  EXPECT_EQ(ParseSquashSubject("Fix (see #42) later").pr_number, 0);
}

// Issue 20: 45 of leveldb's trajectory titles were "PiperOrigin-RevId: ..." (a trailer).
TEST(MergeMessage, Issue20TitleSkipsTrailers) {
  MergeMessage m = ParseMergeMessage(
      "Merge pull request #907 from someone/patch-1\n\nPiperOrigin-RevId: 123456789\n"
      "Signed-off-by: Some One <one@example.com>\n\nFix the build on FreeBSD\n");
  EXPECT_EQ(m.pr_number, 907);
  EXPECT_EQ(m.title, "Fix the build on FreeBSD");
  // Only trailers: the subject, never a trailer.
  MergeMessage only = ParseMergeMessage(
      "Merge pull request #908 from someone/patch-2\n\nPiperOrigin-RevId: 987654321\n");
  EXPECT_EQ(only.title, "Merge pull request #908 from someone/patch-2");
  EXPECT_TRUE(IsTrailerLine("Change-Id: I0123abcd"));
  EXPECT_TRUE(IsTrailerLine("Co-authored-by: A <a@b>"));
  EXPECT_FALSE(IsTrailerLine("Fix: the build"));  // a title in the "area: what" style
  EXPECT_FALSE(IsTrailerLine("Add the widget"));
  EXPECT_FALSE(ParseMergeMessage("Merge pull request #1 from a/b\n\nx\n").synthetic);
  EXPECT_TRUE(only.title_is_subject);
  EXPECT_FALSE(m.title_is_subject);
}

// A pull request's merge whose body is only trailers is titled by its oldest step's subject.
TEST(Trajectory, Issue20TrailerOnlyMergeTakesTheStepSubject) {
  GitRepo repo;
  repo.Write("a.txt", "one\n");
  repo.CommitAll("base\n");
  repo.Git("checkout -q -b patch-1");
  repo.Write("b.txt", "two\n");
  repo.CommitAll("Fix the build on FreeBSD\n\nSigned-off-by: A <a@example.com>\n");
  repo.Write("b.txt", "three\n");
  repo.CommitAll("Address review\n");
  repo.Git("checkout -q main");
  repo.Write("a.txt", "one\nmore\n");
  repo.CommitAll("main moves on\n");
  repo.Git(
      "merge -q --no-ff patch-1 -m 'Merge pull request #907 from someone/patch-1' "
      "-m 'PiperOrigin-RevId: 123456789'");
  TrajectoryStats stats;
  TrajectorySet set = Find(repo, &stats);
  ASSERT_EQ(set.trajectories.size(), 1u);
  EXPECT_EQ(set.trajectories[0].pr_number(), 907);
  EXPECT_EQ(set.trajectories[0].title(), "Fix the build on FreeBSD");
}

// Issue 20: 129 of libgit2's trajectories were GitHub's synthetic "Merge <sha> into <sha>".
TEST(Trajectory, Issue20SyntheticGitHubMergeIsNotATrajectory) {
  GitRepo repo;
  repo.Write("a.txt", "one\n");
  repo.CommitAll("base\n");
  repo.Git("checkout -q -b topic");
  repo.Write("t.c", "int t(void) { return 1; }\n");
  std::string s1 = repo.CommitAll("topic: add t\n");
  repo.Git("checkout -q main");
  repo.Write("a.txt", "one\ntwo\n");
  std::string main_tip = repo.CommitAll("main moves on\n");
  std::string merge_subject = "Merge " + s1 + " into " + main_tip;
  EXPECT_TRUE(ParseMergeMessage(merge_subject + "\n").synthetic);
  repo.Git("merge -q --no-ff topic -m '" + merge_subject + "'");

  TrajectoryStats stats;
  TrajectorySet set = Find(repo, &stats);
  EXPECT_EQ(stats.merges, 1);
  EXPECT_EQ(stats.synthetic_merges, 1);
  EXPECT_TRUE(set.trajectories.empty());
  EXPECT_EQ(set.steps.count(s1), 0u);
}

}  // namespace
}  // namespace fixmine::miner
