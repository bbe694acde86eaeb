// End to end: trajectories mined by the real fixmined, read through the real `fixmine` CLI
// (`trajectories stream|get`), with filters, resume tokens and the chat format.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "fmt/format.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

using testutil::CommandResult;
using testutil::GitRepo;
using testutil::JsonField;
using testutil::Lines;
using testutil::ShellQuote;
using testutil::TestServer;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string ResumeToken(const std::string& err) {
  size_t p = err.find("resume_token: ");
  if (p == std::string::npos) return "";
  size_t e = err.find('\n', p);
  return err.substr(p + 14, e - p - 14);
}

size_t Count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

//   *   M2 Merge pull request #12 from ada/docs     (1 step)
//   |\  (merge)
//   | * d1 Write the widget docs
//   * |   M1 Merge pull request #11 from ada/widget  (3 steps, one a fix)
//   |\ \  (merge)
//   | |/
//   |/|
//   | * w3 widget: tests
//   | * w2 Fix the widget count, fixes #4
//   | * w1 widget: add
//   |/
//   * a  base
class TrajectoryEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_.Write("a.txt", "a\n");
    repo_.CommitAll("base\n");
    repo_.Git("checkout -q -b widget");
    repo_.Write("w.c", "int w = 1;\n");
    w_.push_back(repo_.CommitAll("widget: add\n"));
    repo_.Write("w.c", "int w = 2;\n");
    w_.push_back(repo_.CommitAll("Fix the widget count, fixes #4\n"));
    repo_.Write("w_test.c", "int t;\n");
    w_.push_back(repo_.CommitAll("widget: tests\n"));
    repo_.Git("checkout -q main");
    repo_.Git(
        "merge -q --no-ff widget -m 'Merge pull request #11 from ada/widget' -m 'Add the widget'");
    m1_ = Trim(repo_.Git("rev-parse HEAD"));
    repo_.Git("checkout -q -b docs");
    repo_.Write("README", "widget docs\n");
    d1_ = repo_.CommitAll("Write the widget docs\n");
    repo_.Git("checkout -q main");
    repo_.Git("merge -q --no-ff docs -m 'Merge pull request #12 from ada/docs' -m 'Document it'");
    server_ = std::make_unique<TestServer>(repo_.path());
    ASSERT_TRUE(server_->Start());
    CommandResult add = Cli(fmt::format("repo add {} --name demo", ShellQuote(repo_.path())));
    ASSERT_EQ(add.exit_code, 0) << add.err;
    CommandResult mine = Cli("mine demo --wait");
    ASSERT_EQ(mine.exit_code, 0) << mine.err;
  }

  CommandResult Cli(const std::string& args) { return server_->Cli(args); }

  std::vector<std::string> Stream(const std::string& filter) {
    CommandResult r = Cli("trajectories stream --filter " + ShellQuote(filter));
    EXPECT_EQ(r.exit_code, 0) << filter << ": " << r.err;
    return Lines(r.out);
  }

  GitRepo repo_;
  std::vector<std::string> w_;
  std::string m1_, d1_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(TrajectoryEndToEnd, StreamAndGetReturnTheMergedPullRequests) {
  CommandResult all = Cli("trajectories stream");
  ASSERT_EQ(all.exit_code, 0) << all.err;
  std::vector<std::string> lines = Lines(all.out);
  ASSERT_EQ(lines.size(), 2u) << all.out;
  // Newest merge first: #12 then #11.
  EXPECT_NE(lines[0].find("\"pr_number\":\"12\""), std::string::npos) << lines[0];
  const std::string& widget = lines[1];
  EXPECT_EQ(JsonField(widget, "merge_commit"), m1_);
  EXPECT_EQ(JsonField(widget, "title"), "Add the widget");
  EXPECT_NE(widget.find("\"any_fix\":true"), std::string::npos) << widget;
  EXPECT_NE(
      widget.find(fmt::format("\"step_commits\":[\"{}\",\"{}\",\"{}\"]", w_[0], w_[1], w_[2])),
      std::string::npos)
      << widget;
  std::string id = JsonField(widget, "id");
  ASSERT_FALSE(id.empty());

  CommandResult get = Cli("trajectories get " + id);
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(Trim(get.out), widget);

  // Each step record carries the trajectory id and its step.
  for (int i = 0; i < 3; ++i) {
    CommandResult r = Cli("records stream --filter " + ShellQuote("commit = \"" + w_[i] + "\""));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(JsonField(r.out, "trajectory_id"), id);
    if (i > 0) {
      EXPECT_NE(r.out.find(fmt::format("\"trajectory_step\":{}", i)), std::string::npos) << r.out;
    }
  }

  CommandResult missing = Cli("trajectories get 000000000000000000000000");
  EXPECT_EQ(missing.exit_code, 1) << missing.err;
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;
}

