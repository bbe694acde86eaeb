// functions_changed (miner/functions.h) on records mined from real repositories: the hunks are
// git's, the expected names are read off the files by hand.
#include "miner/functions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "miner/walk.h"
#include "tests/testutil/git_repo.h"

namespace fixmine::miner {
namespace {

using fixmine::v1::FileChange;
using fixmine::v1::Record;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testutil::GitRepo;

// The record of HEAD, by file path.
std::map<std::string, FileChange> HeadFiles(GitRepo& repo) {
  RecordOptions ro;
  ro.repo_name = "functions";
  WalkOptions wo;
  wo.max_commits = 1;
  std::map<std::string, FileChange> out;
  absl::Status st = Mine(
      repo.path(), wo, ro,
      [&](Record&& r) {
        for (const auto& f : r.files()) out[f.path()] = f;
        return absl::OkStatus();
      },
      nullptr);
  EXPECT_TRUE(st.ok()) << st;
  return out;
}

std::vector<std::string> Names(const FileChange& f) {
  return {f.functions_changed().begin(), f.functions_changed().end()};
}

TEST(ChangedFunctions, CChangesInTwoFunctionsAndAGlobal) {
  GitRepo repo;
  repo.Write(
      "calc.c",
      "#include <stdio.h>\n\nstatic int limit = 10;\n\n"
      "static int add(int a,\n               int b) {\n  return a + b;\n}\n\n"
      "int twice(int x) {\n  if (x > limit) {\n    return limit;\n  }\n  return 2 * x;\n}\n\n"
      "int main(void) {\n  printf(\"%d\\n\", twice(add(1, 2)));\n  return 0;\n}\n");
  repo.CommitAll("calc\n");
  repo.Write(
      "calc.c",
      "#include <stdio.h>\n\nstatic int limit = 20;\n\n"
      "static int add(int a,\n               int b) {\n  return a + b;\n}\n\n"
      "int twice(int x) {\n  if (x > limit) {\n    return limit - 1;\n  }\n  return 2 * x;\n}\n\n"
      "int main(void) {\n  printf(\"%d\\n\", twice(add(1, 2)));\n  return 1;\n}\n");
  repo.CommitAll("change\n");
  std::map<std::string, FileChange> f = HeadFiles(repo);
  ASSERT_EQ(f.count("calc.c"), 1u);
  // `limit` is a global: no function; add() is untouched.
  EXPECT_THAT(Names(f["calc.c"]), ElementsAre("twice", "main"));
}

TEST(ChangedFunctions, CppQualifiedNamesAndDeletedFunctions) {
  GitRepo repo;
  repo.Write("w.cc",
             "#include \"w.h\"\n\nnamespace ui {\n\nint Widget::size() const {\n  return n_;\n}\n\n"
             "void Widget::grow(int by) {\n  n_ += by;\n}\n\n"
             "void Widget::shrink() {\n  n_ -= 1;\n}\n\n}  // namespace ui\n");
  repo.CommitAll("w\n");
  repo.Write("w.cc",
             "#include \"w.h\"\n\nnamespace ui {\n\nint Widget::size() const {\n  return n_;\n}\n\n"
             "void Widget::grow(int by) {\n  n_ += 2 * by;\n}\n\n}  // namespace ui\n");
  repo.CommitAll("drop shrink\n");
  std::map<std::string, FileChange> f = HeadFiles(repo);
  EXPECT_THAT(Names(f["w.cc"]), ElementsAre("Widget::grow", "Widget::shrink"));
}

// A call split over lines with a lambda argument is no definition; googletest's TEST(Suite,
// Name) is the test "Suite.Name"; a Rust lifetime is no character literal.
TEST(ChangedFunctions, CallsWithLambdasTestMacrosAndLifetimes) {
  GitRepo repo;
  const std::string before =
      "TEST(Parser, Empty) {\n  int n = 0;\n  EXPECT_EQ(n,\n            [&] { return 0; }());\n"
      "  EXPECT_TRUE(n == 0);\n}\n";
  repo.Write("p_test.cc", before);
  repo.Write("l.rs", "fn first<'a>(s: &'a str) -> &'a str {\n    &s[..1]\n}\n");
  // A macro call inside a template's argument list is not the name; `if constexpr` no function.
  const std::string header =
      "template <typename T, FMT_ENABLE_IF(is_integral<T>::value)>\n"
      "void unused();\ntemplate <typename T,\n          FMT_ENABLE_IF(is_integral<T>::value &&\n"
      "                        sizeof(T) > 1)>\n"
      "auto format(T value) -> int {\n  if constexpr (sizeof(T) > 4) {\n    return 1;\n  }\n"
      "  return 0;\n}\n";
  repo.Write("t.h", header);
  repo.CommitAll("tests\n");
  std::string header_after = header;
  header_after.replace(header_after.find("return 1;"), 9, "return 2;");
  repo.Write("t.h", header_after);
  std::string after = before;
  after.replace(after.find("EXPECT_TRUE(n == 0)"), 19, "EXPECT_TRUE(n != 1)");
  after.replace(after.find("return 0; }"), 11, "return n; }");
  repo.Write("p_test.cc", after);
  repo.Write("l.rs", "fn first<'a>(s: &'a str) -> &'a str {\n    &s[..2]\n}\n");
  repo.CommitAll("change\n");
  std::map<std::string, FileChange> f = HeadFiles(repo);
  EXPECT_THAT(Names(f["p_test.cc"]), ElementsAre("Parser.Empty"));
  EXPECT_THAT(Names(f["t.h"]), ElementsAre("format"));
  EXPECT_THAT(Names(f["l.rs"]), ElementsAre("first"));
}

TEST(ChangedFunctions, PythonMethodsGoAndRust) {
  GitRepo repo;
  repo.Write("m.py",
             "import os\n\n\nclass Store:\n    def get(self, k):\n        return self.d[k]\n\n"
             "    def put(self, k, v):\n        self.d[k] = v\n\n\ndef helper():\n    return 1\n");
  repo.Write("m.go",
             "package m\n\nfunc (s *Store) Get(k string) string {\n\treturn s.d[k]\n}\n\n"
             "func Helper() int {\n\treturn 1\n}\n");
  repo.Write("m.rs",
             "pub fn get(k: u32) -> u32 {\n    k + 1\n}\n\nfn helper() -> u32 {\n    1\n}\n");
  repo.CommitAll("m\n");
  repo.Write("m.py",
             "import os\n\n\nclass Store:\n    def get(self, k):\n        return self.d[k]\n\n"
             "    def put(self, k, v):\n        self.d[k] = v\n        self.n += 1\n\n\n"
             "def helper():\n    return 2\n");
  repo.Write("m.go",
             "package m\n\nfunc (s *Store) Get(k string) string {\n\treturn s.d[k] + \"\"\n}\n\n"
             "func Helper() int {\n\treturn 1\n}\n");
  repo.Write("m.rs",
             "pub fn get(k: u32) -> u32 {\n    k + 1\n}\n\nfn helper() -> u32 {\n    2\n}\n");
  repo.CommitAll("change\n");
  std::map<std::string, FileChange> f = HeadFiles(repo);
  EXPECT_THAT(Names(f["m.py"]), ElementsAre("Store.put", "helper"));
  EXPECT_THAT(Names(f["m.go"]), ElementsAre("Get"));
  EXPECT_THAT(Names(f["m.rs"]), ElementsAre("helper"));
}

TEST(ChangedFunctions, JavaScriptAndJava) {
  GitRepo repo;
  repo.Write("a.js",
             "const x = 1;\n\nfunction load(p) {\n  return p;\n}\n\n"
             "const save = async (p) => {\n  return p;\n};\n\nclass A {\n  run(n) {\n    return "
             "n;\n  }\n}\n");
  repo.Write("B.java",
             "class B {\n  public int get(int k) {\n    return k;\n  }\n\n"
             "  private static void put(int k) {\n    System.out.println(k);\n  }\n}\n");
  repo.CommitAll("a\n");
  repo.Write("a.js",
             "const x = 1;\n\nfunction load(p) {\n  return p;\n}\n\n"
             "const save = async (p) => {\n  return p + 1;\n};\n\nclass A {\n  run(n) {\n    "
             "return n * 2;\n  }\n}\n");
  repo.Write("B.java",
             "class B {\n  public int get(int k) {\n    return k + 1;\n  }\n\n"
             "  private static void put(int k) {\n    System.out.println(k);\n  }\n}\n");
  repo.CommitAll("change\n");
  std::map<std::string, FileChange> f = HeadFiles(repo);
  EXPECT_THAT(Names(f["a.js"]), ElementsAre("save", "run"));
  EXPECT_THAT(Names(f["B.java"]), ElementsAre("get"));
}

// Without a parser for the language the hunk headers name the function (git's funcname line).
TEST(ChangedFunctions, UnknownLanguageUsesHunkHeaders) {
  GitRepo repo;
  std::string body;
  for (int i = 0; i < 10; ++i) body += "  x = " + std::to_string(i) + "\n";
  repo.Write("s.rb", "def compute(x)\n" + body + "end\n");
  repo.CommitAll("rb\n");
  std::string changed = body;
  changed.replace(changed.find("x = 8"), 5, "x = 80");
  repo.Write("s.rb", "def compute(x)\n" + changed + "end\n");
  repo.CommitAll("change\n");
  std::map<std::string, FileChange> f = HeadFiles(repo);
  ASSERT_EQ(f["s.rb"].hunks_size(), 1);
  EXPECT_EQ(f["s.rb"].hunks(0).header(), "def compute(x)");  // the premise: git's header
  EXPECT_THAT(Names(f["s.rb"]), ElementsAre("compute"));
}

TEST(ChangedFunctions, BinaryAndAddedTextFiles) {
  GitRepo repo;
  repo.Write("bin.dat", std::string("\0\1\2int f() {\n", 12));
  repo.Write("new.c", "int f(void) {\n  return 0;\n}\n");
  repo.CommitAll("add\n");
  std::map<std::string, FileChange> f = HeadFiles(repo);
  EXPECT_THAT(Names(f["bin.dat"]), IsEmpty());
  EXPECT_THAT(Names(f["new.c"]), ElementsAre("f"));
}

}  // namespace
}  // namespace fixmine::miner
