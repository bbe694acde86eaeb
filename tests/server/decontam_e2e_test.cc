// Decontamination through the real fixmined and CLI: a commit pasting a reformatted benchmark
// solution is labelled contaminated after `bench add` (by the background re-check) and hidden
// from reads by default; a commit sharing only short lines is not; a commit mined after the
// benchmark was added is labelled at mining time; `bench rm` clears the labels.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "fmt/format.h"
#include "tests/testutil/benchmark_text.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

using testutil::CommandResult;

// HumanEval/0's canonical solution.
constexpr const char* kSolution = testutil::kHumanEvalZeroSolution;

// Polls `records count ARGS` until it prints `want` (at most about 20 s).
std::string CountUntil(const testutil::TestServer& server, const std::string& args,
                       const std::string& want) {
  std::string last;
  for (int i = 0; i < 200; ++i) {
    last = server.Cli("records count " + args).out;
    if (last == want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return last;
}

TEST(DecontamE2e, BenchAddLabelsStoredAndNewRecordsAndReadsExcludeThem) {
  testutil::GitRepo repo;
  repo.Write("src/close.py", testutil::kHumanEvalZeroPasted);
  std::string pasted = repo.CommitAll("Add has_close_elements\n");
  repo.Write("src/other.py",
             "def check(values):\n"
             "    for idx, elem in values:\n"
             "        print(idx)\n"
             "    return False\n");
  std::string unrelated = repo.CommitAll("Add check\n");

  std::string parent = std::filesystem::path(repo.path()).parent_path().string();
  std::string bench_file =
      (std::filesystem::path(parent) / fmt::format("humaneval0_{}.py", ::getpid())).string();
  {
    std::ofstream out(bench_file);
    out << kSolution;
  }
  testutil::TestServer server(parent);
  ASSERT_TRUE(server.Start());
  CommandResult add =
      server.Cli(fmt::format("repo add {} --name r", testutil::ShellQuote(repo.path())));
  ASSERT_EQ(add.exit_code, 0) << add.err;
  CommandResult mine = server.Cli("mine r --wait");
  ASSERT_EQ(mine.exit_code, 0) << mine.err;
  EXPECT_EQ(server.Cli("records count").out, "2\n");

  CommandResult bench = server.Cli("bench add humaneval " + testutil::ShellQuote(bench_file));
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  EXPECT_TRUE(absl::StrContains(bench.out, "1 items")) << bench.out;
  CommandResult list = server.Cli("bench list");
  EXPECT_TRUE(absl::StrContains(list.out, "humaneval")) << list.out;

  EXPECT_EQ(CountUntil(server, "--filter contaminated --include-contaminated", "1\n"), "1\n");
  // The re-check ran as a job that the job commands show.
  std::string recheck;  // the JSON line of the re-check job, once it has succeeded
  for (int i = 0; i < 200 && recheck.empty(); ++i) {
    std::istringstream jobs(server.Cli("job list --output jsonl").out);
    for (std::string line; std::getline(jobs, line);) {
      if (absl::StrContains(line, "\"kind\":\"decontaminate\"") &&
          absl::StrContains(line, "SUCCEEDED"))
        recheck = line;
    }
    if (recheck.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(recheck.empty());
  EXPECT_TRUE(absl::StrContains(recheck, "\"records_written\":\"1\"")) << recheck;
  EXPECT_TRUE(absl::StrContains(recheck, "\"commits_walked\":\"2\"")) << recheck;
  EXPECT_EQ(server.Cli("records count").out, "1\n");
  EXPECT_EQ(server.Cli("records count --include-contaminated").out, "2\n");
  CommandResult stream = server.Cli("records stream --include-contaminated --filter contaminated");
  ASSERT_EQ(stream.exit_code, 0) << stream.err;
  EXPECT_TRUE(absl::StrContains(stream.out, "\"commit\":\"" + pasted + "\"")) << stream.out;
  EXPECT_TRUE(absl::StrContains(stream.out, "\"benchmark\":\"humaneval\"")) << stream.out;
  std::string item = std::filesystem::path(bench_file).filename().string();
  EXPECT_TRUE(absl::StrContains(stream.out, "\"item\":\"" + item + "\"")) << stream.out;
  // The default read hides it; the record sharing only short lines stays.
  CommandResult plain = server.Cli("records stream");
  EXPECT_FALSE(absl::StrContains(plain.out, "\"commit\":\"" + pasted + "\"")) << plain.out;
  EXPECT_TRUE(absl::StrContains(plain.out, "\"commit\":\"" + unrelated + "\"")) << plain.out;

  // Mined after the benchmark was added: labelled at mining time.
  repo.Write("src/again.py", "def close_again(numbers, threshold):\n" + std::string(kSolution));
  std::string later = repo.CommitAll("Add close_again\n");
  mine = server.Cli("mine r --wait");
  ASSERT_EQ(mine.exit_code, 0) << mine.err;
  CommandResult labelled =
      server.Cli("records stream --include-contaminated --filter contaminated");
  EXPECT_TRUE(absl::StrContains(labelled.out, "\"commit\":\"" + later + "\"")) << labelled.out;
  EXPECT_EQ(server.Cli("records count").out, "1\n");

  // Validation, and removal clears the labels.
  EXPECT_NE(server.Cli("bench add x " + testutil::ShellQuote(bench_file) + " --ngram 4").exit_code,
            0);
  EXPECT_NE(server.Cli("bench rm nosuch").exit_code, 0);
  ASSERT_EQ(server.Cli("bench rm humaneval").exit_code, 0);
  EXPECT_EQ(CountUntil(server, "", "3\n"), "3\n");
  std::filesystem::remove(bench_file);
}

}  // namespace
}  // namespace fixmine
