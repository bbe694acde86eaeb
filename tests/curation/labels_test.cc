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
    ::testing::Values(
        FixCase{"Fix null dereference in parser", true, "keyword:Fix"},
        FixCase{"Handle crash when the socket closes", true, "keyword:crash"},
        FixCase{"Avoid regression in scheduler", true, "keyword:regression"},
        FixCase{"Add new option for output", false, ""},
        FixCase{"Prefix the config loader", false, ""},  // "fix" inside a word
        FixCase{"Behebt Fehler beim Speichern", true, "keyword:Fehler"},
        FixCase{"Corrige le plantage au d\u00e9marrage", true, "keyword:plantage"},
        FixCase{"Corrig\u00e9 l'affichage", true, "keyword:Corrig\u00e9"},
        FixCase{"Arregla el fallo de memoria", true, "keyword:fallo"},
        FixCase{"Corrigido problema de codifica\u00e7\u00e3o", true, "keyword:Corrigido"},
        FixCase{"\u4fee\u590d\u5185\u5b58\u6cc4\u6f0f", true,
                "keyword:\u4fee\u590d"},  // 修复内存泄漏
        FixCase{"\u30d0\u30b0\u3092\u4fee\u6b63", true, "keyword:\u30d0\u30b0"},  // バグを修正
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

// Issue 20: fix evidence in a revert, a release or a formatting commit does not make a fix.
struct NotFixCase {
  const char* message;
  const char* reason;
};

class NotFixTest : public ::testing::TestWithParam<NotFixCase> {};

TEST_P(NotFixTest, EvidenceIsOverruledByTheSubject) {
  const NotFixCase& c = GetParam();
  FixLabel l = LabelFix(c.message);
  EXPECT_FALSE(l.is_fix) << c.message;
  EXPECT_EQ(l.not_fix_reason, c.reason) << c.message;
  EXPECT_THAT(l.evidence, IsEmpty()) << c.message;
}

INSTANTIATE_TEST_SUITE_P(
    Issue20, NotFixTest,
    ::testing::Values(
        NotFixCase{"Revert \"Fix hang in the compaction thread\"\n\nThis reverts commit "
                   "0123456789abcdef0123456789abcdef01234567.\n",
                   "revert"},
        NotFixCase{"Undo the crash workaround\n\nThis reverts commit abcdef1.\n", "revert"},
        NotFixCase{"Release LevelDB 1.14\n\nFix issues 200 and 201, a crash in Get().\n",
                   "release"},
        NotFixCase{"Bump version to 2.0.1\n\nFixes #77\n", "release"},
        NotFixCase{"chore(release): 1.4.0\n\n* fix: parser crash\n", "release"},
        NotFixCase{"v1.2.3\n\nbug fixes\n", "release"},
        NotFixCase{"Run clang-format over src/\n\nfix the include order too\n", "formatting"},
        NotFixCase{"Reformat the tests\n\nNo functional change; fixes lint.\n", "formatting"},
        NotFixCase{"style: fix indentation\n", "formatting"},
        NotFixCase{"Fix indentation in parser.c\n\nFixes the build warning\n", "formatting"},
        NotFixCase{"Remove trailing whitespace\n\nfixed in every header\n", "formatting"}));

TEST(NotFixTest, SimilarSubjectsThatAreFixesStayFixes) {
  for (const char* m :
       {"Release the lock before closing the file\n\nFixes a deadlock.\n",
        "Fix formatting of long double\n", "Fix whitespace handling in the tokenizer\n",
        "Fix crash in clang plugin\n", "Fix clang-format crash on empty input\n",
        "Fix crash when reformatting long lines\n", "Fix crash when computing the indentation\n",
        "Fix indentation of option help\n",  // click: output, not code
        "Revert to the old allocator to fix a crash\n"}) {
    FixLabel l = LabelFix(m);
    EXPECT_TRUE(l.is_fix) << m;
    EXPECT_EQ(l.not_fix_reason, "") << m;
  }
}

TEST(BotTest, Issue20WordBotAndKnownServices) {
  EXPECT_EQ(BotReason("StepSecurity Bot", "bot@stepsecurity.io", {}), "name has the word bot");
  EXPECT_EQ(BotReason("step-security", "bot@stepsecurity.io", {}),
            "e-mail has the word bot before @");
  EXPECT_EQ(BotReason("ci-bot", "ci@example.com", {}), "name has the word bot");
  EXPECT_EQ(BotReason("Mergify", "noreply@mergify.io", {}), "known bot mergify");
  // "bot" inside a word is a person or a word, not a bot.
  EXPECT_EQ(BotReason("Jane Abbott", "jane.abbott@example.com", {}), "");
  EXPECT_EQ(BotReason("Talbot Smith", "talbot@example.com", {}), "");
  EXPECT_EQ(BotReason("Robot Fan", "robotics@example.com", {}), "");
  EXPECT_EQ(BotReason("Bo T", "bot.enthusiast.example.com", {}), "");  // no @: no local part
  EXPECT_EQ(BotReason("npm CLI robot", "npm-cli+bot@github.com", {}),
            "e-mail has the word bot before @");
  // A GitHub no-reply address holds a user name, which a person may end in "-bot" (found in
  // the evaluation repositories); apps have "[bot]" there.
  EXPECT_EQ(BotReason("Alex", "12345+leha-bot@users.noreply.github.com", {}), "");
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
  EXPECT_EQ(DetectMessageLanguage(
                "修复了当用户关闭窗口时程序崩溃的问题，并且改进了内存管理和错误处理的逻辑"),
            "zh");
  EXPECT_EQ(DetectMessageLanguage("Behebt einen Fehler beim Speichern der Datei, wenn der "
                                  "Benutzer das Fenster schließt und die Verbindung abbricht"),
            "de");
  EXPECT_EQ(DetectMessageLanguage(
                "ユーザーがウィンドウを閉じたときにプログラムがクラッシュする問題を修正しました"),
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
    english +=
        "Fix a crash when the user closes the window while the connection is still "
        "being established. ";
  }
  std::string german;
  while (german.size() < 3 * kLanguageDetectionPrefix) {
    german +=
        "Behebt einen Fehler beim Speichern der Datei, wenn der Benutzer das Fenster "
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
  EXPECT_TRUE(IsLicenseFileName("LICENSE-MIT"));
}

// Issue 20: libgit2's COPYING is the GPL version 2 only with a linking exception, and the LGPL
// of bundled code further down; it was reported as LGPL-2.1.
constexpr char kLinkingExceptionCopying[] =
    " libgit2 is Copyright (C) the libgit2 contributors.\n\n"
    " Note that the only valid version of the GPL as far as this project\n"
    " is concerned is _this_ particular version of the license (ie v2).\n"
    "----\n\t\t\tLINKING EXCEPTION\n\n"
    " In addition to the permissions in the GNU General Public License,\n"
    " the authors give you unlimited permission to link the compiled\n"
    " version of this library into combinations with other programs.\n"
    "----\n\t\t    GNU GENERAL PUBLIC LICENSE\n\t\t       Version 2, June 1991\n"
    "  TERMS AND CONDITIONS FOR COPYING, DISTRIBUTION AND MODIFICATION\n"
    "  ... either version 2 of the License, or (at your option) any later version.\n"
    "----\n\t\t  GNU LESSER GENERAL PUBLIC LICENSE\n\t\t       Version 2.1, February 1999\n";

TEST(LicenseTest, Issue20SpdxExpressionsWhereTheTextSaysSo) {
  LicenseDetection d = DetectLicenseText(kLinkingExceptionCopying);
  EXPECT_EQ(d.spdx, "GPL-2.0-only WITH GCC-exception-2.0");
  EXPECT_FALSE(d.unsure);
  // "any later version" in the notice before the terms (not in the terms' own advice).
  EXPECT_EQ(DetectLicense("This program is free software; you can redistribute it under the "
                          "terms of the GNU General Public License as published by the Free "
                          "Software Foundation; either version 3 of the License, or (at your "
                          "option) any later version.\n\nTERMS AND CONDITIONS\n"),
            "GPL-3.0-or-later");
  EXPECT_EQ(DetectLicense("GNU GENERAL PUBLIC LICENSE Version 2, June 1991\nTERMS AND CONDITIONS"
                          "\n... either version 2 of the License, or (at your option) any later "
                          "version."),
            "GPL-2.0");
  EXPECT_EQ(DetectLicense("GNU GENERAL PUBLIC LICENSE Version 2, June 1991 ... As a special "
                          "exception, the copyright holders of this library give you permission "
                          "to link this library with independent modules"),
            "GPL-2.0 WITH Classpath-exception-2.0");
  EXPECT_EQ(DetectLicense("Apache License Version 2.0, January 2004\n---- LLVM Exceptions to the "
                          "Apache 2.0 License ----"),
            "Apache-2.0 WITH LLVM-exception");
}

// Found on the evaluation set: go-multierror's MPL-2.0 names the GPL and LGPL as "Secondary
// Licenses" (it was GPL-2.0-or-later); Catch2's BSL-1.0 and zlib's license were not recognised.
TEST(LicenseTest, Issue20MentionedGnuLicensesAndMoreIds) {
  EXPECT_EQ(DetectLicense("Mozilla Public License Version 2.0\n1.12. \"Secondary License\" means "
                          "either the GNU General Public License, Version 2.0, the GNU Lesser "
                          "General Public License, Version 2.1, ... or any later versions"),
            "MPL-2.0");
  EXPECT_EQ(DetectLicense("Boost Software License - Version 1.0 - August 17th, 2003\n\n"
                          "Permission is hereby granted, free of charge, to any person or "
                          "organization obtaining a copy of the software"),
            "BSL-1.0");
  EXPECT_EQ(DetectLicense("  This software is provided 'as-is', without any express or implied\n"
                          "  warranty.  ...\n  2. Altered source versions must be plainly marked "
                          "as such, and must not be misrepresented"),
            "Zlib");
}

TEST(LicenseTest, Issue20UnsureWhenNothingMatchesWell) {
  LicenseDetection none = DetectLicenseText("All rights reserved. Ask us before use.");
  EXPECT_EQ(none.spdx, "");
  EXPECT_TRUE(none.unsure);
  LicenseDetection no_version = DetectLicenseText(
      "Distributed under the GNU General Public "
      "License; see the FSF's web site.");
  EXPECT_EQ(no_version.spdx, "");
  EXPECT_TRUE(no_version.unsure);
  LicenseDetection mit = DetectLicenseText(
      "Permission is hereby granted, free of charge, to any person obtaining a copy");
  EXPECT_EQ(mit.spdx, "MIT");
  EXPECT_FALSE(mit.unsure);
}

}  // namespace
}  // namespace fixmine::curation
