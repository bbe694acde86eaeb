// `fixmine repo stats NAME` (client/repo_stats.h) through the real fixmine binary against the
// real fixmined, with git's own counts as the oracle (`git log --numstat`, `git shortlog`).
#include "client/repo_stats.h"

#include <gtest/gtest.h>

#include <sstream>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

using testutil::CommandResult;
using testutil::ShellQuote;

google::protobuf::Struct Json(const std::string& text) {
  google::protobuf::Struct s;
  auto st = google::protobuf::util::JsonStringToMessage(text, &s);
  EXPECT_TRUE(st.ok()) << st.ToString() << ": " << text.substr(0, 200);
  return s;
}

// Sum of git's numstat added and deleted over the whole history.
std::pair<int64_t, int64_t> GitChurn(testutil::GitRepo& repo) {
  std::istringstream in(repo.Git("log --numstat --format="));
  int64_t added = 0, deleted = 0;
  for (std::string a, d, path; in >> a >> d >> path;) {
    added += std::stoll(a);
    deleted += std::stoll(d);
  }
  return {added, deleted};
}

TEST(RepoStatsCli, ChurnContributorsAndOwnershipMatchGit) {
  testutil::GitRepo repo;
  auto commit_as = [&](const std::string& who, const std::string& msg) {
    repo.Git("add -A");
    repo.Git("commit -q --author=" + ShellQuote(who) + " -m " + ShellQuote(msg));
  };
  repo.Write("a.c", "int a(void) {\n  return 0;\n}\n");
  commit_as("Ada <ada@example.com>", "Add a");
  repo.Write("a.c", "int a(void) {\n  return 1;\n}\n");
  commit_as("Ada <ada@example.com>", "Return one");
  repo.Write("a.c", "int a(void) {\n  return 2;\n}\n/* two */\n");
  commit_as("Ada <ada@example.com>", "Return two");
  repo.Write("a.c", "int a(void) {\n  return 3;\n}\n");
  repo.Write("b.c", "int b(void) { return 0; }\n");
  commit_as("Bob <bob@example.com>", "Fix a crash in a and add b");

  testutil::TestServer server(repo.path());
  ASSERT_TRUE(server.Start());
  ASSERT_EQ(server.Cli("repo add " + ShellQuote(repo.path()) + " --name r").exit_code, 0);
  CommandResult mine = server.Cli("mine r --wait");
  ASSERT_EQ(mine.exit_code, 0) << mine.err;

  CommandResult r = server.Cli("repo stats r --output json --top 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  google::protobuf::Struct s = Json(r.out);
  const auto& f = s.fields();
  auto [git_added, git_deleted] = GitChurn(repo);
  EXPECT_EQ(f.at("repo").string_value(), "r");
  EXPECT_EQ(f.at("commits").number_value(), 4);
  EXPECT_EQ(f.at("fixes").number_value(), 1);
  EXPECT_EQ(f.at("added").number_value(), git_added);
  EXPECT_EQ(f.at("deleted").number_value(), git_deleted);
  EXPECT_EQ(f.at("churn").number_value(), git_added + git_deleted);
  // `git shortlog -sn`: Ada 3, Bob 1.
  const auto& people = f.at("contributors").list_value();
  ASSERT_EQ(people.values_size(), 2);
  const auto& ada = people.values(0).struct_value().fields();
  const auto& bob = people.values(1).struct_value().fields();
  EXPECT_EQ(ada.at("name").string_value(), "Ada");
  EXPECT_EQ(ada.at("commits").number_value(), 3);
  EXPECT_EQ(bob.at("name").string_value(), "Bob");
  EXPECT_EQ(bob.at("commits").number_value(), 1);
  // The server's default e-mail policy hashes addresses; the identity is the stored value.
  EXPECT_EQ(ada.at("email").string_value().rfind("sha256:", 0), 0u);

  std::map<std::string, google::protobuf::Struct> files;
  for (const auto& v : f.at("files").list_value().values()) {
    files[v.struct_value().fields().at("path").string_value()] = v.struct_value();
  }
  ASSERT_EQ(files.size(), 2u);
  const auto& a = files["a.c"].fields();
  EXPECT_EQ(a.at("commits").number_value(), 4);
  EXPECT_EQ(a.at("contributors").number_value(), 2);
  EXPECT_EQ(a.at("owner").string_value(), ada.at("email").string_value());
  EXPECT_DOUBLE_EQ(a.at("owner_share").number_value(), 0.75);
  const auto& b = files["b.c"].fields();
  EXPECT_EQ(b.at("owner").string_value(), bob.at("email").string_value());
  EXPECT_DOUBLE_EQ(b.at("owner_share").number_value(), 1.0);
  // Most churn first: a.c (8 lines added and 3 deleted in all) before b.c (1 line).
  EXPECT_EQ(f.at("files").list_value().values(0).struct_value().fields().at("path").string_value(),
            "a.c");

  // --filter narrows the records; --top cuts the lists.
  r = server.Cli("repo stats r --output json --top 1 --filter 'NOT is_fix'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  s = Json(r.out);
  EXPECT_EQ(s.fields().at("commits").number_value(), 3);
  EXPECT_EQ(s.fields().at("contributors").list_value().values_size(), 1);
  EXPECT_EQ(s.fields().at("contributor_count").number_value(), 1);

  r = server.Cli("repo stats r");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("commits:       4 (1 fixes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("a.c"), std::string::npos) << r.out;

  r = server.Cli("repo stats nope");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("nope"), std::string::npos) << r.err;
  r = server.Cli("repo stats r --filter 'is_fix AND'");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("filter"), std::string::npos) << r.err;
}

// Ownership ties and minor contributors, on records built by hand.
TEST(RepoStatsBuilder, TiesAndMinorContributors) {
  client::RepoStatsBuilder b("x");
  auto add = [&](const std::string& email, int64_t t) {
    fixmine::v1::Record r;
    r.mutable_author()->set_name(email);
    r.mutable_author()->set_email(email);
    r.mutable_author()->set_time(t);
    auto* f = r.add_files();
    f->set_path("f");
    f->set_added(1);
    b.Add(r);
  };
  for (int i = 0; i < 20; ++i) add("b@x", 100 + i);
  for (int i = 0; i < 20; ++i) add("a@x", 200 + i);
  add("c@x", 50);  // 1 of 41 commits: under 5%
  fixmine::v1::Record merge;
  merge.set_merge_resolution(true);
  b.Add(merge);
  client::RepoStats s = b.Finish();
  EXPECT_EQ(s.commits, 41);
  EXPECT_EQ(s.merge_resolutions, 1);
  EXPECT_EQ(s.first_time, 50);
  EXPECT_EQ(s.last_time, 219);
  ASSERT_EQ(s.files.size(), 1u);
  EXPECT_EQ(s.files[0].owner, "a@x");  // a tie goes to the smaller identity
  EXPECT_DOUBLE_EQ(s.files[0].owner_share, 20.0 / 41);
  EXPECT_EQ(s.files[0].minor_contributors, 1);
  ASSERT_EQ(s.contributors.size(), 3u);
  EXPECT_EQ(s.contributors[2].email, "c@x");
}

}  // namespace
}  // namespace fixmine
