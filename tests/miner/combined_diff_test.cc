// Merge-conflict resolution records: the miner's combined diff of a merge is compared byte for
// byte with `git show --cc --full-index --format=` (the git CLI is the oracle), and a merge
// yields a merge_resolution record exactly when that output is not empty.
#include "miner/combined_diff.h"

#include <gtest/gtest.h>

#include <cstdint>
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
using testutil::GitRepo;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The miner's combined diff of `commit`: its files' sections, concatenated.
std::string MinerCc(const std::string& path, const std::string& commit) {
  EnsureLibgit2();
  RepoPtr repo;
  absl::Status st = OpenRepository(path, &repo);
  EXPECT_TRUE(st.ok()) << st;
  if (!st.ok()) return "<no repository>";
  git_oid oid;
  EXPECT_EQ(git_oid_fromstr(&oid, commit.c_str()), 0) << commit;
  git_commit* c = nullptr;
  EXPECT_EQ(git_commit_lookup(&c, repo.get(), &oid), 0) << commit;
  CommitPtr owned(c);
  std::vector<CombinedFile> files;
  st = CombinedDiff(repo.get(), c, 3, &files);
  EXPECT_TRUE(st.ok()) << st;
  std::string out;
  for (const CombinedFile& f : files) out += f.text;
  return out;
}

std::string GitCc(GitRepo& repo, const std::string& commit) {
  return repo.Git("show --cc --full-index --format= " + commit);
}

// Mines HEAD's history; records by commit.
std::map<std::string, Record> MineAll(const std::string& path, WalkStats* stats) {
  RecordOptions ro;
  ro.repo_name = "merges";
  WalkOptions wo;
  wo.workers = 2;
  std::map<std::string, Record> out;
  absl::Status st = Mine(
      path, wo, ro,
      [&](Record&& r) {
        std::string id = r.commit();
        out.emplace(id, std::move(r));
        return absl::OkStatus();
      },
      stats);
  EXPECT_TRUE(st.ok()) << st;
  return out;
}

std::string Lines(int from, int to, const std::string& tag = "line") {
  std::string s;
  for (int i = from; i <= to; ++i) s += fmt::format("{} {}\n", tag, i);
  return s;
}

//   * M  merge feature: a.c line 5 edited on both sides, resolved by hand to a third text;
//   |    b.txt taken from feature (no resolution there); c.txt conflict resolved as "ours"
//   | * F  feature: a.c line 5 -> "feature", b.txt edited, c.txt edited
//   * | C  main: a.c line 5 -> "main", c.txt edited
//   |/
//   * B  a.c, b.txt and c.txt (20 lines each)
TEST(CombinedDiffTest, ConflictResolutionMatchesGitShowCc) {
  GitRepo repo;
  repo.Write("a.c", Lines(1, 20));
  repo.Write("b.txt", Lines(1, 20, "b"));
  repo.Write("c.txt", Lines(1, 20, "c"));
  repo.CommitAll("base\n");
  repo.Git("checkout -q -b feature");
  repo.Write("a.c", Lines(1, 4) + "feature\n" + Lines(6, 20));
  repo.Write("b.txt", Lines(1, 9, "b") + "b changed\n" + Lines(11, 20, "b"));
  repo.Write("c.txt", Lines(1, 14, "c") + "c feature\n" + Lines(16, 20, "c"));
  repo.CommitAll("feature edits\n");
  repo.Git("checkout -q main");
  repo.Write("a.c", Lines(1, 4) + "main\n" + Lines(6, 20));
  repo.Write("c.txt", Lines(1, 14, "c") + "c main\n" + Lines(16, 20, "c"));
  repo.CommitAll("main edits\n");
  EXPECT_NE(repo.GitResult("merge -q --no-edit feature").exit_code, 0);  // conflicts
  repo.Write("a.c", Lines(1, 4) + "resolved: main and feature\n" + Lines(6, 20));
  repo.Git("checkout --ours c.txt");
  std::string merge = repo.CommitAll("Merge branch 'feature'\n");

  std::string want = GitCc(repo, merge);
  ASSERT_NE(want.find("diff --cc a.c"), std::string::npos) << want;
  EXPECT_EQ(MinerCc(repo.path(), merge), want);

  WalkStats stats;
  auto records = MineAll(repo.path(), &stats);
  ASSERT_EQ(records.count(merge), 1u);
  const Record& r = records.at(merge);
  EXPECT_TRUE(r.merge_resolution());
  ASSERT_EQ(r.parents_size(), 2);
  EXPECT_EQ(r.parents(0), Trim(repo.Git("rev-parse " + merge + "^1")));
  EXPECT_EQ(r.parents(1), Trim(repo.Git("rev-parse " + merge + "^2")));
  ASSERT_EQ(r.files_size(), 1);  // only a.c differs from both parents in a kept hunk
  EXPECT_EQ(r.files(0).path(), "a.c");
  EXPECT_EQ(r.files(0).patch(), want);
  EXPECT_EQ(r.files(0).language(), "C");
  EXPECT_EQ(r.files(0).added(), 1);    // one line new relative to the first parent
  EXPECT_EQ(r.files(0).deleted(), 1);  // "main" deleted relative to the first parent
  ASSERT_EQ(r.files(0).hunks_size(), 1);
  EXPECT_EQ(r.files(0).hunks(0).new_start(), 2);
  EXPECT_EQ(stats.merge_resolutions, 1);
  EXPECT_EQ(stats.merges_skipped, 0);
  for (const auto& [id, rec] : records) {
    if (id != merge) {
      EXPECT_FALSE(rec.merge_resolution()) << id;
    }
  }
}

