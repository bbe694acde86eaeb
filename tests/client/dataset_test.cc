// `fixmine dataset` (client/dataset.h, docs/scale-out.md): the global stages over map shards
// written by `fixmine extract --repo-list`, run task by task through the real CLI, checked
// against the canonical rule computed here from the map shards; resumption and bad input.
// The same pipeline on a real Slurm cluster: tests/deploy/slurm_dataset_test.py.
#include "client/dataset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "client/zstd_reader.h"
#include "client/zstd_writer.h"
#include "curation/canonical.h"
#include "fixmine/v1/records.pb.h"
#include "fmt/format.h"
#include "google/protobuf/util/json_util.h"
#include "tests/testutil/git_repo.h"

namespace fixmine {
namespace {

namespace fs = std::filesystem;
using testutil::CommandResult;
using testutil::ShellQuote;

TEST(SplitOf, FreshFirstThenRepositoryHashAgainstFractions) {
  client::DatasetOptions o;
  EXPECT_EQ(client::SplitOf(o, "x", 100), "train");
  o.fresh_after = 1000;
  EXPECT_EQ(client::SplitOf(o, "x", 1001), "fresh");
  EXPECT_EQ(client::SplitOf(o, "x", 1000), "train");  // after, not at
  o.split = "repo";
  o.train = 0, o.validation = 0, o.test = 1;
  EXPECT_EQ(client::SplitOf(o, "x", 5), "test");
  o.train = 1, o.test = 0;
  EXPECT_EQ(client::SplitOf(o, "x", 5), "train");
  o.train = 0.5, o.validation = 0.25, o.test = 0.25;
  std::map<std::string, int> seen;
  for (int i = 0; i < 200; ++i) {
    std::string repo = fmt::format("github.com/o/r{}", i);
    std::string s = client::SplitOf(o, repo, 5);
    EXPECT_EQ(client::SplitOf(o, repo, 6), s);  // by repository only
    ++seen[s];
  }
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_GT(seen["train"], seen["test"]);
}

TEST(ZstdLineReader, ReadsWhatTheWriterWroteAndRefusesATruncatedFile) {
  testutil::TempDir dir;
  std::string path = dir.path() + "/a.zst";
  std::vector<std::string> lines = {"one", "", std::string(300000, 'x'), "last without newline"};
  client::ZstdFileWriter w;
  ASSERT_TRUE(w.Open(path).ok());
  for (size_t i = 0; i < lines.size(); ++i) {
    ASSERT_TRUE(w.Write(lines[i] + (i + 1 < lines.size() ? "\n" : "")).ok());
  }
  ASSERT_TRUE(w.Close().ok());
  client::ZstdLineReader r;
  ASSERT_TRUE(r.Open(path).ok());
  std::vector<std::string> got;
  std::string line;
  while (true) {
    auto more = r.Next(&line);
    ASSERT_TRUE(more.ok()) << more.status();
    if (!*more) break;
    got.push_back(line);
  }
  EXPECT_EQ(got, lines);
  // Cut the file short: DATA_LOSS, not a silently shorter read.
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    bytes = ss.str();
  }
  std::ofstream(dir.path() + "/cut.zst", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  client::ZstdLineReader cut;
  ASSERT_TRUE(cut.Open(dir.path() + "/cut.zst").ok());
  absl::Status st;
  while (true) {
    auto more = cut.Next(&line);
    if (!more.ok()) {
      st = more.status();
      break;
    }
    if (!*more) break;
  }
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  client::ZstdLineReader none;
  EXPECT_EQ(none.Open(dir.path() + "/none.zst").code(), absl::StatusCode::kNotFound);
}

std::string Table(int changed) {
  std::string t = "TABLE = [\n";
  for (int i = 0; i < 30; ++i) {
    t += i == changed ? fmt::format("  ({}, 'changed'),\n", i)
                      : fmt::format("  ({}, 'v{}'),\n", i, i);
  }
  return t + "]\n";
}

std::vector<fixmine::v1::Record> ReadShard(const std::string& path) {
  std::vector<fixmine::v1::Record> out;
  client::ZstdLineReader r;
  EXPECT_TRUE(r.Open(path).ok()) << path;
  std::string line;
  while (true) {
    auto more = r.Next(&line);
    EXPECT_TRUE(more.ok());
    if (!more.ok() || !*more) break;
    fixmine::v1::Record rec;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &rec).ok()) << line;
    out.push_back(rec);
  }
  return out;
}

