// Export templates, sampling and the patch applier (common/formats.h, sampling.h, patch_apply.h).
#include "common/formats.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "common/patch_apply.h"
#include "common/sampling.h"
#include "fmt/format.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tests/testutil/git_repo.h"

namespace fixmine {
namespace {

using fixmine::v1::FileChange;
using fixmine::v1::Record;
using google::protobuf::Struct;
using google::protobuf::Value;

Struct ParseJson(const std::string& line) {
  Struct s;
  auto st = google::protobuf::util::JsonStringToMessage(line, &s);
  EXPECT_TRUE(st.ok()) << st.ToString() << "\n" << line;
  return s;
}

std::string Str(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  EXPECT_NE(it, s.fields().end()) << "missing key " << key;
  return it == s.fields().end() ? "" : it->second.string_value();
}

bool Bool(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  EXPECT_NE(it, s.fields().end()) << "missing key " << key;
  return it != s.fields().end() && it->second.bool_value();
}

// A record as the miner makes it: a modified source file, a modified test and an added file.
Record SampleRecord() {
  Record r;
  r.set_id("0123456789abcdef01234567");
  r.set_repo("acme/widgets");
  r.set_commit("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678");
  r.add_parents("ffeeddccbbaa99887766554433221100ffeeddcc");
  r.mutable_author()->set_name("Ann");
  r.mutable_author()->set_time(1700000000);
  r.mutable_committer()->set_time(1700003600);
  r.set_subject("Fix off-by-one in range()");
  r.set_message("Fix off-by-one in range()\n\nThe end was inclusive. Fixes #12.\n");
  r.set_license("MIT");
  r.mutable_labels()->set_is_fix(true);
  FileChange* f = r.add_files();
  f->set_path("src/range.py");
  f->set_old_path("src/range.py");
  f->set_change_type(fixmine::v1::MODIFIED);
  f->set_language("Python");
  f->set_added(1);
  f->set_deleted(1);
  f->set_old_content("def r(n):\n    return list(range(n + 1))\n");
  f->set_patch(
      "diff --git a/src/range.py b/src/range.py\n"
      "index 1111111111111111111111111111111111111111..2222222222222222222222222222222222222222 "
      "100644\n--- a/src/range.py\n+++ b/src/range.py\n"
      "@@ -1,2 +1,2 @@\n def r(n):\n-    return list(range(n + 1))\n+    return list(range(n))\n");
  FileChange* t = r.add_files();
  t->set_path("tests/test_range.py");
  t->set_old_path("tests/test_range.py");
  t->set_change_type(fixmine::v1::MODIFIED);
  t->set_language("Python");
  t->set_old_content("assert r(2) == [0, 1, 2]\n");
  t->set_patch(
      "diff --git a/tests/test_range.py b/tests/test_range.py\n--- a/tests/test_range.py\n"
      "+++ b/tests/test_range.py\n@@ -1 +1 @@\n-assert r(2) == [0, 1, 2]\n+assert r(2) == [0, "
      "1]\n");
  FileChange* a = r.add_files();
  a->set_path("NOTES");
  a->set_old_path("NOTES");
  a->set_change_type(fixmine::v1::ADDED);
  a->set_patch(
      "diff --git a/NOTES b/NOTES\nnew file mode 100644\n--- /dev/null\n+++ b/NOTES\n"
      "@@ -0,0 +1 @@\n+no newline\n\\ No newline at end of file\n");
  return r;
}

TEST(Formats, NamesParseAndUnknownListsThem) {
  for (const auto& name : RecordFormatNames()) {
    auto f = ParseRecordFormat(name);
    ASSERT_TRUE(f.ok()) << name;
    EXPECT_EQ(RecordFormatName(*f), name);
  }
  EXPECT_EQ(*ParseRecordFormat(""), RecordFormat::kRaw);
  auto bad = ParseRecordFormat("alpaca");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("raw, commitpack, chat, sharegpt, swe, datatrove"),
            std::string::npos)
      << bad.status();
}

TEST(Formats, RawIsTheProtoJson) {
  std::vector<std::string> rows;
  ASSERT_TRUE(RenderRecord(SampleRecord(), RecordFormat::kRaw, &rows).ok());
  ASSERT_EQ(rows.size(), 1u);
  Record back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(rows[0], &back).ok());
  EXPECT_EQ(back.SerializeAsString(), SampleRecord().SerializeAsString());
}