//   * M  merge feature (clean: the sides touched different files)
//   |
//   | * F  feature: edits b.txt
//   * | C  main: edits a.txt
//   |/
//   * B  a.txt, b.txt
TEST(CombinedDiffTest, CleanMergeYieldsNoRecord) {
  GitRepo repo;
  repo.Write("a.txt", Lines(1, 10));
  repo.Write("b.txt", Lines(1, 10));
  repo.CommitAll("base\n");
  repo.Git("checkout -q -b feature");
  repo.Write("b.txt", Lines(1, 9) + "feature\n");
  repo.CommitAll("feature\n");
  repo.Git("checkout -q main");
  repo.Write("a.txt", "main\n" + Lines(2, 10));
  repo.CommitAll("main\n");
  repo.Git("merge -q --no-edit feature");
  std::string merge = Trim(repo.Git("rev-parse HEAD"));

  EXPECT_EQ(GitCc(repo, merge), "");
  EXPECT_EQ(MinerCc(repo.path(), merge), "");
  WalkStats stats;
  auto records = MineAll(repo.path(), &stats);
  EXPECT_EQ(records.count(merge), 0u);
  EXPECT_EQ(records.size(), 3u);
  EXPECT_EQ(stats.merges_skipped, 1);
  EXPECT_EQ(stats.merge_resolutions, 0);
}

//   *   O  octopus merge of x, y and z, plus a hand edit of all.txt (differs from all parents)
//   |\   (three parents)
//   | | * z: edits z.txt and all.txt line 9
//   | * | y: edits y.txt
//   | |/
//   * / x: edits x.txt and all.txt line 2
//   |/
//   * B  x.txt, y.txt, z.txt, all.txt
TEST(CombinedDiffTest, OctopusMergeWithHandEdit) {
  GitRepo repo;
  for (const char* f : {"x.txt", "y.txt", "z.txt", "all.txt"}) repo.Write(f, Lines(1, 12, f));
  repo.CommitAll("base\n");
  for (const char* b : {"x", "y", "z"}) {
    repo.Git(fmt::format("checkout -q -b {} main", b));
    repo.Write(fmt::format("{}.txt", b), Lines(1, 5, b) + "changed on " + b + "\n");
    if (std::string(b) == "x")
      repo.Write("all.txt", Lines(1, 1, "all.txt") + "x\n" + Lines(3, 12, "all.txt"));
    if (std::string(b) == "z")
      repo.Write("all.txt", Lines(1, 8, "all.txt") + "z\n" + Lines(10, 12, "all.txt"));
    repo.CommitAll(fmt::format("edit on {}\n", b));
  }
  repo.Git("checkout -q x");
  repo.Git("merge -q --no-commit y z");
  repo.Write("all.txt", Lines(1, 1, "all.txt") + "x\n" + Lines(3, 5, "all.txt") + "octopus\n" +
                            Lines(7, 8, "all.txt") + "z\n" + Lines(10, 12, "all.txt"));
  std::string merge = repo.CommitAll("Merge branches 'y' and 'z'\n");
  ASSERT_EQ(Trim(repo.Git("rev-list --parents -n1 " + merge)).size(), 4 * 40 + 3u);

  std::string want = GitCc(repo, merge);
  ASSERT_NE(want.find("@@@@"), std::string::npos) << want;
  EXPECT_EQ(MinerCc(repo.path(), merge), want);
  WalkStats stats;
  auto records = MineAll(repo.path(), &stats);
  ASSERT_EQ(records.count(merge), 1u);
  EXPECT_TRUE(records.at(merge).merge_resolution());
  EXPECT_EQ(records.at(merge).parents_size(), 3);
}

