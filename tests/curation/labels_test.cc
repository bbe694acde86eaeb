#include "curation/labels.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "curation/license.h"
#include "curation/paths.h"

namespace fixmine::curation {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct FixCase {
  const char* message;
  bool is_fix;
  const char* evidence;  // one expected evidence string, or "" for none
};

class FixTest : public ::testing::TestWithParam<FixCase> {};

TEST_P(FixTest, Classifies) {
  const FixCase& c = GetParam();
  FixLabel l = LabelFix(c.message);
  EXPECT_EQ(l.is_fix, c.is_fix) << c.message;
  if (*c.evidence) {
    EXPECT_THAT(l.evidence, Contains(std::string(c.evidence))) << c.message;
  }
  if (!c.is_fix) {
    EXPECT_THAT(l.evidence, IsEmpty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Languages, FixTest,
    ::testing::Values(FixCase{"Fix null dereference in parser", true, "keyword:Fix"},
                      FixCase{"Handle crash when the socket closes", true, "keyword:crash"},
                      FixCase{"Avoid regression in scheduler", true, "keyword:regression"},
                      FixCase{"Add new option for output", false, ""},
                      FixCase{"Prefix the config loader", false, ""},  // "fix" inside a word
                      FixCase{"Behebt Fehler beim Speichern", true, "keyword:Fehler"},
                      FixCase{"Corrige le plantage au d\u00e9marrage", true, "keyword:plantage"},
                      FixCase{"Corrig\u00e9 l'affichage", true, "keyword:Corrig\u00e9"},
                      FixCase{"Arregla el fallo de memoria", true, "keyword:fallo"},
                      FixCase{"Corrigido problema de codifica\u00e7\u00e3o", true,
                              "keyword:Corrigido"},
                      FixCase{"\u4fee\u590d\u5185\u5b58\u6cc4\u6f0f", true,
                              "keyword:\u4fee\u590d"},  // 修复内存泄漏
                      FixCase{"\u30d0\u30b0\u3092\u4fee\u6b63", true,
                              "keyword:\u30d0\u30b0"},  // バグを修正
                      FixCase{"\u0418\u0441\u043f\u0440\u0430\u0432\u043b\u0435\u043d "
                              "\u043f\u0430\u0440\u0441\u0435\u0440",
                              true, ""},  // Исправлен парсер
                      FixCase{"Update docs\n\nCloses #42", true, "closes:#42"},
                      FixCase{"Handle empty input\n\nResolves PROJ-77", true, "closes:PROJ-77"},
                      FixCase{"Add feature (#1234)", false, ""}));

TEST(FixTest, IssueRefsAreCollectedButAloneAreNotAFix) {
  FixLabel l = LabelFix("Add caching (#12)\n\nSee GH-7 and ABC-123, also owner/repo#9.");
  EXPECT_FALSE(l.is_fix);
  EXPECT_THAT(l.issue_refs, ElementsAre("#12", "GH-7", "ABC-123", "owner/repo#9"));
  FixLabel f = LabelFix("fixes #123");
  EXPECT_TRUE(f.is_fix);
  EXPECT_THAT(f.evidence, ElementsAre("keyword:fixes", "closes:#123"));
  EXPECT_THAT(f.issue_refs, ElementsAre("#123"));
}

TEST(RevertTest, SubjectAndBody) {
  RevertLabel r = LabelRevert("Revert \"Add cache\"",
                              "Revert \"Add cache\"\n\nThis reverts commit "
                              "0123456789ABCDEF0123456789abcdef01234567.\n");
  EXPECT_TRUE(r.is_revert);
  EXPECT_EQ(r.reverted_commit, "0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(r.evidence.size(), 2u);
  EXPECT_FALSE(LabelRevert("Reverted behaviour is documented", "x").is_revert);
  EXPECT_TRUE(LabelRevert("Undo it", "Undo it\n\nThis reverts commit abcdef1.").is_revert);
}

TEST(BotTest, Rules) {
  EXPECT_EQ(BotReason("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com", {}),
            "name ends with [bot]");
  EXPECT_EQ(BotReason("Renovate Bot", "bot@renovateapp.com", {}), "known bot renovate");
  EXPECT_EQ(BotReason("github-actions", "41898282+github-actions@x", {}),
            "known bot github-actions");
  EXPECT_EQ(BotReason("Ada Lovelace", "ada@example.com", {}), "");
  EXPECT_EQ(BotReason("CI Robot", "ci@example.com", {"ci robot"}), "configured bot ci robot");
}

TEST(LanguageTest, DetectsChineseGermanJapaneseEnglish) {
  EXPECT_EQ(DetectMessageLanguage("修复了当用户关闭窗口时程序崩溃的问题，并且改进了内存管理和错误处理的逻辑"),
            "zh");
  EXPECT_EQ(DetectMessageLanguage("Behebt einen Fehler beim Speichern der Datei, wenn der "
                                  "Benutzer das Fenster schließt und die Verbindung abbricht"),
            "de");
  EXPECT_EQ(DetectMessageLanguage("ユーザーがウィンドウを閉じたときにプログラムがクラッシュする問題を修正しました"),
            "ja");
  EXPECT_EQ(DetectMessageLanguage("Fix a crash when the user closes the window while the "
                                  "connection is still being established"),
            "en");
  EXPECT_EQ(DetectMessageLanguage(""), "");
}

// Only the first kLanguageDetectionPrefix bytes are looked at: a long English message followed
// by more German text is English; the same German text alone is German.
TEST(LanguageTest, LooksAtThePrefixOfLongMessages) {
  std::string english;
  while (english.size() < kLanguageDetectionPrefix) {
    english += "Fix a crash when the user closes the window while the connection is still "
               "being established. ";
  }
  std::string german;
  while (german.size() < 3 * kLanguageDetectionPrefix) {
    german += "Behebt einen Fehler beim Speichern der Datei, wenn der Benutzer das Fenster "
              "schließt und die Verbindung abbricht. ";
  }
  EXPECT_EQ(DetectMessageLanguage(german), "de");
  EXPECT_EQ(DetectMessageLanguage(english + german), "en");
  // A cut inside a multi-byte character moves back to the character's start.
  std::string chinese;
  while (chinese.size() < 2 * kLanguageDetectionPrefix) {
    chinese += "修复了当用户关闭窗口时程序崩溃的问题，并且改进了内存管理和错误处理的逻辑";
  }
  EXPECT_EQ(DetectMessageLanguage("x" + chinese), "zh");
}

TEST(PathsTest, VendoredGeneratedLockfileDocumentation) {
  EXPECT_TRUE(IsVendored("node_modules/left-pad/index.js"));
  EXPECT_TRUE(IsVendored("deps/zlib/inflate.c"));
  EXPECT_TRUE(IsVendored("src/vendor/github.com/x/y.go"));
  EXPECT_TRUE(IsVendored("static/jquery-3.6.0.js"));
  EXPECT_FALSE(IsVendored("src/main.cc"));
  EXPECT_TRUE(IsDocumentation("docs/index.md"));
  EXPECT_TRUE(IsDocumentation("CHANGELOG.md"));
  EXPECT_FALSE(IsDocumentation("src/doc.cc"));
  for (const char* p : {"package-lock.json", "web/yarn.lock", "Cargo.lock", "poetry.lock",
                        "Gemfile.lock", "go.sum", "pnpm-lock.yaml"}) {
    EXPECT_TRUE(IsLockfile(p)) << p;
    EXPECT_TRUE(IsGenerated(p)) << p;
  }
  EXPECT_FALSE(IsLockfile("go.mod"));
  EXPECT_FALSE(IsLockfile("src/lock.c"));
  for (const char* p : {"app.min.js", "style.min.css", "api/v1/api.pb.go", "proto/x_pb2.py",
                        "Form1.Designer.cs", "app.js.map", "model.g.dart"}) {
    EXPECT_TRUE(IsGenerated(p)) << p;
    EXPECT_FALSE(IsLockfile(p)) << p;
  }
  EXPECT_FALSE(IsGenerated("src/main.go"));
  EXPECT_FALSE(IsGenerated("minify.js"));
}

TEST(LicenseTest, KeyPhrases) {
  EXPECT_EQ(DetectLicense("MIT License\n\nPermission is hereby granted, free of charge, to any\n"
                          "person obtaining a copy of this software"),
            "MIT");
  EXPECT_EQ(DetectLicense("                                 Apache License\n"
                          "                           Version 2.0, January 2004"),
            "Apache-2.0");
  std::string bsd =
      "Redistribution and use in source and binary forms, with or without modification, are "
      "permitted provided that the following conditions are met:";
  EXPECT_EQ(DetectLicense(bsd), "BSD-2-Clause");
  EXPECT_EQ(DetectLicense(bsd + " 3. Neither the name of the copyright holder nor"),
            "BSD-3-Clause");
  EXPECT_EQ(DetectLicense("GNU GENERAL PUBLIC LICENSE\n Version 3, 29 June 2007"), "GPL-3.0");
  EXPECT_EQ(DetectLicense("GNU GENERAL PUBLIC LICENSE\n Version 2, June 1991"), "GPL-2.0");
  EXPECT_EQ(DetectLicense("GNU LESSER GENERAL PUBLIC LICENSE Version 2.1, February 1999\n"
                          "... GNU General Public License"),
            "LGPL-2.1");
  EXPECT_EQ(DetectLicense("GNU LESSER GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007"),
            "LGPL-3.0");
  EXPECT_EQ(DetectLicense("Mozilla Public License Version 2.0\n=================="), "MPL-2.0");
  EXPECT_EQ(DetectLicense("ISC License\n\nPermission to use, copy, modify, and/or distribute "
                          "this software for any\npurpose with or without fee is hereby granted"),
            "ISC");
  EXPECT_EQ(DetectLicense("This is free and unencumbered software released into the public "
                          "domain."),
            "Unlicense");
  EXPECT_EQ(DetectLicense("All rights reserved."), "");
  EXPECT_TRUE(IsLicenseFileName("LICENSE"));
  EXPECT_TRUE(IsLicenseFileName("License.md"));
  EXPECT_TRUE(IsLicenseFileName("COPYING"));
  EXPECT_TRUE(IsLicenseFileName("UNLICENSE"));
  EXPECT_FALSE(IsLicenseFileName("LICENSE-THIRD-PARTY/x"));
  EXPECT_FALSE(IsLicenseFileName("README.md"));
}

}  // namespace
}  // namespace fixmine::curation
