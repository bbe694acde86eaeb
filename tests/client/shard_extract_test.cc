// `fixmine extract --repo-list --shard-index --shard-count --out`: the Kubernetes Indexed Job
// command, through the real fixmine binary over repositories built with the git CLI.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "client/shard.h"
#include "fixmine/v1/records.pb.h"
#include "fmt/format.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tests/testutil/git_repo.h"

namespace fixmine {
namespace {

namespace fs = std::filesystem;
using testutil::CommandResult;
using testutil::ShellQuote;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Fnv1a64, MatchesTheReferenceVectors) {
  // Published FNV-1a 64-bit test vectors.
  EXPECT_EQ(client::Fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(client::Fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(client::Fnv1a64("foobar"), 0x85944171f73967e8ULL);
  EXPECT_EQ(client::ShardOf("foobar", 3), 0x85944171f73967e8ULL % 3);
}

TEST(ReadRepoList, SkipsBlankLinesAndCommentsAndTrims) {
  testutil::TempDir dir;
  std::string path = dir.path() + "/list";
  std::ofstream(path) << "# repositories\n\n  a/b  \r\nhttps://example.com/x.git\n\t# note\nc\n";
  auto list = client::ReadRepoList(path);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(*list, (std::vector<std::string>{"a/b", "https://example.com/x.git", "c"}));
  auto missing = client::ReadRepoList(dir.path() + "/none");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
}

class ShardExtract : public ::testing::Test {
 protected:
  static constexpr int kRepos = 7;
  static constexpr int kShards = 3;

  void SetUp() override {
    // Repositories are named by fixed relative paths ("repos/rN") so that their shards are
    // the same in every run.
    fs::create_directories(work_.path() + "/repos");
    for (int i = 0; i < kRepos; ++i) {
      auto repo = std::make_unique<testutil::GitRepo>();
      for (int c = 0; c <= i % 3 + 1; ++c) {
        repo->Write(fmt::format("src/m{}.c", c),
                    fmt::format("int v{}_{}(void) {{ return {}; }}\n", i, c, c));
        repo->CommitAll(fmt::format("repo {} change {}\n", i, c));
      }
      std::string line = fmt::format("repos/r{}", i);
      fs::create_directory_symlink(repo->path(), work_.path() + "/" + line);
      // The oracle: every commit of the repository, by the git CLI.
      std::istringstream ids(repo->Git("rev-list --all"));
      for (std::string id; std::getline(ids, id);) {
        if (!id.empty()) expected_[fmt::format("r{}", i)].insert(id);
      }
      lines_.push_back(line);
      repos_.push_back(std::move(repo));
    }
    std::ofstream list(work_.path() + "/list.txt");
    list << "# generated repositories\n\n";
    for (const auto& l : lines_) list << l << "\n";
  }

  CommandResult Extract(const std::string& index_args) {
    return testutil::RunShell(fmt::format(
        "cd {} && {} {} extract --repo-list list.txt --shard-count {} --out out -q",
        ShellQuote(work_.path()), index_args, ShellQuote(testutil::CliPath()), kShards));
  }

  std::string Out(const std::string& name) { return work_.path() + "/out/" + name; }

  testutil::TempDir work_;
  std::vector<std::unique_ptr<testutil::GitRepo>> repos_;
  std::vector<std::string> lines_;
  std::map<std::string, std::set<std::string>> expected_;  // repo name -> commit ids
};

TEST_F(ShardExtract, EveryCommitLandsInExactlyOneShardAndRerunsSkipCompletedShards) {
  std::set<int> used;
  for (const auto& l : lines_) used.insert(static_cast<int>(client::ShardOf(l, kShards)));
  ASSERT_EQ(used.size(), static_cast<size_t>(kShards)) << "fixed names should fill every shard";

  // Shards 0 and 2 by flag, shard 1 the way a Kubernetes Indexed Job names it.
  std::vector<CommandResult> runs;
  runs.push_back(testutil::RunShell(fmt::format(
      "cd {} && {} extract --repo-list list.txt --shard-index 0 --shard-count {} --out out -q",
      ShellQuote(work_.path()), ShellQuote(testutil::CliPath()), kShards)));
  runs.push_back(Extract("JOB_COMPLETION_INDEX=1"));
  runs.push_back(testutil::RunShell(fmt::format(
      "cd {} && {} extract --repo-list list.txt --shard-index 2 --shard-count {} --out out -q",
      ShellQuote(work_.path()), ShellQuote(testutil::CliPath()), kShards)));
  for (int i = 0; i < kShards; ++i) ASSERT_EQ(runs[i].exit_code, 0) << i << ": " << runs[i].err;

  std::map<std::string, std::set<std::string>> seen;
  for (int shard = 0; shard < kShards; ++shard) {
    std::string stem = fmt::format("train-{}-of-{}", shard, kShards);
    ASSERT_TRUE(fs::exists(Out(stem + ".jsonl.zst"))) << stem;
    ASSERT_TRUE(fs::exists(Out(stem + ".done"))) << stem;
    CommandResult z = testutil::RunShell("zstd -dc " + ShellQuote(Out(stem + ".jsonl.zst")));
    ASSERT_EQ(z.exit_code, 0) << z.err;
    std::istringstream in(z.out);
    int64_t lines = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      ++lines;
      fixmine::v1::Record rec;
      google::protobuf::util::JsonParseOptions opts;
      opts.ignore_unknown_fields = true;
      ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &rec, opts).ok()) << line;
      EXPECT_TRUE(seen[rec.repo()].insert(rec.commit()).second)
          << rec.repo() << " " << rec.commit() << " appears twice";
      // The record's repository belongs to this shard by the documented hash.
      EXPECT_EQ(client::ShardOf("repos/" + rec.repo(), kShards), static_cast<uint64_t>(shard))
          << rec.repo();
    }
    // The marker's counts agree with the file.
    google::protobuf::Struct done;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(ReadFile(Out(stem + ".done")), &done).ok());
    EXPECT_EQ(static_cast<int64_t>(done.fields().at("records").number_value()), lines);
    EXPECT_EQ(static_cast<int>(done.fields().at("shard_index").number_value()), shard);
    EXPECT_FALSE(done.fields().at("finished_at").string_value().empty());
    int repos_here = 0;
    for (const auto& l : lines_) repos_here += client::ShardOf(l, kShards) == uint64_t(shard);
    EXPECT_EQ(static_cast<int>(done.fields().at("repos").number_value()), repos_here);
  }
  // Together the shards hold every commit of every repository (git rev-list is the oracle).
  EXPECT_EQ(seen, expected_);
  // No temporary files are left.
  for (const auto& e : fs::directory_iterator(work_.path() + "/out")) {
    EXPECT_NE(e.path().filename().string()[0], '.') << e.path();
  }

  // A rerun of a completed shard says it skips and leaves the files alone.
  std::string before = ReadFile(Out("train-1-of-3.jsonl.zst"));
  fs::remove(Out("train-1-of-3.jsonl.zst"));
  CommandResult again = Extract("JOB_COMPLETION_INDEX=1");
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("skipping"), std::string::npos) << again.err;
  EXPECT_FALSE(fs::exists(Out("train-1-of-3.jsonl.zst"))) << "a skipped shard was mined again";
  // Without its marker the shard is mined again, to the same bytes.
  fs::remove(Out("train-1-of-3.done"));
  CommandResult redo = Extract("JOB_COMPLETION_INDEX=1");
  EXPECT_EQ(redo.exit_code, 0) << redo.err;
  EXPECT_EQ(ReadFile(Out("train-1-of-3.jsonl.zst")), before);
  EXPECT_TRUE(fs::exists(Out("train-1-of-3.done")));
}

