// Curation through the real fixmined and CLI: server policies, --preset, stats, license.
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "fmt/format.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

using testutil::CommandResult;

class CurationE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_.Write("LICENSE", "Apache License\nVersion 2.0, January 2004\n");
    repo_.Write("README.md", "demo\n");
    repo_.CommitAll("Initial commit\n");
    repo_.Write("src/a.c", "int a;\n");
    repo_.CommitAll("Fix the parser state\n");
    repo_.Write("package-lock.json", "{}\n");
    repo_.Git("add -A");
    repo_.Git("commit -q --author='CI Robot <ci@example.com>' -m 'Bump lodash'");
    repo_.Write("config.py", "AWS_KEY_ID = \"AKIAIOSFODNN7EXAMPLE\"\n");
    repo_.CommitAll("Add configuration loader\n");
    server_ = std::make_unique<testutil::TestServer>(repo_.path(),
                                                     std::vector<std::string>{"--bot", "ci robot"});
    ASSERT_TRUE(server_->Start());
    ASSERT_EQ(
        Cli(fmt::format("repo add {} --name demo", testutil::ShellQuote(repo_.path()))).exit_code,
        0);
    CommandResult mine = Cli("mine demo --wait");
    ASSERT_EQ(mine.exit_code, 0) << mine.err;
  }
  CommandResult Cli(const std::string& args) { return server_->Cli(args); }

  testutil::GitRepo repo_;
  std::unique_ptr<testutil::TestServer> server_;
};

TEST_F(CurationE2e, PresetsPoliciesStatsAndLicense) {
  EXPECT_EQ(Cli("records count").out, "4\n");
  EXPECT_EQ(Cli("records count --preset commitpackft").out, "2\n");
  EXPECT_EQ(Cli("records count --preset default").out, "3\n");  // the --bot author is dropped
  EXPECT_EQ(Cli("records count --preset commitpackft --filter secrets_found").out, "1\n");
  EXPECT_EQ(Cli("records count --filter 'preset = commitpackft'").out, "2\n");
  EXPECT_EQ(Cli("records count --filter 'drop = \"commitpackft:blocked_phrase\"'").out, "1\n");
  CommandResult bad = Cli("records count --preset nope");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(bad.err, "unknown preset")) << bad.err;

  // Server defaults: secrets redacted, e-mails hashed.
  CommandResult secret = Cli("records stream --preset commitpackft --filter secrets_found");
  ASSERT_EQ(secret.exit_code, 0) << secret.err;
  // JSON escapes < and > as \u003c and \u003e.
  EXPECT_TRUE(absl::StrContains(secret.out, "REDACTED:aws_access_key")) << secret.out;
  EXPECT_FALSE(absl::StrContains(secret.out, "AKIAIOSFODNN7EXAMPLE")) << secret.out;
  EXPECT_FALSE(absl::StrContains(secret.out, "example.com")) << secret.out;
  EXPECT_TRUE(absl::StrContains(secret.out, "\"email\":\"sha256:")) << secret.out;
  EXPECT_TRUE(absl::StrContains(secret.out, "\"license\":\"Apache-2.0\"")) << secret.out;

  CommandResult stats = Cli("--output json stats");
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_TRUE(absl::StrContains(stats.out, "\"preset = commitpackft\": \"2\"")) << stats.out;
  EXPECT_TRUE(absl::StrContains(stats.out, "\"is_bot\": \"1\"")) << stats.out;
  EXPECT_TRUE(absl::StrContains(stats.out, "\"license\": \"Apache-2.0\"")) << stats.out;
  CommandResult table = Cli("stats");
  EXPECT_TRUE(absl::StrContains(table.out, "license Apache-2.0")) << table.out;
  EXPECT_TRUE(absl::StrContains(table.out, "lockfile")) << table.out;
}

}  // namespace
}  // namespace fixmine