TEST(Formats, CommitpackOneRowPerFileWithRebuiltNewContents) {
  std::vector<std::string> rows;
  ASSERT_TRUE(RenderRecord(SampleRecord(), RecordFormat::kCommitpack, &rows).ok());
  ASSERT_EQ(rows.size(), 3u);
  Struct s = ParseJson(rows[0]);
  EXPECT_EQ(s.fields_size(), 12);
  EXPECT_EQ(Str(s, "commit"), "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678");
  EXPECT_EQ(Str(s, "old_file"), "src/range.py");
  EXPECT_EQ(Str(s, "new_file"), "src/range.py");
  EXPECT_EQ(Str(s, "old_contents"), "def r(n):\n    return list(range(n + 1))\n");
  EXPECT_EQ(Str(s, "new_contents"), "def r(n):\n    return list(range(n))\n");
  EXPECT_EQ(Str(s, "subject"), "Fix off-by-one in range()");
  EXPECT_EQ(Str(s, "message"), SampleRecord().message());
  EXPECT_EQ(Str(s, "lang"), "Python");
  EXPECT_EQ(Str(s, "license"), "MIT");
  EXPECT_EQ(Str(s, "repos"), "acme/widgets");
  EXPECT_FALSE(Bool(s, "old_contents_truncated"));
  EXPECT_FALSE(Bool(s, "new_contents_missing"));
  Struct added = ParseJson(rows[2]);
  EXPECT_EQ(Str(added, "old_contents"), "");
  EXPECT_EQ(Str(added, "new_contents"), "no newline");

  // A truncated pre-image cannot be patched: empty new_contents and the flag.
  Record r = SampleRecord();
  r.mutable_files(0)->set_old_content_truncated(true);
  rows.clear();
  ASSERT_TRUE(RenderRecord(r, RecordFormat::kCommitpack, &rows).ok());
  Struct cut = ParseJson(rows[0]);
  EXPECT_EQ(Str(cut, "new_contents"), "");
  EXPECT_TRUE(Bool(cut, "old_contents_truncated"));
  EXPECT_TRUE(Bool(cut, "new_contents_missing"));
  // Binary files give no row.
  r.mutable_files(1)->set_binary(true);
  rows.clear();
  ASSERT_TRUE(RenderRecord(r, RecordFormat::kCommitpack, &rows).ok());
  EXPECT_EQ(rows.size(), 2u);
}

TEST(Formats, ChatAndShareGpt) {
  Record r = SampleRecord();
  std::vector<std::string> rows;
  ASSERT_TRUE(RenderRecord(r, RecordFormat::kChat, &rows).ok());
  ASSERT_EQ(rows.size(), 1u);
  Struct s = ParseJson(rows[0]);
  EXPECT_EQ(s.fields_size(), 1);
  const auto& msgs = s.fields().at("messages").list_value();
  ASSERT_EQ(msgs.values_size(), 3);
  const char* roles[] = {"system", "user", "assistant"};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Str(msgs.values(i).struct_value(), "role"), roles[i]);
    EXPECT_EQ(msgs.values(i).struct_value().fields_size(), 2);
  }
  std::string user = Str(msgs.values(1).struct_value(), "content");
  EXPECT_TRUE(user.starts_with("Fix off-by-one in range()\n\nThe end was inclusive. Fixes #12."))
      << user;
  EXPECT_NE(user.find("### src/range.py\n```\ndef r(n):\n    return list(range(n + 1))\n```\n"),
            std::string::npos)
      << user;
  EXPECT_NE(user.find("### NOTES (new file)"), std::string::npos) << user;
  std::string diff = Str(msgs.values(2).struct_value(), "content");
  EXPECT_EQ(diff, r.files(0).patch() + r.files(1).patch() + r.files(2).patch());

  rows.clear();
  ASSERT_TRUE(RenderRecord(r, RecordFormat::kShareGpt, &rows).ok());
  Struct g = ParseJson(rows[0]);
  const auto& turns = g.fields().at("conversations").list_value();
  ASSERT_EQ(turns.values_size(), 2);
  EXPECT_EQ(Str(turns.values(0).struct_value(), "from"), "human");
  EXPECT_EQ(Str(turns.values(0).struct_value(), "value"), user);
  EXPECT_EQ(Str(turns.values(1).struct_value(), "from"), "gpt");
  EXPECT_EQ(Str(turns.values(1).struct_value(), "value"), diff);
}