TEST_F(TrajectoryEndToEnd, FiltersSelectByTrajectoryFields) {
  EXPECT_EQ(Stream("step_count >= 3").size(), 1u);
  EXPECT_EQ(Stream("step_count > 3").size(), 0u);
  EXPECT_EQ(Stream("step_count = 1").size(), 1u);
  EXPECT_EQ(Stream("repo = \"demo\"").size(), 2u);
  EXPECT_EQ(Stream("repo = \"other\"").size(), 0u);
  std::vector<std::string> docs = Stream("title:\"DOCUMENT\"");
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_NE(docs[0].find(d1_), std::string::npos);
  EXPECT_EQ(Stream("any_fix").size(), 1u);
  EXPECT_EQ(Stream("NOT is_fix").size(), 1u);
  EXPECT_EQ(Stream("any_fix AND step_count = 1").size(), 0u);
  EXPECT_EQ(Stream("pr_number = 12 AND kind = \"merge\"").size(), 1u);

  CommandResult bad = Cli("trajectories stream --filter " + ShellQuote("steps > 1"));
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("unknown field"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("step_count"), std::string::npos) << bad.err;
  CommandResult bad_format = Cli("trajectories stream --format swe");
  EXPECT_EQ(bad_format.exit_code, 2) << bad_format.err;
}

TEST_F(TrajectoryEndToEnd, StreamCutAndResumedYieldsEachTrajectoryOnce) {
  std::vector<std::string> all = Lines(Cli("trajectories stream").out);
  ASSERT_EQ(all.size(), 2u);
  CommandResult first = Cli("trajectories stream --limit 1");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_EQ(Lines(first.out).size(), 1u);
  std::string token = ResumeToken(first.err);
  ASSERT_FALSE(token.empty()) << first.err;
  CommandResult rest = Cli("trajectories stream --resume-token " + token);
  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  std::vector<std::string> got = Lines(first.out);
  for (const auto& l : Lines(rest.out)) got.push_back(l);
  EXPECT_EQ(got, all);
  // A token is only valid with its filter.
  CommandResult other = Cli("trajectories stream --filter any_fix --resume-token " + token);
  EXPECT_EQ(other.exit_code, 2) << other.err;
  // Re-mining finds nothing new and stores nothing twice.
  CommandResult mine = Cli("mine demo --wait");
  ASSERT_EQ(mine.exit_code, 0) << mine.err;
  EXPECT_EQ(Lines(Cli("trajectories stream").out), all);
}

TEST_F(TrajectoryEndToEnd, ChatIsOneTurnPairPerStep) {
  std::vector<std::string> widget = Stream("pr_number = 11");
  ASSERT_EQ(widget.size(), 1u);
  CommandResult chat = Cli("trajectories get --format chat " + JsonField(widget[0], "id"));
  ASSERT_EQ(chat.exit_code, 0) << chat.err;
  EXPECT_EQ(Count(chat.out, "\"role\":\"system\""), 1u) << chat.out;
  EXPECT_EQ(Count(chat.out, "\"role\":\"user\""), 3u) << chat.out;
  EXPECT_EQ(Count(chat.out, "\"role\":\"assistant\""), 3u) << chat.out;
  // Steps in order: the first user turn is w1's message, the second w2's.
  size_t u1 = chat.out.find("\"content\":\"widget: add\"");
  size_t u2 = chat.out.find("\"content\":\"Fix the widget count, fixes #4\"");
  ASSERT_NE(u1, std::string::npos) << chat.out;
  ASSERT_NE(u2, std::string::npos) << chat.out;
  EXPECT_LT(u1, u2);
  EXPECT_NE(chat.out.find("+int w = 2;"), std::string::npos) << chat.out;
  CommandResult streamed =
      Cli("trajectories stream --format chat --filter " + ShellQuote("pr_number = 11"));
  ASSERT_EQ(streamed.exit_code, 0) << streamed.err;
  EXPECT_EQ(streamed.out, chat.out);
}

