// Dedup through the real fixmined and CLI: a cherry-pick and a hand-port with other white space
// across two repositories are marked duplicate_of their group's canonical record (earliest
// author time, then smallest id: curation/canonical.h); a near-duplicate (one line of 30
// changed) is marked near_duplicate_of; different changes are not. And the labels do not
// depend on the order in which repositories are mined, nor on removing one.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "client/fixmine_client.h"
#include "curation/canonical.h"
#include "fmt/format.h"
#include "miner/record_builder.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

using testutil::CommandResult;
using testutil::LineOf;

// Every stored record by "repo:commit", read through the client library.
std::map<std::string, fixmine::v1::Record> Records(const testutil::TestServer& server) {
  client::FixmineClient c(server.address(), "");
  std::map<std::string, fixmine::v1::Record> out;
  absl::Status st = c.StreamRecords(fixmine::v1::StreamRecordsRequest(),
                                    [&](const fixmine::v1::StreamRecordsResponse& b) {
                                      for (const auto& r : b.records()) {
                                        out[r.repo() + ":" + r.commit()] = r;
                                      }
                                      return true;
                                    });
  EXPECT_TRUE(st.ok()) << st;
  return out;
}

// The id of the canonical of `records` by the rule (earliest author time, then smallest id).
std::string CanonicalOf(const std::vector<fixmine::v1::Record>& records) {
  const fixmine::v1::Record* best = &records.at(0);
  for (const auto& r : records) {
    if (curation::CanonicalBefore(r.author().time(), r.id(), best->author().time(), best->id())) {
      best = &r;
    }
  }
  return best->id();
}

std::string Body(int n, int changed = -1, const std::string& name = "value") {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += i == changed ? fmt::format("  {}_{} = compute({}) * 2;\n", name, i, i + 100)
                        : fmt::format("  {}_{} = compute({});\n", name, i, i);
  }
  return out;
}

TEST(DedupE2e, CherryPicksAcrossRepositoriesAndNearDuplicates) {
  testutil::GitRepo a;
  a.Write("src/util.c", "int clamp(int v) {\n  if (v > 10) return 10;\n  return v;\n}\n");
  a.CommitAll("Add clamp\n");
  a.Write("src/util.c",
          "int clamp(int v) {\n  if (v > 10) return 10;\n  if (v < 0) return 0;\n"
          "  return v;\n}\n");
  std::string a_fix = a.CommitAll("Fix clamp for negative values\n");
  a.Write("src/parse.c", "int parse(const char* s) {\n  return atoi(s);\n}\n");
  std::string a_port = a.CommitAll("Add parse\n");
  a.Write("src/table.c", "void fill(void) {\n" + Body(30) + "}\n");
  std::string a_table = a.CommitAll("Add the table\n");

  testutil::GitRepo b;
  // Other lines above, so the cherry-pick lands at other line numbers.
  b.Write("src/util.c",
          "#include <stdlib.h>\n\n/* fork */\n\nint clamp(int v) {\n"
          "  if (v > 10) return 10;\n  return v;\n}\n");
  b.CommitAll("Fork\n");
  b.Git(fmt::format("fetch -q {} main", testutil::ShellQuote(a.path())));
  b.Git("cherry-pick " + a_fix);
  std::string b_pick = b.Git("rev-parse HEAD");
  b_pick.erase(b_pick.find_last_not_of('\n') + 1);
  // The same change ported by hand with other white space, inside lines too.
  b.Write("src/parse.c", "int  parse(const char *s) {\n\treturn atoi( s );\n}\n");
  std::string b_port = b.CommitAll("Port parse\n");
  b.Write("src/other.c", "int other(void) {\n  return 1;\n}\n");
  std::string b_other = b.CommitAll("Add other\n");
  b.Write("src/table2.c", "void fill2(void) {\n" + Body(30, 17) + "}\n");
  std::string b_near = b.CommitAll("Add a similar table\n");
  b.Write("src/table3.c", "void fill3(void) {\n" + Body(30, -1, "weight") + "}\n");
  std::string b_far = b.CommitAll("Add another table\n");

  // Both repositories are temporary folders side by side: allow their common parent.
  std::string parent = std::filesystem::path(a.path()).parent_path().string();
  ASSERT_EQ(parent, std::filesystem::path(b.path()).parent_path().string());
  testutil::TestServer server(parent);
  ASSERT_TRUE(server.Start());
  for (const auto& [name, path] : {std::pair{"a", a.path()}, std::pair{"b", b.path()}}) {
    CommandResult add =
        server.Cli(fmt::format("repo add {} --name {}", testutil::ShellQuote(path), name));
    ASSERT_EQ(add.exit_code, 0) << add.err;
    CommandResult mine = server.Cli(fmt::format("mine {} --wait", name));
    ASSERT_EQ(mine.exit_code, 0) << mine.err;
  }
  CommandResult stream = server.Cli("records stream --filter 'repo = b'");
  ASSERT_EQ(stream.exit_code, 0) << stream.err;
  auto records = Records(server);
  const auto& fix_a = records["a:" + a_fix];
  const auto& fix_b = records["b:" + b_pick];
  const auto& port_a = records["a:" + a_port];
  const auto& port_b = records["b:" + b_port];
  const auto& table_a = records["a:" + a_table];
  const auto& table_b = records["b:" + b_near];
  ASSERT_EQ(fix_a.commit(), a_fix);
  ASSERT_EQ(fix_b.commit(), b_pick);
  ASSERT_EQ(port_a.commit(), a_port);
  ASSERT_EQ(port_b.commit(), b_port);
  ASSERT_EQ(table_b.commit(), b_near);

  // Each pair: the canonical by the rule has no label, the other points to it.
  for (const auto* pair : {&fix_a, &port_a}) {
    const auto& other = pair == &fix_a ? fix_b : port_b;
    std::string canonical = CanonicalOf({*pair, other});
    const auto& copy = pair->id() == canonical ? other : *pair;
    const auto& kept = pair->id() == canonical ? *pair : other;
    EXPECT_EQ(copy.duplicate_of(), canonical) << copy.repo() << " " << copy.commit();
    EXPECT_EQ(kept.duplicate_of(), "") << kept.repo() << " " << kept.commit();
    EXPECT_FALSE(copy.patch_fingerprint().empty());
    EXPECT_EQ(copy.patch_fingerprint(), kept.patch_fingerprint());
  }
  std::string pick = LineOf(stream.out, b_pick);
  ASSERT_FALSE(pick.empty()) << stream.out;
  EXPECT_TRUE(absl::StrContains(pick, "\"patch_fingerprint\":\"")) << pick;
  EXPECT_FALSE(absl::StrContains(pick, "\"minhash\"")) << pick;
  EXPECT_FALSE(absl::StrContains(LineOf(stream.out, b_other), "duplicate_of"))
      << LineOf(stream.out, b_other);

  std::string near_canonical = CanonicalOf({table_a, table_b});
  const auto& near_copy = table_a.id() == near_canonical ? table_b : table_a;
  EXPECT_EQ(table_a.duplicate_of(), "");
  EXPECT_EQ(table_b.duplicate_of(), "");
  EXPECT_EQ(near_copy.near_duplicate_of(), near_canonical);
  EXPECT_GE(near_copy.near_duplicate_similarity(), 80);
  EXPECT_FALSE(absl::StrContains(LineOf(stream.out, b_far), "near_duplicate_of"))
      << LineOf(stream.out, b_far);

  // Filters and the default preset agree with the labels.
  CommandResult dups = server.Cli("records count --filter duplicate");
  EXPECT_EQ(dups.out, "2\n") << dups.err;
  EXPECT_EQ(server.Cli("records count --filter near_duplicate").out, "1\n");
  CommandResult all = server.Cli("records count");
  CommandResult kept = server.Cli("records count --preset default");
  EXPECT_EQ(std::stoi(all.out) - std::stoi(kept.out), 2) << all.out << kept.out;
}