class DatasetStages : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(work_.path() + "/repos");
    // up: three commits; its second fixes util.c; its third adds a 30-line table.
    up_.Write("util.c", "int a(void) { return 1; }\nint b(void) { return 2; }\n");
    up_.CommitAll("Add util");
    fix_ = up_.CommitAll("pad", true);  // moves up's fix an hour later than early's copy
    up_.Write("util.c", "int a(void) { return 0; }\nint b(void) { return 2; }\n");
    fix_ = up_.CommitAll("Fix a() returning the wrong value");
    up_.Write("table.py", Table(-1));
    table_ = up_.CommitAll("Add table");
    // fork: up's history plus one commit.
    fork_path_ = work_.path() + "/repos/fork";
    ASSERT_EQ(testutil::RunShell(
                  fmt::format("git clone -q {} {}", ShellQuote(up_.path()), ShellQuote(fork_path_)))
                  .exit_code,
              0);
    testutil::RunShell(fmt::format(
        "cd {} && printf 'x\\n' > fork.txt && git add -A && GIT_AUTHOR_DATE='1800000000 +0000' "
        "GIT_COMMITTER_DATE='1800000000 +0000' git -c user.name=F -c user.email=f@example.com "
        "commit -q -m 'Fork marker'",
        ShellQuote(fork_path_)));
    // early: the same fix, committed an hour before up's.
    early_.Write("util.c", "int a(void) { return 1; }\nint b(void) { return 2; }\n");
    early_.CommitAll("Import util");
    early_.Write("util.c", "int a(void) { return 0; }\nint b(void) { return 2; }\n");
    early_fix_ = early_.CommitAll("Fix a()");
    // near: the table with one line of 30 changed.
    near_.CommitAll("Start", true);
    near_.CommitAll("pad", true);
    near_.CommitAll("pad again", true);
    near_.Write("lib/table.py", Table(7));
    near_commit_ = near_.CommitAll("Add a table");
    for (auto [name, path] : {std::pair{"up", up_.path()}, std::pair{"early", early_.path()},
                              std::pair{"near", near_.path()}}) {
      fs::create_directory_symlink(path, work_.path() + "/repos/" + name);
    }
    std::ofstream(work_.path() + "/list.txt") << "repos/up\nrepos/fork\nrepos/early\nrepos/near\n";
  }

  CommandResult Cli(const std::string& args) {
    return testutil::RunShell(
        fmt::format("cd {} && env -u SLURM_ARRAY_TASK_ID -u "
                    "JOB_COMPLETION_INDEX {} {} 2>&1",
                    ShellQuote(work_.path()), ShellQuote(testutil::CliPath()), args));
  }

  // Runs the map step and every stage; returns the kept records by id.
  std::map<std::string, fixmine::v1::Record> RunAll(const std::string& dir, int n, int b) {
    for (int i = 0; i < n; ++i) {
      CommandResult r = Cli(fmt::format(
          "extract --repo-list list.txt --shard-index {} --shard-count {} --out {}/map -q", i, n,
          dir));
      EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    }
    std::string common = fmt::format("--dir {} --map-shards {} --partitions {}", dir, n, b);
    auto stage = [&](const std::string& name, int tasks) {
      for (int i = 0; i < tasks; ++i) {
        std::string index = tasks > 0 && name != "clusters" && name != "card"
                                ? fmt::format(" --shard-index {}", i)
                                : "";
        CommandResult r = Cli(fmt::format("dataset {} {}{}", name, common, index));
        EXPECT_EQ(r.exit_code, 0) << name << " " << i << ": " << r.out << r.err;
      }
    };
    stage("signatures", n);
    stage("buckets", b);
    stage("clusters", 1);
    stage("filter", n);
    stage("card", 1);
    std::map<std::string, fixmine::v1::Record> kept;
    for (int i = 0; i < n; ++i) {
      for (auto& r : ReadShard(fmt::format("{}/{}/data/train-{:05d}-of-{:05d}.jsonl.zst",
                                           work_.path(), dir, i, n))) {
        EXPECT_TRUE(kept.emplace(r.id(), r).second) << "written twice: " << r.id();
      }
    }
    return kept;
  }

  testutil::TempDir work_;
  testutil::GitRepo up_, early_, near_;
  std::string fork_path_, fix_, table_, early_fix_, near_commit_;
};

