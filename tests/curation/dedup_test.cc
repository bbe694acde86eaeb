// Patch fingerprints and MinHash signatures (curation/dedup.cc).
#include "curation/dedup.h"

#include <openssl/sha.h>

#include <string>

#include "fmt/format.h"
#include "gtest/gtest.h"

namespace fixmine::curation {
namespace {

using fixmine::v1::Record;

void AddFile(Record* r, const std::string& path, const std::string& hunk, int old_start = 1) {
  auto* f = r->add_files();
  f->set_path(path);
  auto* h = f->add_hunks();
  h->set_old_start(old_start);
  h->set_new_start(old_start);
  h->set_text(hunk);
}

TEST(PatchFingerprint, IgnoresWhiteSpaceLineNumbersContextAndFileOrder) {
  Record a;
  AddFile(&a, "src/a.c", " int x;\n-  return 0;\n+  return x + 1;\n", 10);
  AddFile(&a, "src/b.c", "+int y;\n");
  Record b;
  AddFile(&b, "src/b.c", "+int  y ;\n", 40);
  AddFile(&b, "src/a.c", " int other_context;\n-\treturn 0;\n+\treturn x+1;\r\n", 200);
  std::string fa = PatchFingerprint(a);
  EXPECT_EQ(fa.size(), 32u);
  EXPECT_EQ(fa, PatchFingerprint(b));

  Record other_path;
  AddFile(&other_path, "src/c.c", " int x;\n-  return 0;\n+  return x + 1;\n");
  AddFile(&other_path, "src/b.c", "+int y;\n");
  EXPECT_NE(fa, PatchFingerprint(other_path));
  Record reversed;  // the same lines deleted instead of added
  AddFile(&reversed, "src/a.c", "+  return 0;\n-  return x + 1;\n");
  AddFile(&reversed, "src/b.c", "-int y;\n");
  EXPECT_NE(fa, PatchFingerprint(reversed));

  Record none;
  AddFile(&none, "x", " context only\n");
  EXPECT_EQ(PatchFingerprint(none), "");
}

// The fingerprint is stored, so its input is pinned: per file in path order, "file LEN PATH\n"
// then each changed line's marker and its text without white space; files without changed
// lines contribute nothing; the first 16 bytes of the SHA-256, in hex.
TEST(PatchFingerprint, HashesTheDocumentedText) {
  Record r;
  AddFile(&r, "src/b.c", "+int  y ;\t\v\f\r\n context\n");
  AddFile(&r, "only/context.c", " nothing changed\n");
  AddFile(&r, "src/a.c", " int x;\n-  return 0;\n+  return x + 1;\n\\ No newline at end of file\n");
  const std::string text =
      "file 7 src/a.c\n-return0;\n+returnx+1;\n"
      "file 7 src/b.c\n+inty;\n";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  std::string want;
  for (int i = 0; i < 16; ++i) want += fmt::format("{:02x}", digest[i]);
  EXPECT_EQ(PatchFingerprint(r), want);
}

std::string Lines(int n, int changed = -1) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += i == changed ? fmt::format("+  value_{} = compute({}) * 2;\n", i, i + 100)
                        : fmt::format("+  value_{} = compute({});\n", i, i);
  }
  return out;
}

double Similarity(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  int equal = 0;
  for (size_t i = 0; i < a.size(); ++i) equal += a[i] == b[i];
  return equal / static_cast<double>(a.size());
}

TEST(MinHashSignature, EstimatesJaccardOfAddedLines) {
  Record a, b, c, tiny;
  AddFile(&a, "f.c", Lines(30));
  AddFile(&b, "g.c", Lines(30, 17));
  AddFile(&c, "f.c", "+unrelated();\n+other(1);\n+more(2);\n+stuff(3);\n+things(4);\n+x;\n");
  AddFile(&tiny, "f.c", "+}\n+return 0;\n");
  auto sa = MinHashSignature(a);
  ASSERT_EQ(sa.size(), 64u);
  EXPECT_EQ(sa, MinHashSignature(a));                   // deterministic
  EXPECT_GE(Similarity(sa, MinHashSignature(b)), 0.8);  // true Jaccard 29/31
  EXPECT_LT(Similarity(sa, MinHashSignature(c)), 0.2);
  EXPECT_TRUE(MinHashSignature(tiny).empty());
}

}  // namespace
}  // namespace fixmine::curation