// The labels of every record, by "repo:commit", with the ids they name turned into
// "repo:commit" too.
std::map<std::string, std::string> Labels(const std::map<std::string, fixmine::v1::Record>& all) {
  std::map<std::string, std::string> by_id;
  for (const auto& [key, r] : all) by_id[r.id()] = key;
  auto name = [&](const std::string& id) -> std::string {
    if (id.empty()) return "";
    return by_id.count(id) ? by_id[id] : "?" + id;
  };
  std::map<std::string, std::string> out;
  for (const auto& [key, r] : all) {
    out[key] = fmt::format("dup={} near={} sim={}", name(r.duplicate_of()),
                           name(r.near_duplicate_of()), r.near_duplicate_similarity());
  }
  return out;
}

TEST(DedupE2e, MiningInAnyOrderGivesTheSameLabels) {
  testutil::GitRepo up;
  up.Write("src/util.c", "int clamp(int v) {\n  if (v > 10) return 10;\n  return v;\n}\n");
  up.CommitAll("Add clamp\n");
  up.Write("src/util.c",
           "int clamp(int v) {\n  if (v > 10) return 10;\n  if (v < 0) return 0;\n"
           "  return v;\n}\n");
  std::string fix = up.CommitAll("Fix clamp for negative values\n");
  up.Write("src/table.c", "void fill(void) {\n" + Body(30) + "}\n");
  std::string table = up.CommitAll("Add the table\n");
  up.Write("src/parse.c", "int parse(const char* s) {\n  return atoi(s);\n}\n");
  up.CommitAll("Add parse\n");

  // A fork: the same history plus two commits of its own.
  testutil::GitRepo fork;
  fork.Git(fmt::format("fetch -q {} main", testutil::ShellQuote(up.path())));
  fork.Git("reset -q --hard FETCH_HEAD");
  fork.Write("src/fork.c", "int forked(void) {\n  return 2;\n}\n");
  std::string fork1 = fork.CommitAll("Add forked\n");
  fork.Write("src/list.c", "void list(void) {\n" + Body(12, -1, "item") + "}\n");
  std::string fork2 = fork.CommitAll("Add the list\n");

  // Another project with a cherry-pick of the fix and a near duplicate of the table.
  testutil::GitRepo pick;
  pick.Write("src/util.c",
             "#include <stdlib.h>\n\n/* other */\n\nint clamp(int v) {\n"
             "  if (v > 10) return 10;\n  return v;\n}\n");
  pick.CommitAll("Start\n");
  pick.Git(fmt::format("fetch -q {} main", testutil::ShellQuote(up.path())));
  pick.Git("cherry-pick " + fix);
  std::string picked = pick.Git("rev-parse HEAD");
  picked.erase(picked.find_last_not_of('\n') + 1);
  pick.Write("src/table2.c", "void fill2(void) {\n" + Body(30, 17) + "}\n");
  std::string near = pick.CommitAll("Add a similar table\n");

  const std::string parent = std::filesystem::path(up.path()).parent_path().string();
  for (const auto* r : {&fork, &pick}) {
    ASSERT_EQ(parent, std::filesystem::path(r->path()).parent_path().string());
  }
  const std::map<std::string, std::string> paths = {
      {"up", up.path()}, {"fork", fork.path()}, {"pick", pick.path()}};
  auto mine = [&](testutil::TestServer& server, const std::vector<std::string>& order) {
    for (const std::string& name : order) {
      CommandResult add = server.Cli(
          fmt::format("repo add {} --name {}", testutil::ShellQuote(paths.at(name)), name));
      EXPECT_EQ(add.exit_code, 0) << add.err;
      CommandResult mined = server.Cli(fmt::format("mine {} --wait", name));
      EXPECT_EQ(mined.exit_code, 0) << mined.err;
    }
  };

  std::map<std::string, std::string> first;
  std::map<std::string, fixmine::v1::Record> records;
  for (const auto& order : std::vector<std::vector<std::string>>{
           {"up", "fork", "pick"}, {"pick", "fork", "up"}, {"fork", "pick", "up"}}) {
    SCOPED_TRACE(fmt::format("order {} {} {}", order[0], order[1], order[2]));
    testutil::TestServer server(parent);
    ASSERT_TRUE(server.Start());
    mine(server, order);
    auto all = Records(server);
    auto labels = Labels(all);
    if (first.empty()) {
      first = labels;
      records = all;
    } else {
      EXPECT_EQ(labels, first);
    }
  }

  // What the labels are: the fix's three copies (two the same commit, one a cherry-pick) point
  // to the rule's canonical, and so do the fork's copies of up's commits; the fork's own
  // commits are no copies; the near duplicate names its near group's canonical.
  ASSERT_EQ(records.size(), 4u + 6u + 3u);
  const auto& fix_up = records["up:" + fix];
  const auto& fix_fork = records["fork:" + fix];
  const auto& fix_pick = records["pick:" + picked];
  ASSERT_EQ(fix_pick.commit(), picked);
  const std::string fix_canonical = CanonicalOf({fix_up, fix_fork, fix_pick});
  int copies = 0;
  for (const auto* r : {&fix_up, &fix_fork, &fix_pick}) {
    if (r->id() == fix_canonical) {
      EXPECT_EQ(r->duplicate_of(), "");
    } else {
      EXPECT_EQ(r->duplicate_of(), fix_canonical) << r->repo();
      ++copies;
    }
  }
  EXPECT_EQ(copies, 2);
  EXPECT_EQ(records["fork:" + fork1].duplicate_of(), "");
  EXPECT_EQ(records["fork:" + fork2].duplicate_of(), "");
  const auto& table_up = records["up:" + table];
  const auto& table_fork = records["fork:" + table];
  const std::string table_canonical = CanonicalOf({table_up, table_fork});
  const auto& table_kept = table_up.id() == table_canonical ? table_up : table_fork;
  EXPECT_EQ((table_up.id() == table_canonical ? table_fork : table_up).duplicate_of(),
            table_canonical);
  const auto& near_pick = records["pick:" + near];
  ASSERT_EQ(near_pick.commit(), near);
  const std::string near_canonical = CanonicalOf({table_kept, near_pick});
  const auto& near_copy = near_pick.id() == near_canonical ? table_kept : near_pick;
  EXPECT_EQ(near_copy.near_duplicate_of(), near_canonical);
  EXPECT_GE(near_copy.near_duplicate_similarity(), 80);

  // Removing the fork gives the labels of a store that never had it.
  testutil::TestServer with_fork(parent);
  ASSERT_TRUE(with_fork.Start());
  mine(with_fork, {"fork", "up", "pick"});
  CommandResult rm = with_fork.Cli("repo rm fork");
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  testutil::TestServer without(parent);
  ASSERT_TRUE(without.Start());
  mine(without, {"pick", "up"});
  auto left = Labels(Records(with_fork));
  EXPECT_EQ(left, Labels(Records(without)));
  EXPECT_EQ(left.size(), 4u + 3u);
}

}  // namespace
}  // namespace fixmine