TEST_F(ShardExtract, BadShardArgumentsAreUsageErrors) {
  CommandResult no_index = Extract("env -u JOB_COMPLETION_INDEX");
  EXPECT_EQ(no_index.exit_code, 2);
  EXPECT_NE(no_index.err.find("--shard-index"), std::string::npos) << no_index.err;
  CommandResult too_big = Extract("JOB_COMPLETION_INDEX=3");
  EXPECT_EQ(too_big.exit_code, 2);
  EXPECT_NE(too_big.err.find("below the shard count"), std::string::npos) << too_big.err;
  CommandResult missing = testutil::RunShell(fmt::format(
      "cd {} && {} extract --repo-list nope.txt --shard-index 0 --shard-count 3 --out out",
      ShellQuote(work_.path()), ShellQuote(testutil::CliPath())));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nope.txt"), std::string::npos) << missing.err;
}

TEST_F(ShardExtract, WithStrictAMissingRepositoryFailsTheShardWithoutAMarker) {
  {
    std::ofstream list(work_.path() + "/list.txt", std::ios::app);
    // Find a missing repository name that falls in shard 0.
    for (int i = 0;; ++i) {
      std::string line = fmt::format("missing/m{}", i);
      if (client::ShardOf(line, kShards) == 0) {
        list << line << "\n";
        break;
      }
      ASSERT_LT(i, 1000);
    }
  }
  CommandResult r = testutil::RunShell(fmt::format(
      "cd {} && {} extract --repo-list list.txt --shard-index 0 --shard-count {} --out out -q "
      "--strict",
      ShellQuote(work_.path()), ShellQuote(testutil::CliPath()), kShards));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("missing/m"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(Out("train-0-of-3.done")));
  EXPECT_FALSE(fs::exists(Out("train-0-of-3.jsonl.zst")));
}

