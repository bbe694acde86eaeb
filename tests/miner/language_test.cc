// Languages of files (miner/language.h): linguist's names and extensions, and issue 20's `.h`
// resolution by content and by the repository's other files.
#include "miner/language.h"

#include <gtest/gtest.h>

namespace fixmine::miner {
namespace {

TEST(LanguageForFile, OtherExtensionsAreTheirPathLanguage) {
  EXPECT_EQ(LanguageForFile("src/a.cc", "", "C"), "C++");
  EXPECT_EQ(LanguageForFile("src/a.c", "class X {", ""), "C");
  EXPECT_EQ(LanguageForFile("a.py", "", ""), LanguageForPath("a.py"));
  EXPECT_EQ(LanguageForPath("x.h"), "C");  // linguist's default for the ambiguous extension
}

struct HeaderCase {
  const char* content;
  const char* language;
};

class HeaderContent : public ::testing::TestWithParam<HeaderCase> {};

TEST_P(HeaderContent, DecidesWithoutARepositoryHint) {
  EXPECT_EQ(LanguageForFile("include/x.h", GetParam().content, ""), GetParam().language)
      << GetParam().content;
}

INSTANTIATE_TEST_SUITE_P(
    Issue20, HeaderContent,
    ::testing::Values(
        HeaderCase{"#ifndef X_H\n#define X_H\nstruct point { int x, y; };\nint f(void);\n#endif\n",
                   "C"},
        HeaderCase{"#ifdef __cplusplus\nextern \"C\" {\n#endif\nint f(void);\n", "C"},
        HeaderCase{"typedef struct git_repository git_repository;\n", "C"},
        HeaderCase{"/* the class of errors */\nint classify(int class_id);\n", "C"},
        HeaderCase{"namespace fmt {\nint f();\n}\n", "C++"},
        HeaderCase{"FMT_BEGIN_NAMESPACE\ntemplate <typename T> struct formatter;\n", "C++"},
        HeaderCase{"class FMT_API format_error : public std::runtime_error {\n", "C++"},
        HeaderCase{"class Widget {\n public:\n  Widget();\n};\n", "C++"},
        HeaderCase{"#include <vector>\nint f();\n", "C++"},
        HeaderCase{"struct derived : base {};\n", "C++"},
        HeaderCase{"#import <Foundation/Foundation.h>\n", "Objective-C"},
        HeaderCase{"@interface View : NSObject\n@end\n", "Objective-C"},
        HeaderCase{"/**\n * @endcode\n */\nint f(void);\n", "C"}));

TEST(LanguageForFile, Issue20RepositoryHintForHeadersWithoutTellingContent) {
  const char* plain = "#pragma once\nint add(int a, int b);\n";
  EXPECT_EQ(LanguageForFile("a.h", plain, ""), "C");
  EXPECT_EQ(LanguageForFile("a.h", plain, "C++"), "C++");
  EXPECT_EQ(LanguageForFile("A.H", plain, "Objective-C"), "Objective-C");
  // The content beats the hint.
  EXPECT_EQ(LanguageForFile("a.h", "namespace x {\n}\n", "Objective-C"), "C++");
}

TEST(HeaderLanguageOfRepository, CountsDecide) {
  SourceCounts cpp;
  for (const char* p : {"src/a.cc", "src/b.cpp", "include/c.hpp", "d.h", "README.md"}) cpp.Add(p);
  EXPECT_EQ(cpp.cpp, 3);
  EXPECT_EQ(cpp.c, 0);
  EXPECT_EQ(HeaderLanguageOfRepository(cpp), "C++");
  // A few C files among many C++ ones (a bundled C library): still C++.
  SourceCounts mostly = cpp;
  for (int i = 0; i < 40; ++i) mostly.Add("src/x.cc");
  mostly.Add("third_party/z.c");
  EXPECT_EQ(HeaderLanguageOfRepository(mostly), "C++");
  SourceCounts mixed;
  for (const char* p : {"a.c", "b.c", "c.cc"}) mixed.Add(p);
  EXPECT_EQ(HeaderLanguageOfRepository(mixed), "");
  SourceCounts objc;
  for (const char* p : {"App/View.m", "App/Cell.mm"}) objc.Add(p);
  EXPECT_EQ(HeaderLanguageOfRepository(objc), "Objective-C");
  SourceCounts none;
  none.Add("dir.c/readme");  // an extension of a folder is no file's
  EXPECT_EQ(none.c, 0);
  EXPECT_EQ(HeaderLanguageOfRepository(none), "");
}

}  // namespace
}  // namespace fixmine::miner