// A small deterministic generator (no std::rand: the same sequence everywhere).
class Lcg {
 public:
  explicit Lcg(uint64_t seed) : s_(seed) {}
  uint32_t Next(uint32_t bound) {
    s_ = s_ * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(s_ >> 33) % bound;
  }

 private:
  uint64_t s_;
};

// Rewrites some lines of `text` (one per line, no blank lines): deletes, inserts, replaces,
// each chosen by `rng`; `tag` makes new lines distinct per branch.
std::string Mutate(const std::string& text, Lcg& rng, const std::string& tag) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  int edits = 1 + static_cast<int>(rng.Next(4));
  for (int e = 0; e < edits; ++e) {
    uint32_t at = lines.empty() ? 0 : rng.Next(static_cast<uint32_t>(lines.size()));
    switch (rng.Next(4)) {
      case 0:
        if (!lines.empty()) lines.erase(lines.begin() + at);
        break;
      case 1:
        lines.insert(lines.begin() + at, fmt::format("{} new {}", tag, rng.Next(1000)));
        break;
      case 2:
        if (!lines.empty()) lines[at] = fmt::format("{} changed {}", tag, rng.Next(1000));
        break;
      default:
        // A line shared by both sides' edits, so deletions coalesce.
        if (!lines.empty()) lines[at] = "common edit";
        break;
    }
  }
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// Many generated merges: two sides edit the same files at random places, and the merge result
// is a third random edit of the conflicted files (or the clean merge). Every merge's combined
// diff must equal git's.
//   * M_k  merge side_k (result: the clean merge, or a random edit of each file)
//   |
//   | * side_k: random edits of f0..f2
//   * | main_k: random edits of f0..f2
//   |/
//   * M_(k-1) ... (k = 0..24)
TEST(CombinedDiffTest, GeneratedMergesMatchGit) {
  GitRepo repo;
  Lcg rng(20261127);
  std::vector<std::string> files = {"f0.c", "f1.py", "f2.txt"};
  std::map<std::string, std::string> content;
  for (const auto& f : files) {
    content[f] = Lines(1, 30, f);
    repo.Write(f, content[f]);
  }
  repo.CommitAll("base\n");
  std::vector<std::string> merges;
  for (int k = 0; k < 25; ++k) {
    std::string side = fmt::format("side{}", k);
    repo.Git("checkout -q -b " + side);
    std::map<std::string, std::string> theirs = content, ours = content;
    for (const auto& f : files) {
      if (rng.Next(3) != 0) theirs[f] = Mutate(content[f], rng, "theirs");
      repo.Write(f, theirs[f]);
    }
    repo.CommitAll(side + "\n", true);
    repo.Git("checkout -q main");
    for (const auto& f : files) {
      if (rng.Next(3) != 0) ours[f] = Mutate(content[f], rng, "ours");
      repo.Write(f, ours[f]);
    }
    repo.CommitAll(fmt::format("main {}\n", k), true);
    (void)repo.GitResult("merge -q --no-commit " + side);
    for (const auto& f : files) {
      // Resolve every file: keep one side, or write a new text built from both.
      std::string result;
      switch (rng.Next(3)) {
        case 0:
          result = ours[f];
          break;
        case 1:
          result = theirs[f];
          break;
        default:
          result = Mutate(rng.Next(2) ? ours[f] : theirs[f], rng, "merge");
      }
      repo.Write(f, result);
      content[f] = result;
    }
    merges.push_back(repo.CommitAll(fmt::format("Merge {}\n", side), true));
  }
  int with_resolution = 0;
  for (const auto& m : merges) {
    std::string want = GitCc(repo, m);
    if (!want.empty()) ++with_resolution;
    EXPECT_EQ(MinerCc(repo.path(), m), want) << "merge " << m;
  }
  EXPECT_GT(with_resolution, 5);  // the generator does produce resolutions
  WalkStats stats;
  auto records = MineAll(repo.path(), &stats);
  EXPECT_EQ(stats.merge_resolutions, with_resolution);
  EXPECT_EQ(stats.merges_skipped, 25 - with_resolution);
}

}  // namespace
}  // namespace fixmine::miner
