// Which refs a mining job walks (docs/operations.md, "Which refs a job walks"): the default
// branch by default, every branch or every branch and tag by --refs, hidden refs such as
// GitHub's refs/pull/* only when a --rev glob names them. Real fixmined and `fixmine` CLI; `git`
// is the oracle for which commits each selection reaches.
#include <gtest/gtest.h>

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

// The commits of the stored records.
std::set<std::string> StoredCommits(const TestServer& server) {
  CommandResult r = server.Cli("records stream");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> out;
  for (const std::string& line : Lines(r.out)) out.insert(JsonField(line, "commit"));
  return out;
}

// Non-merge commits `git rev-list` reaches from `args`.
std::set<std::string> GitCommits(GitRepo& repo, const std::string& args) {
  std::set<std::string> out;
  for (const std::string& c : Lines(repo.Git("rev-list --no-merges " + args))) out.insert(c);
  return out;
}

// A GitHub mirror's shape: main (the default branch, HEAD), a topic branch, a tag on a commit
// no branch reaches, and a pull request whose commits only refs/pull/7/head reaches, with
// GitHub's synthetic "Merge <sha> into <sha>" commit at refs/pull/7/merge.
struct MirrorLike {
  GitRepo repo;
  std::string pr_commit;
  std::string topic_commit;
  std::string tagged_commit;

  MirrorLike() {
    repo.Write("a.c", "int a;\n");
    repo.CommitAll("base\n");
    repo.Write("a.c", "int a = 1;\n");
    repo.CommitAll("fix: initialise a\n");
    // The pull request, on a branch deleted after its refs/pull refs are made.
    repo.Git("checkout -q -b pr");
    repo.Write("b.c", "int b;\n");
    pr_commit = repo.CommitAll("add b\n");
    repo.Git("checkout -q main");
    std::string main_tip = repo.Git("rev-parse HEAD").substr(0, 40);
    std::string tree = repo.Git("rev-parse " + pr_commit + "^{tree}").substr(0, 40);
    std::string synthetic = repo.Git(fmt::format("commit-tree {} -p {} -p {} -m 'Merge {} into {}'",
                                                 tree, main_tip, pr_commit, pr_commit, main_tip))
                                .substr(0, 40);
    repo.Git("update-ref refs/pull/7/head " + pr_commit);
    repo.Git("update-ref refs/pull/7/merge " + synthetic);
    repo.Git("branch -q -D pr");
    // A topic branch and a tag on an otherwise unreachable commit.
    repo.Git("checkout -q -b topic");
    repo.Write("c.c", "int c;\n");
    topic_commit = repo.CommitAll("topic work\n");
    repo.Git("checkout -q --detach main");
    repo.Write("d.c", "int d;\n");
    tagged_commit = repo.CommitAll("release only\n");
    repo.Git("tag v1");
    repo.Git("checkout -q main");
    repo.Write("a.c", "int a = 2;\n");
    repo.CommitAll("fix: a is two\n");
  }
};

TEST(DefaultRefs, DefaultMineWalksOnlyTheDefaultBranch) {
  MirrorLike m;
  GitRepo& repo = m.repo;
  TestServer server(repo.path());
  ASSERT_TRUE(server.Start());
  ASSERT_EQ(server.Cli(fmt::format("repo add {} --name mirror", ShellQuote(repo.path()))).exit_code,
            0);
  CommandResult mine = server.Cli("mine mirror --wait");
  ASSERT_EQ(mine.exit_code, 0) << mine.err;
  EXPECT_NE(mine.out.find("refs:              default"), std::string::npos) << mine.out;

  std::set<std::string> head = GitCommits(repo, "HEAD");
  ASSERT_EQ(head.size(), 3u);
  EXPECT_EQ(StoredCommits(server), head);
  // Before, every ref was walked: the pull request's commit, the topic, the tag, and the
  // synthetic merge (a merge_resolution record and a "Merge <sha> into <sha>" trajectory).
  CommandResult trajectories = server.Cli("trajectories stream");
  ASSERT_EQ(trajectories.exit_code, 0) << trajectories.err;
  EXPECT_EQ(trajectories.out, "");
  CommandResult count = server.Cli("records count");
  ASSERT_EQ(count.exit_code, 0) << count.err;
  EXPECT_EQ(count.out, "3\n");

  // One watermark, HEAD's tip, printed as a bounded summary.
  CommandResult show = server.Cli("repo show mirror");
  ASSERT_EQ(show.exit_code, 0) << show.err;
  std::string tip = repo.Git("rev-parse HEAD").substr(0, 40);
  EXPECT_NE(show.out.find("watermarks:  1 tip: " + tip.substr(0, 12) + "\n"), std::string::npos)
      << show.out;
}

TEST(DefaultRefs, RefsAllAddsBranchesAndTagsButNotPullRefsUnlessAGlobNamesThem) {
  MirrorLike m;
  GitRepo& repo = m.repo;
  TestServer server(repo.path());
  ASSERT_TRUE(server.Start());
  ASSERT_EQ(server.Cli(fmt::format("repo add {} --name mirror", ShellQuote(repo.path()))).exit_code,
            0);

  CommandResult branches = server.Cli("mine mirror --refs branches --wait");
  ASSERT_EQ(branches.exit_code, 0) << branches.err;
  EXPECT_EQ(StoredCommits(server), GitCommits(repo, "--branches"));
  EXPECT_EQ(StoredCommits(server).count(m.topic_commit), 1u);

  CommandResult all = server.Cli("mine mirror --all-refs --wait");
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_NE(all.out.find("refs:              all"), std::string::npos) << all.out;
  std::set<std::string> stored = StoredCommits(server);
  EXPECT_EQ(stored, GitCommits(repo, "--branches --tags"));
  EXPECT_EQ(stored.count(m.tagged_commit), 1u);
  EXPECT_EQ(stored.count(m.pr_commit), 0u);
  CommandResult trajectories = server.Cli("trajectories stream");
  ASSERT_EQ(trajectories.exit_code, 0) << trajectories.err;
  EXPECT_EQ(trajectories.out, "");
  // The watermark is every branch's and tag's tip (main, topic, v1).
  CommandResult show = server.Cli("repo show mirror");
  EXPECT_NE(show.out.find("watermarks:  3 tips: "), std::string::npos) << show.out;

  // Hidden refs only by an explicit pattern.
  CommandResult pulls = server.Cli("mine mirror --rev 'refs/pull/*/head' --wait");
  ASSERT_EQ(pulls.exit_code, 0) << pulls.err;
  EXPECT_EQ(StoredCommits(server).count(m.pr_commit), 1u);

  CommandResult none = server.Cli("mine mirror --rev 'refs/merge-requests/*' --wait");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("matches no ref"), std::string::npos) << none.err;
}

TEST(DefaultRefs, BadSelectionsAreRefusedWithWhatToFix) {
  GitRepo repo;
  repo.Write("a.txt", "a\n");
  repo.CommitAll("base\n");
  TestServer server(repo.path());
  ASSERT_TRUE(server.Start());
  ASSERT_EQ(server.Cli(fmt::format("repo add {} --name r", ShellQuote(repo.path()))).exit_code, 0);
  CommandResult bad = server.Cli("mine r --refs everything");
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("--refs"), std::string::npos) << bad.err;
  CommandResult both = server.Cli("mine r --refs all --rev main");
  EXPECT_EQ(both.exit_code, 2) << both.err;  // INVALID_ARGUMENT
  EXPECT_NE(both.err.find("both given"), std::string::npos) << both.err;
}

}  // namespace
}  // namespace fixmine
