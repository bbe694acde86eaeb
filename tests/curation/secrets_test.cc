#include "curation/secrets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

TEST(SecretsTest, Entropy) {
  EXPECT_DOUBLE_EQ(ShannonEntropy("aaaa"), 0.0);
  EXPECT_DOUBLE_EQ(ShannonEntropy("abcd"), 2.0);
}

}  // namespace
}  // namespace fixmine::curation
