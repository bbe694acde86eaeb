// Planted cases in a real repository, mined end to end through the miner's curation hook.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "curation/curate.h"
#include "miner/license_file.h"
#include "miner/walk.h"
#include "tests/testutil/git_repo.h"

namespace fixmine::curation {
namespace {

using fixmine::v1::Record;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAwsKey[] = "AKIAIOSFODNN7EXAMPLE";

class CurateRepoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_.Write("LICENSE",
                "MIT License\n\nPermission is hereby granted, free of charge, to any "
                "person obtaining a copy\n");
    repo_.Write("src/main.c", "int main(void) { return 0; }\n");
    ids_["initial"] = repo_.CommitAll("Initial commit\n");

    repo_.Write("package-lock.json", "{\"lockfileVersion\": 3}\n");
    repo_.Git("add -A");
    repo_.Git(
        "commit -q --author='dependabot[bot] <49699333+dependabot[bot]@users.noreply."
        "github.com>' -m 'Bump lodash from 4.17.20 to 4.17.21'");
    ids_["bot"] = repo_.Git("rev-parse HEAD");

    repo_.Write("vendor/zlib/inflate.c", "/* zlib */\n");
    ids_["vendored"] = repo_.CommitAll("Add zlib sources\n");

    repo_.Write("config.py", std::string("AWS_KEY_ID = \"") + kAwsKey + "\"\n");
    ids_["secret"] = repo_.CommitAll("Add configuration loader\n");

    repo_.Write("src/main.c", "int main(void) { return 1; }\n");
    ids_["chinese"] = repo_.CommitAll(
        "修复了当用户关闭窗口时程序崩溃的问题，并且改进了内存管理和错误处理的逻辑\n");

    repo_.Write("src/main.c", "int main(void) { return 2; }\n");
    ids_["german"] = repo_.CommitAll(
        "Behebt einen Fehler beim Speichern der Datei, wenn der Benutzer das Fenster "
        "schließt und die Verbindung abbricht\n");

    repo_.Write("src/main.c", "int main(void) { return 3; }\n");
    ids_["fix"] = repo_.CommitAll("Fix exit status of main\n\nFixes #12, see also GH-3.\n");
    repo_.Git("revert --no-edit HEAD");
    ids_["revert"] = repo_.Git("rev-parse HEAD");
    for (auto& [k, v] : ids_) {
      while (!v.empty() && v.back() == '\n') v.pop_back();
    }
  }

  std::map<std::string, Record> MineAll(const Options& options) {
    miner::RecordOptions ro;
    ro.repo_name = "planted";
    ro.curation = options;
    std::map<std::string, Record> by_commit;
    absl::Status st = miner::Mine(
        repo_.path(), {}, ro,
        [&](Record&& r) {
          by_commit[r.commit()] = std::move(r);
          return absl::OkStatus();
        },
        nullptr);
    EXPECT_TRUE(st.ok()) << st;
    std::map<std::string, Record> out;
    for (auto& [k, v] : ids_) out[k] = by_commit[v];
    return out;
  }

  testutil::GitRepo repo_;
  std::map<std::string, std::string> ids_;
};

TEST_F(CurateRepoTest, PlantedLabels) {
  Options opt;
  opt.license = "MIT";
  auto r = MineAll(opt);

  EXPECT_TRUE(r["bot"].labels().is_bot());
  EXPECT_EQ(r["bot"].labels().bot_reason(), "name ends with [bot]");
  EXPECT_THAT(r["bot"].quality().drop_reasons(), Contains("default:bot"));
  ASSERT_EQ(r["bot"].files_size(), 1);
  EXPECT_TRUE(r["bot"].files(0).lockfile());
  EXPECT_TRUE(r["bot"].files(0).generated());
  EXPECT_FALSE(r["initial"].labels().is_bot());

  ASSERT_EQ(r["vendored"].files_size(), 1);
  EXPECT_TRUE(r["vendored"].files(0).vendored());
  EXPECT_THAT(r["vendored"].quality().drop_reasons(), Contains("default:vendored_only"));
  EXPECT_FALSE(r["initial"].files(1).vendored());
  EXPECT_TRUE(r["initial"].files(0).documentation());  // LICENSE, per linguist

  EXPECT_EQ(r["chinese"].message_language(), "zh");
  EXPECT_TRUE(r["chinese"].labels().is_fix());
  EXPECT_EQ(r["german"].message_language(), "de");
  EXPECT_TRUE(r["german"].labels().is_fix());

  EXPECT_TRUE(r["fix"].labels().is_fix());
  EXPECT_THAT(r["fix"].labels().fix_evidence(),
              ElementsAre("keyword:Fix", "keyword:Fixes", "closes:#12"));
  EXPECT_THAT(r["fix"].labels().issue_refs(), ElementsAre("#12", "GH-3"));
  EXPECT_THAT(r["fix"].quality().drop_reasons(), ElementsAre());

  EXPECT_TRUE(r["revert"].labels().is_revert());
  EXPECT_EQ(r["revert"].labels().reverted_commit(), ids_["fix"]);

  EXPECT_THAT(r["initial"].quality().drop_reasons(),
              ElementsAre("commitpackft:too_few_words", "commitpackft:not_imperative",
                          "commitpackft:blocked_phrase", "commitpackft:not_single_file"));
  for (auto& [name, rec] : r) EXPECT_EQ(rec.license(), "MIT") << name;

  // The default options change no text: a flagged secret stays, e-mails are kept.
  EXPECT_TRUE(r["secret"].secrets_found());
  EXPECT_FALSE(r["secret"].secrets_redacted());
  EXPECT_THAT(r["secret"].secret_kinds(), ElementsAre("aws_access_key"));
  EXPECT_THAT(r["secret"].files(0).patch(), HasSubstr(kAwsKey));
  EXPECT_EQ(r["fix"].author().email(), "ada@example.com");
  EXPECT_FALSE(r["fix"].secrets_found());
}