// `fixmined --trajectories off`: the same repository mined by a second server stores no
// trajectory, and its records are the first server's with the trajectory fields left out.
TEST_F(TrajectoryEndToEnd, TrajectoriesOffStoresNoneAndTheSameRecords) {
  CommandResult with = Cli("records stream");
  ASSERT_EQ(with.exit_code, 0) << with.err;
  ASSERT_EQ(Count(with.out, "\"trajectory_id\""), 4u) << with.out;  // w1, w2, w3, d1

  TestServer off(repo_.path(), {"--trajectories", "off"});
  ASSERT_TRUE(off.Start());
  CommandResult add = off.Cli(fmt::format("repo add {} --name demo", ShellQuote(repo_.path())));
  ASSERT_EQ(add.exit_code, 0) << add.err;
  CommandResult mine = off.Cli("mine demo --wait");
  ASSERT_EQ(mine.exit_code, 0) << mine.err;
  CommandResult none = off.Cli("trajectories stream");
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(none.out, "");
  CommandResult without = off.Cli("records stream");
  ASSERT_EQ(without.exit_code, 0) << without.err;
  EXPECT_EQ(Count(without.out, "trajectory_"), 0u) << without.out;

  static const std::regex kTrajectoryFields(R"(,?"trajectory_(id":"[^"]*"|step":[0-9]+))");
  std::string expected = std::regex_replace(with.out, kTrajectoryFields, "");
  ASSERT_NE(expected, with.out);
  EXPECT_EQ(Lines(without.out).size(), Lines(with.out).size());
  EXPECT_EQ(without.out, expected);

  // Anything but on|off is a usage error.
  CommandResult bad =
      testutil::RunShell(testutil::FixmindPath() + " --data-dir /nonexistent --trajectories maybe");
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("--trajectories"), std::string::npos) << bad.err;
}

// A pull request whose combined diff is over the byte budget (`--max-record-bytes`, here its
// least, 1 MiB): the job stores it shed (patches left out, largest first, each file marked) and
// marked, and `trajectories stream` and `get` return it whole to the end. Before the budget, a
// 232 MB trajectory ended every stream over it ("Sent message larger than max").
TEST(TrajectoryBudgetEndToEnd, OversizedCombinedDiffStreamsShedAndMarked) {
  GitRepo repo;
  repo.Write("a.txt", "a\n");
  repo.CommitAll("base\n");
  repo.Git("checkout -q -b big");
  // Four steps of six 66 KB files (patch and hunks: about 130 KB a file): each step's record
  // fits 1 MiB, the combined diff (about 3.2 MB) does not.
  for (int c = 0; c < 4; ++c) {
    for (int f = 0; f < 6; ++f) {
      std::string text;
      for (int i = 0; i < 1000; ++i) text += fmt::format("c{}f{} line {:06} {:040}\n", c, f, i, i);
      repo.Write(fmt::format("d{}/f{}.txt", c, f), text);
    }
    repo.CommitAll(fmt::format("add part {}\n", c));
  }
  repo.Git("checkout -q main");
  repo.Git("merge -q --no-ff big -m 'Merge pull request #77 from ada/big' -m 'A big one'");

  TestServer server(repo.path(), {"--max-record-bytes", "1048576"});
  ASSERT_TRUE(server.Start());
  CommandResult add = server.Cli(fmt::format("repo add {} --name big", ShellQuote(repo.path())));
  ASSERT_EQ(add.exit_code, 0) << add.err;
  CommandResult mine = server.Cli("mine big --wait");
  ASSERT_EQ(mine.exit_code, 0) << mine.err;

  CommandResult stream = server.Cli("trajectories stream");
  ASSERT_EQ(stream.exit_code, 0) << stream.err;
  std::vector<std::string> lines = Lines(stream.out);
  ASSERT_EQ(lines.size(), 1u) << stream.err;
  const std::string& t = lines[0];
  EXPECT_NE(t.find("\"pr_number\":\"77\""), std::string::npos);
  EXPECT_NE(t.find("\"step_count\":4"), std::string::npos);
  // Every file is still listed; the patches left out are marked, and the trajectory is marked.
  EXPECT_EQ(Count(t, "\"path\":\"d"), 24u);
  const size_t shed_files = Count(
      t,
      "\"unavailable_reason\":\"the trajectory is over its 1048576-byte budget: the patch was "
      "left out\"");
  EXPECT_GE(shed_files, 16u);  // at most about 8 of the 130 KB files fit in 1 MiB
  EXPECT_LT(shed_files, 24u);
  EXPECT_NE(t.find(fmt::format("\"shed\":{{\"patches\":{},", shed_files)), std::string::npos)
      << t.substr(t.find("\"shed\""));
  EXPECT_NE(t.find("over the 1048576-byte budget (--max-record-bytes)"), std::string::npos);
  // 1 MiB serialized; the JSON line is a little larger (escapes, field names), the whole diff
  // would be over 3 MB.
  EXPECT_LT(t.size(), size_t{3} << 19);

  CommandResult get = server.Cli("trajectories get " + JsonField(t, "id"));
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(Trim(get.out), t);
  // The step records themselves are within budget and keep their patches.
  CommandResult records = server.Cli("records stream");
  ASSERT_EQ(records.exit_code, 0) << records.err;
  EXPECT_EQ(Lines(records.out).size(), 5u);
  EXPECT_EQ(Count(records.out, "over its 1048576-byte budget"), 0u);
}

}  // namespace
}  // namespace fixmine