TEST_F(ShardExtract, FailedRepositoriesAreNamedInTheMarkersAndEveryShardCompletes) {
  const std::string missing = "missing/gone";
  const std::string unreachable = "http://127.0.0.1:1/x.git";
  std::ofstream(work_.path() + "/list.txt", std::ios::app) << missing << "\n"
                                                           << unreachable << "\n";
  std::string failed_names;
  for (int shard = 0; shard < kShards; ++shard) {
    CommandResult r = testutil::RunShell(fmt::format(
        "cd {} && {} extract --repo-list list.txt --shard-index {} --shard-count {} --out out -q "
        "--retries 1",
        ShellQuote(work_.path()), ShellQuote(testutil::CliPath()), shard, kShards));
    ASSERT_EQ(r.exit_code, 0) << shard << ": " << r.err;
    std::string stem = fmt::format("train-{}-of-{}", shard, kShards);
    ASSERT_TRUE(fs::exists(Out(stem + ".done"))) << stem;
    ASSERT_TRUE(fs::exists(Out(stem + ".jsonl.zst"))) << stem;
    ASSERT_TRUE(fs::exists(Out(stem + ".trajectories.jsonl.zst"))) << stem;
    google::protobuf::Struct done;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(ReadFile(Out(stem + ".done")), &done).ok());
    const auto& failed = done.fields().at("failed").list_value().values();
    for (const auto& f : failed) {
      const auto& o = f.struct_value().fields();
      std::string source = o.at("source").string_value();
      EXPECT_EQ(client::ShardOf(source, kShards), static_cast<uint64_t>(shard)) << source;
      EXPECT_FALSE(o.at("error").string_value().empty()) << source;
      failed_names += o.at("repo").string_value() + ";";
    }
    // Every repository of the shard has its counts; the failed ones are marked.
    const auto& per_repo = done.fields().at("per_repo").list_value().values();
    EXPECT_EQ(static_cast<int>(per_repo.size()),
              static_cast<int>(done.fields().at("repos").number_value()));
    for (const auto& e : per_repo) {
      const auto& o = e.struct_value().fields();
      bool bad =
          o.at("source").string_value() == missing || o.at("source").string_value() == unreachable;
      EXPECT_EQ(o.at("ok").bool_value(), !bad) << o.at("source").string_value();
      if (o.at("source").string_value() == unreachable) {
        EXPECT_EQ(o.at("attempts").number_value(), 2) << "one retry of a network failure";
      }
    }
  }
  EXPECT_NE(failed_names.find("gone;"), std::string::npos) << failed_names;
  EXPECT_NE(failed_names.find("127.0.0.1_1/x;"), std::string::npos) << failed_names;
  // A rerun skips every complete shard.
  for (int shard = 0; shard < kShards; ++shard) {
    CommandResult again = testutil::RunShell(fmt::format(
        "cd {} && {} extract --repo-list list.txt --shard-index {} --shard-count {} --out out -q",
        ShellQuote(work_.path()), ShellQuote(testutil::CliPath()), shard, kShards));
    EXPECT_EQ(again.exit_code, 0) << again.err;
    EXPECT_NE(again.err.find("skipping"), std::string::npos) << again.err;
  }
}

