#include "curation/secrets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "re2/re2.h"

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
  Scan s = ScanText(
      "a = github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz\n"
      "b = glpat-abcdefghij0123456789\n");
  EXPECT_THAT(s.kinds, ElementsAre("github_token", "gitlab_token"));
  EXPECT_EQ(s.text, "a = <REDACTED:github_token>\nb = <REDACTED:gitlab_token>\n");
}

// Issue 20: a `ghp_` string longer than 36 characters kept its tail after redaction
// ("<REDACTED:github_token>E"). The whole token goes, wherever it occurs on the line.
TEST(SecretsTest, Issue20LongGitHubTokenLeavesNoTail) {
  const std::string token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789E";  // 37 after ghp_
  Scan s = ScanText("+export GH = " + token + "\n+echo " + token + "xyz-1 done\n");
  EXPECT_THAT(s.kinds, ElementsAre("github_token"));
  EXPECT_EQ(s.text, "+export GH = <REDACTED:github_token>\n+echo <REDACTED:github_token> done\n");
  // A shorter match of the scanner that another string on the line extends is also cut whole.
  Scan aws = ScanText("k = AKIAIOSFODNN7EXAMPLE; old = AKIAIOSFODNN7EXAMPLE_2\n");
  EXPECT_EQ(aws.text, "k = <REDACTED:aws_access_key>; old = <REDACTED:aws_access_key>\n");
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
  EXPECT_EQ(s.text,
            " a\n b\n-----BEGIN PRIVATE KEY-----\n<REDACTED:private_key>\n"
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

// Where RE2 finds the leftmost keyword at or after `from`: the reference FindSecretKeyword
// must reproduce.
size_t Re2Find(const std::string& text, size_t from) {
  static const RE2 re(SecretKeywordPattern());
  re2::StringPiece hit;
  if (from >= text.size() || !re.Match(text, from, text.size(), RE2::UNANCHORED, &hit, 1)) {
    return std::string::npos;
  }
  return static_cast<size_t>(hit.data() - text.data());
}

TEST(SecretsTest, KeywordSearchFoldsLikeRe2) {
  // RE2's (?i) maps U+017F (long s) onto s and U+212A (Kelvin sign) onto k.
  EXPECT_EQ(FindSecretKeyword("x \xc5\xbf"
                              "ecret",
                              0),
            2u);
  EXPECT_EQ(FindSecretKeyword("API_\xe2\x84\xaa"
                              "EY",
                              0),
            0u);
  EXPECT_EQ(FindSecretKeyword("tO\xe2\x84\xaa"
                              "en Secret",
                              0),
            0u);
  EXPECT_EQ(FindSecretKeyword("nothing here at all, not even once", 0), std::string::npos);
  EXPECT_EQ(FindSecretKeyword("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaAuThx", 3), 39u);
}

TEST(SecretsTest, KeywordSearchEqualsRe2OnRandomText) {
  const std::vector<std::string> pieces = {
      "private key",
      "PRIVATE KEY",
      "private_key",
      "Privatekey",
      "akia",
      "ASIA",
      "AgPa",
      "aida",
      "aroa",
      "ghp_",
      "GHO_",
      "ghu_",
      "ghs_",
      "ghr_",
      "ghx_",
      "github_pat_",
      "glpat-",
      "glpat_",
      "secret",
      "SeCrEt",
      "token",
      "passw",
      "pwd",
      "api_key",
      "APIKEY",
      "access_key",
      "accessKey",
      "auth",
      "AUTH",
      "\xc5\xbf",
      "\xe2\x84\xaa",
      "\xe2\x84",
      "\xc5",
      "\xe2",
      "pa",
      "to",
      "se",
      "as",
      "gi",
      "au",
      "pr",
      "priv",
      "acc",
      "api",
      "\n",
      " ",
      "_",
      "-",
      "x",
      "Z",
      "0",
      "\xc3\xa9",
      "\xff",
      "\x80",
  };
  std::mt19937 rng(11);
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    size_t n = rng() % 24;
    for (size_t i = 0; i < n; ++i) {
      if (rng() % 4 == 0) {
        text.push_back(static_cast<char>(rng() % 256));  // every byte value
      } else {
        text += pieces[rng() % pieces.size()];
      }
    }
    size_t from = text.empty() ? 0 : rng() % (text.size() + 1);
    ASSERT_EQ(FindSecretKeyword(text, from), Re2Find(text, from))
        << "text \"" << text << "\" from " << from;
  }
}

TEST(SecretsTest, KeywordSearchFindsEveryKeywordAtEveryOffset) {
  const std::vector<std::string> keywords = {
      "PRIVATE KEY", "private_key", "privatekey", "AKIA",       "asia",      "agpa",
      "aida",        "aroa",        "ghp_",       "gho_",       "ghu_",      "ghs_",
      "ghr_",        "github_pat_", "glpat-",     "secret",     "token",     "passw",
      "pwd",         "api_key",     "apikey",     "access_key", "accesskey", "auth"};
  for (const std::string& k : keywords) {
    for (size_t offset = 0; offset < 40; ++offset) {
      for (size_t tail = 0; tail < 20; tail += 19) {
        std::string text = std::string(offset, 'q') + k + std::string(tail, 'q');
        ASSERT_EQ(FindSecretKeyword(text, 0), offset) << k << " at " << offset;
        ASSERT_EQ(FindSecretKeyword(text, offset + 1), std::string::npos) << k;
        // One letter short is no keyword.
        std::string cut = std::string(offset, 'q') + k.substr(0, k.size() - 1);
        ASSERT_EQ(FindSecretKeyword(cut, 0), Re2Find(cut, 0)) << cut;
      }
    }
  }
}

TEST(SecretsTest, Entropy) {
  EXPECT_DOUBLE_EQ(ShannonEntropy("aaaa"), 0.0);
  EXPECT_DOUBLE_EQ(ShannonEntropy("abcd"), 2.0);
}

}  // namespace
}  // namespace fixmine::curation