TEST(Formats, SweSplitsTestFiles) {
  Record r = SampleRecord();
  std::vector<std::string> rows;
  ASSERT_TRUE(RenderRecord(r, RecordFormat::kSwe, &rows).ok());
  Struct s = ParseJson(rows[0]);
  EXPECT_EQ(s.fields_size(), 8);
  EXPECT_EQ(Str(s, "repo"), "acme/widgets");
  EXPECT_EQ(Str(s, "instance_id"), "acme__widgets-a1b2c3d4e5f6");
  EXPECT_EQ(Str(s, "base_commit"), "ffeeddccbbaa99887766554433221100ffeeddcc");
  EXPECT_EQ(Str(s, "commit"), r.commit());
  EXPECT_EQ(Str(s, "patch"), r.files(0).patch() + r.files(2).patch());
  EXPECT_EQ(Str(s, "test_patch"), r.files(1).patch());
  EXPECT_EQ(Str(s, "problem_statement"),
            "Fix off-by-one in range()\n\nThe end was inclusive. Fixes #12.");
  EXPECT_EQ(Str(s, "created_at"), "2023-11-14T22:13:20Z");
}

TEST(Formats, Datatrove) {
  Record r = SampleRecord();
  std::vector<std::string> rows;
  ASSERT_TRUE(RenderRecord(r, RecordFormat::kDatatrove, &rows).ok());
  Struct s = ParseJson(rows[0]);
  EXPECT_EQ(s.fields_size(), 3);
  EXPECT_EQ(Str(s, "id"), r.id());
  EXPECT_EQ(Str(s, "text"), "Fix off-by-one in range()\n\nThe end was inclusive. Fixes #12.\n\n" +
                                r.files(0).patch() + r.files(1).patch() + r.files(2).patch());
  const Struct& m = s.fields().at("metadata").struct_value();
  EXPECT_EQ(Str(m, "repo"), "acme/widgets");
  EXPECT_EQ(Str(m, "commit"), r.commit());
  EXPECT_EQ(Str(m, "subject"), r.subject());
  EXPECT_EQ(Str(m, "created_at"), "2023-11-14T22:13:20Z");
  EXPECT_EQ(Str(m, "committed_at"), "2023-11-14T23:13:20Z");
  EXPECT_EQ(Str(m, "license"), "MIT");
  EXPECT_TRUE(Bool(m, "is_fix"));
  EXPECT_EQ(m.fields().at("files").number_value(), 3);
  EXPECT_EQ(m.fields().at("added").number_value(), 1);
  ASSERT_EQ(m.fields().at("languages").list_value().values_size(), 1);
  EXPECT_EQ(m.fields().at("languages").list_value().values(0).string_value(), "Python");
}

TEST(Formats, InvalidUtf8AndControlCharactersStayValidJson) {
  Record r = SampleRecord();
  r.set_message(std::string("bad \xff byte, tab\t, nul ") + std::string(1, '\0') + " end");
  for (const auto& name : RecordFormatNames()) {
    if (name == "raw") continue;
    std::vector<std::string> rows;
    ASSERT_TRUE(RenderRecord(r, *ParseRecordFormat(name), &rows).ok());
    for (const auto& row : rows) ParseJson(row);
  }
}

TEST(Formats, TestPathHeuristics) {
  for (const char* p : {"tests/a.py", "src/test/java/FooTest.java", "pkg/foo_test.go",
                        "test_foo.py", "a/b/conftest.py", "web/x.spec.ts", "web/x.test.js",
                        "lib/__tests__/x.js", "spec/models/user_spec.rb", "FooTests.cs",
                        "Testing/x.c", "e2e/login.js", "src/test_io.c", "pkg/x_test.rs"}) {
    EXPECT_TRUE(IsTestPath(p)) << p;
  }
  for (const char* p : {"src/latest.go", "contest.py", "src/testdata_gen.py", "attest/x.c",
                        "README.md", "src/protest.rs", "src/e2ex/a.c", "test_noext"}) {
    EXPECT_FALSE(IsTestPath(p)) << p;
  }
}

