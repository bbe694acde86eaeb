// End to end: the real fixmined on a loopback port, driven by the real fixmine binary.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "fmt/format.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

using testutil::CommandResult;
using testutil::GitRepo;
using testutil::Lines;
using testutil::TestServer;

// The "commit" field of each JSON line (the CLI prints proto JSON; the field is a 40-hex string).
std::vector<std::string> Commits(const std::string& jsonl) {
  std::vector<std::string> out;
  for (const auto& line : Lines(jsonl)) {
    size_t p = line.find("\"commit\":\"");
    EXPECT_NE(p, std::string::npos) << line;
    if (p != std::string::npos) out.push_back(line.substr(p + 10, 40));
  }
  return out;
}

std::set<std::string> GitLog(GitRepo& repo, const std::string& args) {
  std::set<std::string> out;
  for (const auto& l : Lines(repo.Git("log --all --format=%H " + args))) out.insert(l);
  return out;
}

std::string ResumeToken(const std::string& err) {
  size_t p = err.find("resume_token: ");
  if (p == std::string::npos) return "";
  size_t e = err.find('\n', p);
  return err.substr(p + 14, e - p - 14);
}

//   * e (main)  merge feature (no record)
//   |\   (feature branch)
//   | * d  add c.cc          (feature)
//   * | c  edit a.py
//   |/
//   * b  add b.go
//   * a  add a.py (root)
void BuildHistory(GitRepo& repo) {
  repo.Write("a.py", "def f():\n    return 1\n");
  repo.CommitAll("add a.py\n");
  repo.Write("b.go", "package main\n\nfunc main() {}\n");
  repo.CommitAll("add b.go\n");
  repo.Git("checkout -q -b feature");
  repo.Write("c.cc", "int main() { return 0; }\n");
  repo.CommitAll("add c.cc\n");
  repo.Git("checkout -q main");
  repo.Write("a.py", "def f():\n    return 2\n");
  repo.CommitAll("fix f in a.py\n");
  repo.Git("merge -q --no-ff feature -m 'merge feature'");
}

class EndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    BuildHistory(repo_);
    server_ = std::make_unique<TestServer>(repo_.path());
    ASSERT_TRUE(server_->Start());
  }

  CommandResult Cli(const std::string& args) { return server_->Cli(args); }

  void AddAndMine() {
    CommandResult add =
        Cli(fmt::format("repo add {} --name demo", testutil::ShellQuote(repo_.path())));
    ASSERT_EQ(add.exit_code, 0) << add.err;
    CommandResult mine = Cli("mine demo --wait");
    ASSERT_EQ(mine.exit_code, 0) << mine.err;
    EXPECT_NE(mine.out.find("SUCCEEDED"), std::string::npos) << mine.out;
  }

  GitRepo repo_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(EndToEnd, MineCountsEveryNonMergeCommit) {
  AddAndMine();
  std::set<std::string> non_merges = GitLog(repo_, "--no-merges");
  ASSERT_EQ(non_merges.size(), 4u);
  CommandResult count = Cli("records count");
  ASSERT_EQ(count.exit_code, 0) << count.err;
  EXPECT_EQ(count.out, "4\n");
  CommandResult stream = Cli("records stream");
  ASSERT_EQ(stream.exit_code, 0) << stream.err;
  std::vector<std::string> got = Commits(stream.out);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), non_merges);
  EXPECT_EQ(got.size(), non_merges.size());
}

TEST_F(EndToEnd, FiltersReturnExactlyTheMatchingRecords) {
  AddAndMine();
  struct Case {
    std::string filter;
    std::set<std::string> expected;
  };
  std::vector<Case> cases = {
      {"path:\"*.py\"", GitLog(repo_, "--no-merges -- '*.py'")},
      {"lang = \"Go\"", GitLog(repo_, "--no-merges -- '*.go'")},
      {"repo = \"demo\" AND message:\"fix\"", GitLog(repo_, "--no-merges --grep=fix")},
      {"NOT path:\"*.py\"", GitLog(repo_, "--no-merges -- '*.go' '*.cc'")},
      {"repo = \"other\"", {}},
  };
  for (const auto& c : cases) {
    CommandResult r = Cli("records stream --filter " + testutil::ShellQuote(c.filter));
    ASSERT_EQ(r.exit_code, 0) << c.filter << ": " << r.err;
    std::vector<std::string> got = Commits(r.out);
    EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), c.expected) << c.filter;
    EXPECT_EQ(got.size(), c.expected.size()) << c.filter;
    CommandResult n = Cli("records count --filter " + testutil::ShellQuote(c.filter));
    EXPECT_EQ(n.out, fmt::format("{}\n", c.expected.size())) << c.filter << n.err;
  }
}

TEST_F(EndToEnd, StreamCutAndResumedYieldsEverythingOnce) {
  AddAndMine();
  std::vector<std::string> all = Commits(Cli("records stream").out);
  ASSERT_EQ(all.size(), 4u);
  for (int cut = 1; cut <= 3; ++cut) {
    CommandResult first = Cli(fmt::format("records stream --limit {}", cut));
    ASSERT_EQ(first.exit_code, 0) << first.err;
    std::string token = ResumeToken(first.err);
    ASSERT_FALSE(token.empty()) << first.err;
    CommandResult rest = Cli("records stream --resume-token " + token);
    ASSERT_EQ(rest.exit_code, 0) << rest.err;
    std::vector<std::string> got = Commits(first.out);
    std::vector<std::string> tail = Commits(rest.out);
    got.insert(got.end(), tail.begin(), tail.end());
    EXPECT_EQ(got, all) << "cut at " << cut;
  }
  // A token only works with the filter it was issued for.
  std::string token = ResumeToken(Cli("records stream --limit 1").err);
  CommandResult other = Cli("records stream --filter 'lang = \"Go\"' --resume-token " + token);
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_NE(other.err.find("different filter"), std::string::npos) << other.err;
}