TEST_F(CurateRepoTest, RedactAndHashPolicies) {
  Options opt;
  opt.secrets = SecretsPolicy::kRedact;
  opt.email = EmailPolicy::kHash;
  auto r = MineAll(opt);
  const Record& s = r["secret"];
  EXPECT_TRUE(s.secrets_found());
  EXPECT_TRUE(s.secrets_redacted());
  EXPECT_THAT(s.files(0).patch(), Not(HasSubstr(kAwsKey)));
  EXPECT_THAT(s.files(0).patch(), HasSubstr("+AWS_KEY_ID = \"<REDACTED:aws_access_key>\"\n"));
  EXPECT_EQ(s.files(0).hunks(0).text(), "+AWS_KEY_ID = \"<REDACTED:aws_access_key>\"\n");
  EXPECT_EQ(s.author().email(), HashEmail("Ada@Example.com"));
  EXPECT_EQ(s.author().email().size(), 7u + 32u);
  EXPECT_EQ(s.email_policy(), "hash");
  // Bots are recognised before the e-mail is hashed.
  EXPECT_TRUE(r["bot"].labels().is_bot());

  opt.email = EmailPolicy::kDrop;
  EXPECT_EQ(MineAll(opt)["fix"].author().email(), "");
}

TEST(PolicyTest, Parse) {
  EXPECT_EQ(*ParseEmailPolicy("hash"), EmailPolicy::kHash);
  EXPECT_FALSE(ParseEmailPolicy("md5").ok());
  EXPECT_EQ(*ParseSecretsPolicy("flag"), SecretsPolicy::kFlag);
  EXPECT_FALSE(ParseSecretsPolicy("delete").ok());
  EXPECT_EQ(HashEmail(""), "");
}

}  // namespace
}  // namespace fixmine::curation

namespace fixmine::curation {
namespace {

TEST_F(CurateRepoTest, LicenseAtTheTip) {
  auto license = miner::DetectRepositoryLicense(repo_.path(), "HEAD");
  ASSERT_TRUE(license.ok()) << license.status();
  EXPECT_EQ(*license, "MIT");
  repo_.Remove("LICENSE");
  repo_.Write("COPYING", "GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n");
  repo_.CommitAll("Switch the license to GPL\n");
  EXPECT_EQ(*miner::DetectRepositoryLicense(repo_.path(), "HEAD"), "GPL-3.0");
  EXPECT_EQ(*miner::DetectRepositoryLicense(repo_.path(), "HEAD~1"), "MIT");
  EXPECT_FALSE(miner::DetectRepositoryLicense(repo_.path(), "nope").ok());
}

// Issue 20: SPDX expressions across files, and an unsure marker for a text matching nothing.
TEST_F(CurateRepoTest, Issue20DualLicenseFilesAndUnsure) {
  repo_.Remove("LICENSE");
  repo_.Write("LICENSE-APACHE", "Apache License\nVersion 2.0, January 2004\n");
  repo_.Write("LICENSE-MIT",
              "Permission is hereby granted, free of charge, to any person "
              "obtaining a copy\n");
  repo_.CommitAll("Dual license\n");
  auto dual = miner::DetectRepositoryLicenseDetail(repo_.path(), "HEAD");
  ASSERT_TRUE(dual.ok()) << dual.status();
  EXPECT_EQ(dual->spdx, "Apache-2.0 OR MIT");
  EXPECT_FALSE(dual->unsure);

  // byteorder's layout: a COPYING that only says "dual-licensed", and one file per license.
  repo_.Remove("LICENSE-APACHE");
  repo_.Write("COPYING", "This project is dual-licensed under the Unlicense and MIT licenses.\n");
  repo_.Write("UNLICENSE",
              "This is free and unencumbered software released into the public "
              "domain.\n");
  repo_.CommitAll("Dual license, the other way\n");
  auto unlicense = miner::DetectRepositoryLicenseDetail(repo_.path(), "HEAD");
  ASSERT_TRUE(unlicense.ok()) << unlicense.status();
  EXPECT_EQ(unlicense->spdx, "MIT OR Unlicense");
  EXPECT_FALSE(unlicense->unsure);
  repo_.Remove("UNLICENSE");

  repo_.Remove("LICENSE-MIT");
  repo_.Write("COPYING", "Copyright the authors. All rights reserved.\n");
  repo_.CommitAll("Private now\n");
  auto unsure = miner::DetectRepositoryLicenseDetail(repo_.path(), "HEAD");
  ASSERT_TRUE(unsure.ok()) << unsure.status();
  EXPECT_EQ(unsure->spdx, "");
  EXPECT_TRUE(unsure->unsure);

  repo_.Remove("COPYING");
  repo_.CommitAll("No license file\n");
  auto none = miner::DetectRepositoryLicenseDetail(repo_.path(), "HEAD");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->spdx, "");
  EXPECT_FALSE(none->unsure);
}

}  // namespace
}  // namespace fixmine::curation