TEST(ResolveRepoList, NamesUrlsByHostAndPathAndRejectsCollidingNames) {
  auto ok = client::ResolveRepoList(
      {"https://github.com/a/x.git", "https://github.com/b/x", "srv/x.git", "other/x  x2"});
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_EQ(ok->size(), 4u);
  EXPECT_EQ((*ok)[0].name, "github.com/a/x");
  EXPECT_EQ((*ok)[1].name, "github.com/b/x");
  EXPECT_EQ((*ok)[2].name, "x");
  EXPECT_EQ((*ok)[3].source, "other/x");
  EXPECT_EQ((*ok)[3].name, "x2");
  auto clash = client::ResolveRepoList({"a/lib", "b/lib"});
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(clash.status().message().find("SOURCE NAME"), std::string::npos);
  EXPECT_FALSE(client::ResolveRepoList({"a/lib bad..name/"}).ok());
  auto twice = client::ResolveRepoList({"a/lib", "a/lib"});
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->size(), 1u);
}

// The sharded run mines each repository in the sandboxed worker (docs/security.md, "The mining
// worker"): a repository that borrows its objects from outside its folder (objects/info/
// alternates, as `git clone --shared` writes) cannot make the worker read them, while the
// in-process `extract REPO` does (the premise).
TEST(ShardWorker, ARepositoryCannotReadOutsideItsFolder) {
  testutil::GitRepo outside;
  outside.Write("secret.txt", "the secret\n");
  std::string secret = outside.CommitAll("secret");
  testutil::TempDir work;
  const std::string borrower = work.path() + "/borrower";
  CommandResult clone = testutil::RunShell(
      fmt::format("git clone -q --shared {} {}", ShellQuote(outside.path()), ShellQuote(borrower)));
  ASSERT_EQ(clone.exit_code, 0) << clone.err;
  ASSERT_TRUE(fs::exists(borrower + "/.git/objects/info/alternates"));
  const std::string& head = secret;  // the borrower's only commit

  CommandResult direct = testutil::RunShell(
      fmt::format("{} extract {} -q", ShellQuote(testutil::CliPath()), ShellQuote(borrower)));
  ASSERT_EQ(direct.exit_code, 0) << direct.err;
  ASSERT_NE(direct.out.find(head), std::string::npos) << "premise: extract REPO reads it";

  std::ofstream(work.path() + "/list.txt") << "borrower\n";
  CommandResult r = testutil::RunShell(fmt::format(
      "cd {} && {} extract --repo-list list.txt --shard-index 0 --shard-count 1 --out out -q",
      ShellQuote(work.path()), ShellQuote(testutil::CliPath())));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  CommandResult z =
      testutil::RunShell("zstd -dc " + ShellQuote(work.path() + "/out/train-0-of-1.jsonl.zst"));
  ASSERT_EQ(z.exit_code, 0) << z.err;
  EXPECT_EQ(z.out.find(head), std::string::npos) << "the worker read a commit outside its folder";
  EXPECT_EQ(z.out.find("the secret"), std::string::npos);
  // The entry is reported failed, by name.
  EXPECT_NE(r.err.find("borrower"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace fixmine
