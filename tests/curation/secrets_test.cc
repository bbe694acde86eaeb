#include "curation/secrets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

namespace fixmine::curation {
namespace {

using ::testing::ElementsAre;

struct Scan {
  bool found;
  std::string text;
  std::set<std::string> kinds;
};

Scan ScanText(std::string text, bool redact = true) {
  Scan s;
  s.found = ScanSecrets(&text, redact, &s.kinds);
  s.text = text;
  return s;
}

TEST(SecretsTest, AwsKeyInAddedLineIsRedacted) {
  Scan s = ScanText("@@ -1 +1,2 @@\n x = 1\n+aws_key_id = AKIAIOSFODNN7EXAMPLE\n");
  EXPECT_TRUE(s.found);
  EXPECT_THAT(s.kinds, ElementsAre("aws_access_key"));
  EXPECT_EQ(s.text, "@@ -1 +1,2 @@\n x = 1\n+aws_key_id = <REDACTED:aws_access_key>\n");
}

TEST(SecretsTest, FlagLeavesTextAlone) {
  std::string in = "+token: ghp_abcdefghijklmnopqrstuvwxyz0123456789\n";
  Scan s = ScanText(in, /*redact=*/false);
  EXPECT_TRUE(s.found);
  EXPECT_EQ(s.text, in);
  EXPECT_THAT(s.kinds, ElementsAre("github_token"));
}

TEST(SecretsTest, GitHubAndGitLabTokens) {
  Scan s = ScanText("a = github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz\n"
               "b = glpat-abcdefghij0123456789\n");
  EXPECT_THAT(s.kinds, ElementsAre("github_token", "gitlab_token"));
  EXPECT_EQ(s.text, "a = <REDACTED:github_token>\nb = <REDACTED:gitlab_token>\n");
}

TEST(SecretsTest, PrivateKeyBlockKeepsLineCountAndPrefixes) {
  std::string in =
      "+-----BEGIN RSA PRIVATE KEY-----\n"
      "+MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
      "+VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
      "+-----END RSA PRIVATE KEY-----\n"
      " context\n";
  Scan s = ScanText(in);
  EXPECT_THAT(s.kinds, ElementsAre("private_key"));
  EXPECT_EQ(s.text,
            "+-----BEGIN RSA PRIVATE KEY-----\n"
            "+<REDACTED:private_key>\n"
            "+<REDACTED:private_key>\n"
            "+-----END RSA PRIVATE KEY-----\n"
            " context\n");
}

TEST(SecretsTest, GenericAssignmentNeedsEntropy) {
  Scan high = ScanText("+API_KEY = \"q8Zr2LmX9vTb4Kw7Yp1N\"\n");
  EXPECT_THAT(high.kinds, ElementsAre("generic_secret"));
  EXPECT_EQ(high.text, "+API_KEY = \"<REDACTED:generic_secret>\"\n");
  Scan low = ScanText("+password = \"aaaaaaaaaaaaaaaa\"\n");
  EXPECT_FALSE(low.found);
  Scan short_value = ScanText("+password = \"hunter2\"\n");
  EXPECT_FALSE(short_value.found);
  Scan not_secret = ScanText("+name = \"q8Zr2LmX9vTb4Kw7Yp1N\"\n");
  EXPECT_FALSE(not_secret.found);
}

// The scan looks only at lines a cheap whole-text pass marks as candidates; it must find and
// redact exactly what scanning each line on its own finds, wherever the line sits in the text.
TEST(SecretsTest, WholeTextScanEqualsLineByLineScan) {
  const std::vector<std::string> pool = {
      "+int x = 1;",
      " context line",
      "",
      "-auth_level = 3;",
      "+aws_key_id = AKIAIOSFODNN7EXAMPLE",
      "+API_KEY = \"q8Zr2LmX9vTb4Kw7Yp1N\"",
      "+password = \"hunter2\"",
      " b = glpat-abcdefghij0123456789 and AKIAIOSFODNN7EXAMPLE",
      "+TOKEN: 'zz9Qw8Er7Ty6Ui5Op4'",
      " privatekey = \"Zq8Xw7Cv6Bn5Mm4Ll3\"",
      "-// tokenizer state",
  };
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    size_t n = rng() % 12;
    std::vector<std::string> lines;
    for (size_t i = 0; i < n; ++i) lines.push_back(pool[rng() % pool.size()]);
    bool trailing_newline = rng() % 2 == 0;
    std::string text;
    for (size_t i = 0; i < lines.size(); ++i) {
      text += lines[i];
      if (i + 1 < lines.size() || trailing_newline) text += '\n';
    }
    for (bool redact : {true, false}) {
      Scan whole = ScanText(text, redact);
      bool found = false;
      std::set<std::string> kinds;
      std::string expected;
      for (size_t i = 0; i < lines.size(); ++i) {
        std::string line = lines[i];
        found |= ScanSecrets(&line, redact, &kinds);
        expected += line;
        if (i + 1 < lines.size() || trailing_newline) expected += '\n';
      }
      ASSERT_EQ(whole.found, found) << text;
      ASSERT_EQ(whole.kinds, kinds) << text;
      ASSERT_EQ(whole.text, expected) << text;
    }
  }
}

TEST(SecretsTest, PrivateKeyBlockAfterOtherLinesAndAtTheEnd) {
  Scan s = ScanText(" a\n b\n-----BEGIN PRIVATE KEY-----\nAAAA\nBBBB");
  EXPECT_THAT(s.kinds, ElementsAre("private_key"));
  EXPECT_EQ(s.text, " a\n b\n-----BEGIN PRIVATE KEY-----\n<REDACTED:private_key>\n"
                    "<REDACTED:private_key>");
  Scan none = ScanText("only code here\nand more\n");
  EXPECT_FALSE(none.found);
  EXPECT_EQ(none.text, "only code here\nand more\n");
}

TEST(SecretsTest, PrivateKeyNameWithoutOtherKeywordsIsScanned) {
  Scan s = ScanText(" x = 1\n+private_key = \"Zq8Xw7Cv6Bn5Mm4Ll3\"\n");
  EXPECT_THAT(s.kinds, ElementsAre("generic_secret"));
  EXPECT_EQ(s.text, " x = 1\n+private_key = \"<REDACTED:generic_secret>\"\n");
}

TEST(SecretsTest, Entropy) {
  EXPECT_DOUBLE_EQ(ShannonEntropy("aaaa"), 0.0);
  EXPECT_DOUBLE_EQ(ShannonEntropy("abcd"), 2.0);
}

}  // namespace
}  // namespace fixmine::curation
