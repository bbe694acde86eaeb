// Dedup through the real fixmined and CLI: a cherry-pick and a hand-port with other white space
// across two repositories are marked duplicate_of the first-seen record; a near-duplicate (one
// line of 30 changed) is marked near_duplicate_of; different changes are not.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <utility>

#include "fmt/format.h"
#include "miner/record_builder.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

using testutil::CommandResult;

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The JSON line of `commit` in a `records stream` output; "" when absent.
std::string LineOf(const std::string& out, const std::string& commit) {
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (Has(line, "\"commit\":\"" + commit + "\"")) return line;
  }
  return "";
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
  const std::string first_fix = miner::RecordId("a", a_fix);
  const std::string first_port = miner::RecordId("a", a_port);
  const std::string first_table = miner::RecordId("a", a_table);

  std::string pick = LineOf(stream.out, b_pick);
  ASSERT_FALSE(pick.empty()) << stream.out;
  EXPECT_TRUE(Has(pick, "\"duplicate_of\":\"" + first_fix + "\"")) << pick;
  EXPECT_TRUE(Has(pick, "\"patch_fingerprint\":\"")) << pick;
  EXPECT_FALSE(Has(pick, "\"minhash\"")) << pick;
  EXPECT_TRUE(Has(LineOf(stream.out, b_port), "\"duplicate_of\":\"" + first_port + "\""))
      << LineOf(stream.out, b_port);
  EXPECT_FALSE(Has(LineOf(stream.out, b_other), "duplicate_of")) << LineOf(stream.out, b_other);

  std::string near = LineOf(stream.out, b_near);
  EXPECT_FALSE(Has(near, "\"duplicate_of\"")) << near;
  EXPECT_TRUE(Has(near, "\"near_duplicate_of\":\"" + first_table + "\"")) << near;
  EXPECT_TRUE(Has(near, "\"near_duplicate_similarity\":")) << near;
  EXPECT_FALSE(Has(LineOf(stream.out, b_far), "near_duplicate_of")) << LineOf(stream.out, b_far);

  // The first-seen records are not duplicates; filters and the default preset agree.
  CommandResult first = server.Cli("records stream --filter 'repo = a AND duplicate'");
  EXPECT_EQ(first.out, "");
  CommandResult dups = server.Cli("records count --filter duplicate");
  EXPECT_EQ(dups.out, "2\n") << dups.err;
  EXPECT_EQ(server.Cli("records count --filter near_duplicate").out, "1\n");
  CommandResult all = server.Cli("records count");
  CommandResult kept = server.Cli("records count --preset default");
  EXPECT_EQ(std::stoi(all.out) - std::stoi(kept.out), 2) << all.out << kept.out;
}

}  // namespace
}  // namespace fixmine