TEST_F(EndToEnd, RestartKeepsEverythingAndRemineAddsOnlyNewCommits) {
  AddAndMine();
  ASSERT_TRUE(server_->Restart());
  EXPECT_EQ(Cli("records count").out, "4\n");
  EXPECT_NE(Cli("repo show demo").out.find("records:     4"), std::string::npos);

  repo_.Write("d.rs", "fn main() {}\n");
  std::string n1 = repo_.CommitAll("add d.rs\n");
  repo_.Write("d.rs", "fn main() { println!(\"x\"); }\n");
  std::string n2 = repo_.CommitAll("print in d.rs\n");
  CommandResult mine = Cli("mine demo --wait --output jsonl");
  ASSERT_EQ(mine.exit_code, 0) << mine.err;
  EXPECT_NE(mine.out.find("\"records_written\":\"2\""), std::string::npos) << mine.out;
  EXPECT_EQ(Cli("records count").out, "6\n");
  std::vector<std::string> rs = Commits(Cli("records stream --filter 'lang = \"Rust\"'").out);
  EXPECT_EQ(std::set<std::string>(rs.begin(), rs.end()), (std::set<std::string>{n1, n2}));
  // Mining again with nothing new adds nothing.
  ASSERT_EQ(Cli("mine demo --wait").exit_code, 0);
  EXPECT_EQ(Cli("records count").out, "6\n");
}

TEST_F(EndToEnd, BadRequestsGetClearErrorsAndTheServerKeepsServing) {
  AddAndMine();
  struct Case {
    std::string args;
    int exit_code;
    std::string message;
  };
  testutil::TempDir outside;
  std::vector<Case> cases = {
      {"records count --filter 'auther = \"x\"'", 2, "unknown field"},
      {"records stream --filter '(repo = \"demo\"'", 2, "filter"},
      {"records stream --resume-token not-a-token", 2, "resume_token"},
      {"repo show nope", 1, "nope"},
      {"records get 0123456789abcdef01234567", 1, "0123456789abcdef01234567"},
      {"job show job-none", 1, "job-none"},
      {"mine nope", 1, "nope"},
      {"repo add " + testutil::ShellQuote(outside.path()), 1, "outside the allowed roots"},
      {"repo add ''", 2, "source is empty"},
      {"repo add /definitely/not/here", 1, "does not exist"},
      {"repo add " + testutil::ShellQuote(repo_.path()) + " --name 'bad name'", 2, "invalid"},
      {"repo add " + testutil::ShellQuote(repo_.path()) + " --name demo", 1, "exists"},
      {"repo add ftp://example.com/x.git", 2, "scheme"},
      {"repo add https://user:pw@example.com/x.git", 2, "credentials"},
  };
  for (const auto& c : cases) {
    CommandResult r = Cli(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << "\n" << r.err;
  }
  EXPECT_EQ(Cli("health").exit_code, 0);
  EXPECT_EQ(Cli("records count").out, "4\n");
}

TEST_F(EndToEnd, RemoveRepositoryRemovesItsRecords) {
  AddAndMine();
  CommandResult rm = Cli("repo rm demo");
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_NE(rm.out.find("4 records"), std::string::npos) << rm.out;
  EXPECT_EQ(Cli("records count").out, "0\n");
  EXPECT_EQ(Cli("repo list --output jsonl").out, "");
}

TEST(EndToEndRemote, RemoteUrlIsClonedAsABareMirrorAndMined) {
  GitRepo origin;
  BuildHistory(origin);
  testutil::TempDir root;
  // A file:// URL obeys the allowed roots like a local path (docs/security.md).
  TestServer server(root.path(), {"--allow-scheme", "file", "--allowed-root", origin.path()});
  ASSERT_TRUE(server.Start());
  CommandResult add = server.Cli("repo add file://" + origin.path() + " --name mirror");
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_NE(add.out.find("remote"), std::string::npos) << add.out;
  CommandResult mine = server.Cli("mine mirror --wait");
  ASSERT_EQ(mine.exit_code, 0) << mine.err;
  EXPECT_EQ(server.Cli("records count").out, "4\n");
  // The mirror is bare, under the data folder, with every ref.
  CommandResult refs = testutil::RunShell("git --git-dir " + server.data_dir() +
                                          "/mirrors/mirror.git for-each-ref --format='%(refname)'");
  EXPECT_NE(refs.out.find("refs/heads/feature"), std::string::npos) << refs.out << refs.err;
  EXPECT_EQ(testutil::RunShell("git --git-dir " + server.data_dir() +
                               "/mirrors/mirror.git rev-parse --is-bare-repository")
                .out,
            "true\n");
  // New commits upstream arrive with --fetch.
  origin.Write("z.py", "x = 1\n");
  origin.CommitAll("add z.py\n");
  ASSERT_EQ(server.Cli("mine mirror --wait --fetch").exit_code, 0);
  EXPECT_EQ(server.Cli("records count").out, "5\n");
  // https stays the only scheme unless allowed.
  TestServer strict(root.path());
  ASSERT_TRUE(strict.Start());
  CommandResult refused = strict.Cli("repo add file://" + origin.path());
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("scheme"), std::string::npos) << refused.err;
}

TEST(EndToEndNoServer, UnreachableServerExitsThree) {
  CommandResult r = testutil::RunShell(testutil::ShellQuote(testutil::CliPath()) +
                                       " --server 127.0.0.1:1 records count");
  EXPECT_EQ(r.exit_code, 3) << r.err;
}

}  // namespace
}  // namespace fixmine
