// Benchmark n-grams over normalised code tokens (curation/decontam.cc): planted cases.
#include "curation/decontam.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/benchmark_text.h"

namespace fixmine::curation {
namespace {

using fixmine::v1::Record;
using ::testing::ElementsAre;

// HumanEval/0's canonical solution, as the benchmark ships it.
constexpr const char* kSolution = testutil::kHumanEvalZeroSolution;

NgramIndex Load(int n, const std::string& text) {
  NgramIndex index;
  for (uint64_t h : NgramHashes(text, n)) index.Add(n, h, "humaneval", "HumanEval/0");
  return index;
}

Record WithAddedLines(const std::string& lines, const std::string& message = "Add helper\n") {
  Record r;
  r.set_message(message);
  auto* h = r.add_files()->add_hunks();
  std::string text;
  size_t start = 0;
  while (start < lines.size()) {
    size_t nl = lines.find('\n', start);
    if (nl == std::string::npos) nl = lines.size();
    text += "+" + lines.substr(start, nl - start) + "\n";
    start = nl + 1;
  }
  h->set_text(text);
  return r;
}

TEST(CodeTokens, SplitsFoldsAndDropsWhiteSpace) {
  EXPECT_THAT(
      CodeTokens("  Distance = ABS(elem-elem2)<=0x1F\n"),
      ElementsAre("distance", "=", "abs", "(", "elem", "-", "elem2", ")", "<", "=", "0x1F"));
  EXPECT_THAT(CodeTokens("x=1.5e3;"), ElementsAre("x", "=", "1.5e3", ";"));
}

TEST(NgramIndex, FindsAReformattedPasteWithOtherCase) {
  for (int n : {13, 10}) {
    NgramIndex index = Load(n, kSolution);
    // Re-indented with tabs, spaces moved, identifiers in other case, in a larger function.
    Record r = WithAddedLines(
        "def has_close(Numbers, Threshold):\n"
        "\tfor IDX,elem in enumerate( Numbers ):\n"
        "\t\tfor idx2 , ELEM2 in enumerate(numbers):\n"
        "\t\t\tif idx!=idx2:\n"
        "\t\t\t\tdistance=abs(elem-elem2)\n");
    EXPECT_TRUE(index.Check(&r)) << n;
    ASSERT_EQ(r.contamination_size(), 1) << n;
    EXPECT_EQ(r.contamination(0).benchmark(), "humaneval");
    EXPECT_EQ(r.contamination(0).item(), "HumanEval/0");
    EXPECT_FALSE(r.contamination(0).ngram().empty());
    EXPECT_FALSE(index.Check(&r));  // unchanged the second time
  }
}

TEST(NgramIndex, FindsItInAPreImageAndInTheMessage) {
  NgramIndex index = Load(13, kSolution);
  Record pre;
  pre.add_files()->set_old_content(std::string("def f(numbers, threshold):\n") + kSolution);
  EXPECT_TRUE(index.Check(&pre));
  Record msg = WithAddedLines("x = 1\n", std::string("Solve it like this:\n") + kSolution);
  EXPECT_TRUE(index.Check(&msg));
}

TEST(NgramIndex, IgnoresCommonShortLines) {
  for (int n : {13, 10}) {
    NgramIndex index =
        Load(n, std::string("int main(void) {\n  int x = f();\n  return 0;\n}\n") + kSolution);
    Record r = WithAddedLines(
        "int other(void) {\n  return 0;\n}\n"
        "    return False\n"
        "                    return True\n"
        "for idx, elem in items:\n");
    EXPECT_FALSE(index.Check(&r)) << n;
    EXPECT_EQ(r.contamination_size(), 0);
  }
}

}  // namespace
}  // namespace fixmine::curation