TEST_F(DatasetStages, KeepsOneCanonicalPerDuplicateGroupWhateverTheSharding) {
  auto kept = RunAll("run3x4", 3, 4);
  // Every map record, and the oracle: union by fingerprint and by commit, min (time, id).
  std::vector<fixmine::v1::Record> all;
  for (int i = 0; i < 3; ++i) {
    for (auto& r :
         ReadShard(fmt::format("{}/run3x4/map/train-{}-of-3.jsonl.zst", work_.path(), i))) {
      all.push_back(r);
    }
  }
  std::map<std::string, std::string> parent;
  for (const auto& r : all) parent[r.id()] = r.id();
  std::function<std::string(const std::string&)> find = [&](const std::string& x) {
    return parent[x] == x ? x : parent[x] = find(parent[x]);
  };
  std::map<std::string, std::string> first;
  for (const auto& r : all) {
    for (const std::string& key : {"f" + r.patch_fingerprint(), "c" + r.commit()}) {
      if (key.size() == 1) continue;
      auto [it, added] = first.emplace(key, r.id());
      if (!added) {
        std::string a = find(it->second), b = find(r.id());
        parent[std::max(a, b)] = std::min(a, b);
      }
    }
  }
  std::map<std::string, const fixmine::v1::Record*> best;
  for (const auto& r : all) {
    const fixmine::v1::Record*& b = best[find(r.id())];
    if (b == nullptr ||
        curation::CanonicalBefore(r.author().time(), r.id(), b->author().time(), b->id())) {
      b = &r;
    }
  }
  std::set<std::string> expected;
  for (const auto& [root, r] : best) expected.insert(r->id());
  std::set<std::string> got;
  for (const auto& [id, r] : kept) got.insert(id);
  EXPECT_EQ(got, expected);
  EXPECT_LT(got.size(), all.size());
  // The earlier copy of the fix wins over up's and the fork's.
  std::set<std::string> kept_commits;
  std::set<std::string> fingerprints;
  for (const auto& [id, r] : kept) {
    kept_commits.insert(r.commit());
    if (!r.patch_fingerprint().empty()) {
      EXPECT_TRUE(fingerprints.insert(r.patch_fingerprint()).second) << id;
    }
    EXPECT_TRUE(r.duplicate_of().empty());
    EXPECT_EQ(r.minhash_size(), 0);
  }
  EXPECT_TRUE(kept_commits.count(early_fix_));
  EXPECT_FALSE(kept_commits.count(fix_));
  EXPECT_TRUE(kept_commits.count(table_));
  // The near duplicate names up's table (earlier), with its similarity.
  for (const auto& [id, r] : kept) {
    if (r.commit() != near_commit_) continue;
    ASSERT_FALSE(r.near_duplicate_of().empty());
    EXPECT_EQ(kept.at(r.near_duplicate_of()).commit(), table_);
    EXPECT_GE(r.near_duplicate_similarity(), 80);
  }
  // One map shard and one partition: the same records, field for field.
  auto one = RunAll("run1x1", 1, 1);
  ASSERT_EQ(one.size(), kept.size());
  for (const auto& [id, r] : kept) {
    ASSERT_TRUE(one.count(id)) << id;
    EXPECT_EQ(one.at(id).SerializeAsString(), r.SerializeAsString()) << id;
  }
  std::ifstream card(work_.path() + "/run3x4/README.md");
  std::stringstream text;
  text << card.rdbuf();
  EXPECT_NE(text.str().find(fmt::format("num_examples: {}", kept.size())), std::string::npos)
      << text.str();
  // A filter task rerun with other settings: the card refuses to describe a mixed dataset.
  fs::remove(work_.path() + "/run3x4/stages/filter/1-of-3.done");
  fs::remove(work_.path() + "/run3x4/stages/card.done");
  CommandResult r =
      Cli("dataset filter --dir run3x4 --map-shards 3 --partitions 4 --shard-index 1 --split repo");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Cli("dataset card --dir run3x4 --map-shards 3 --partitions 4");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("filter task 0 ran with \"--preset default --split none"), std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(work_.path() + "/run3x4/stages/card.done"));
}

TEST_F(DatasetStages, DoneTasksAreSkippedAndUnfinishedInputsRefused) {
  CommandResult r =
      Cli("extract --repo-list list.txt --shard-index 0 --shard-count 1 --out d/map -q");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // buckets before signatures: refused, naming the missing marker.
  r = Cli("dataset buckets --dir d --map-shards 1 --partitions 2 --shard-index 0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("signatures stage is not complete"), std::string::npos) << r.out;
  r = Cli("dataset signatures --dir d --map-shards 1 --partitions 2 --shard-index 0");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::string part = work_.path() + "/d/stages/signatures/0-of-1.part-1-of-2.tsv";
  auto before = fs::last_write_time(part);
  r = Cli("dataset signatures --dir d --map-shards 1 --partitions 2 --shard-index 0");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("skipping"), std::string::npos) << r.out;
  EXPECT_EQ(fs::last_write_time(part), before);
  // The index from a Slurm array task, and bad indices.
  r = testutil::RunShell(fmt::format(
      "cd {} && SLURM_ARRAY_TASK_ID=1 {} dataset buckets --dir d --map-shards 1 --partitions 2 "
      "2>&1",
      ShellQuote(work_.path()), ShellQuote(testutil::CliPath())));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(fs::exists(work_.path() + "/d/stages/pairs/1-of-2.done"));
  r = Cli("dataset buckets --dir d --map-shards 1 --partitions 2 --shard-index 2");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("out of range"), std::string::npos) << r.out;
  r = Cli("dataset buckets --dir d --map-shards 1 --partitions 2 --shard-count 3 --shard-index 0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("must equal --partitions"), std::string::npos) << r.out;
  r = Cli("dataset buckets --dir d --map-shards 1 --partitions 2");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("SLURM_ARRAY_TASK_ID"), std::string::npos) << r.out;
  r =
      Cli("dataset filter --dir d --map-shards 1 --partitions 2 --shard-index 0 "
          "--split-fractions 0.5,0.5,0.5");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("summing to 1"), std::string::npos) << r.out;
  // A corrupt partition file: DATA_LOSS naming it, not a silently smaller dataset.
  std::ofstream(work_.path() + "/d/stages/signatures/0-of-1.part-0-of-2.tsv", std::ios::app)
      << "fbroken\n";
  r = Cli("dataset buckets --dir d --map-shards 1 --partitions 2 --shard-index 0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("part-0-of-2.tsv\" line"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace fixmine