TEST(Sampling, StableSubsetsAndRate) {
  EXPECT_TRUE(ValidateSampleRate(1).ok());
  EXPECT_TRUE(ValidateSampleRate(0.001).ok());
  for (double bad : {0.0, -0.5, 1.5, std::nan("")}) {
    EXPECT_EQ(ValidateSampleRate(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  // Pinned: the hash must not change across releases, or samples would.
  EXPECT_EQ(StableHash64("abc", 0), StableHash64("abc", 0));
  EXPECT_NE(StableHash64("abc", 0), StableHash64("abc", 1));
  int n1 = 0, n10 = 0, other_seed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string id = "record-" + std::to_string(i);
    bool in1 = SampleKeeps(id, 0.01, 7), in10 = SampleKeeps(id, 0.10, 7);
    EXPECT_TRUE(SampleKeeps(id, 1.0, 7));
    if (in1) {
      EXPECT_TRUE(in10) << id;
    }
    n1 += in1;
    n10 += in10;
    other_seed += SampleKeeps(id, 0.10, 8) && in10;
  }
  EXPECT_NEAR(n1, 200, 60);
  EXPECT_NEAR(n10, 2000, 200);
  EXPECT_NEAR(other_seed, 200, 70);  // another seed is an independent sample
  std::vector<int> per_bucket(3);
  for (int i = 0; i < 3000; ++i) ++per_bucket[IdBucket("r" + std::to_string(i), 3)];
  for (int c : per_bucket) EXPECT_NEAR(c, 1000, 150);
}

TEST(PatchApply, HandCases) {
  EXPECT_EQ(*ApplyUnifiedDiff("a\nb\nc\n", "@@ -2 +2 @@\n-b\n+B\n"), "a\nB\nc\n");
  EXPECT_EQ(*ApplyUnifiedDiff("", "@@ -0,0 +1,2 @@\n+x\n+y\n"), "x\ny\n");
  EXPECT_EQ(*ApplyUnifiedDiff("x\ny\n", "@@ -1,2 +0,0 @@\n-x\n-y\n"), "");
  // Lose and gain the final newline.
  EXPECT_EQ(
      *ApplyUnifiedDiff("a\nb\n", "@@ -1,2 +1,2 @@\n a\n-b\n+b\n\\ No newline at end of file\n"),
      "a\nb");
  EXPECT_EQ(
      *ApplyUnifiedDiff("a\nb", "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"),
      "a\nb\n");
  // Insert at the top (old_start 0) and keep CRLF lines.
  EXPECT_EQ(*ApplyUnifiedDiff("x\r\n", "@@ -0,0 +1 @@\n+first\r\n"), "first\r\nx\r\n");
  // A mode change only: no hunks.
  EXPECT_EQ(*ApplyUnifiedDiff("keep\n", "diff --git a/f b/f\nold mode 100644\nnew mode 100755\n"),
            "keep\n");
  // Mismatches are errors, not wrong output.
  EXPECT_EQ(ApplyUnifiedDiff("a\nX\nc\n", "@@ -2 +2 @@\n-b\n+B\n").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ApplyUnifiedDiff("a\n", "@@ -1,3 +1 @@\n-a\n").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ApplyUnifiedDiff("a\n", "@@ -5 +5 @@\n-a\n+b\n").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// The applier against git itself: for every file of every commit, git's own patch applied to
// `git show PARENT:path` must give `git show COMMIT:path` byte for byte.
TEST(PatchApply, MatchesGitOnRealHistory) {
  testutil::GitRepo repo;
  std::string big;
  for (int i = 0; i < 200; ++i) big += "line " + std::to_string(i) + "\n";
  repo.Write("big.txt", big);
  repo.Write("crlf.txt", "one\r\ntwo\r\nthree\r\n");
  repo.Write("nonl.txt", "no newline at end");
  repo.Write("empty.txt", "");
  repo.CommitAll("base\n");
  std::string edited = big;
  edited.replace(edited.find("line 10\n"), 8, "LINE TEN\nextra\n");
  edited.replace(edited.find("line 150\n"), 9, "");
  edited += "tail\n";
  repo.Write("big.txt", "head\n" + edited);
  repo.Write("crlf.txt", "one\r\n2\r\nthree\r\nfour");
  repo.Write("nonl.txt", "no newline at end\nnow there is one\n");
  repo.Write("empty.txt", "filled\n");
  repo.Write("new.txt", "fresh\nfile\n");
  repo.CommitAll("edit everything\n");
  repo.Write("big.txt", "");
  repo.Write("nonl.txt", "x");
  repo.CommitAll("shrink\n");

  int checked = 0;
  for (const char* rev : {"HEAD~1", "HEAD"}) {
    std::string parent = std::string(rev) + "~1";
    std::istringstream names(repo.Git(fmt::format("diff --name-only {} {}", parent, rev)));
    for (std::string path; std::getline(names, path);) {
      std::string patch = repo.Git(fmt::format("diff --full-index {} {} -- {}", parent, rev, path));
      auto old = repo.GitResult(fmt::format("show {}:{}", parent, path));
      std::string old_content = old.exit_code == 0 ? old.out : "";
      std::string want = repo.Git(fmt::format("show {}:{}", rev, path));
      auto got = ApplyUnifiedDiff(old_content, patch);
      ASSERT_TRUE(got.ok()) << path << " at " << rev << ": " << got.status() << "\n" << patch;
      EXPECT_EQ(*got, want) << path << " at " << rev;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 7);
}

}  // namespace
}  // namespace fixmine
