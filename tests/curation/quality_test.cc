#include "curation/quality.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace fixmine::curation {
namespace {

using fixmine::v1::Record;

// A one-file, small record with `subject`: passes every rule unless the subject fails one.
Record Make(const std::string& subject, int files = 1, int added = 3) {
  Record r;
  r.set_subject(subject);
  r.set_message(subject + "\n");
  r.add_parents("p");
  for (int i = 0; i < files; ++i) r.add_files()->set_path("f" + std::to_string(i) + ".c");
  r.mutable_quality()->set_lines_added(added);
  return r;
}

bool Fails(const Record& r, const std::string& rule) {
  auto f = CommitPackFtFailures(r);
  return std::find(f.begin(), f.end(), rule) != f.end();
}

// One row per commitpackft rule: a subject (or record) it keeps, one it drops.
struct RuleRow {
  const char* rule;
  Record kept;
  Record dropped;
};

class CommitPackFtRuleTest : public ::testing::TestWithParam<RuleRow> {};

TEST_P(CommitPackFtRuleTest, KeepsAndDrops) {
  const RuleRow& row = GetParam();
  EXPECT_THAT(CommitPackFtFailures(row.kept), ::testing::IsEmpty())
      << row.rule << ": " << row.kept.subject();
  EXPECT_TRUE(Fails(row.dropped, row.rule)) << row.rule << ": " << row.dropped.subject();
}

INSTANTIATE_TEST_SUITE_P(
    Rules, CommitPackFtRuleTest,
    ::testing::Values(
        RuleRow{"subject_too_short", Make("Fix a typo"), Make("Fix it")},
        RuleRow{"subject_too_long",
                Make("Fix the overflow in the ring buffer when the reader "
                     "wraps around"),
                Make("Fix " + std::string(100, 'x'))},
        RuleRow{"too_few_words", Make("Fix buffer overflow"), Make("Fix buffer_overflow_now")},
        RuleRow{"too_many_words", Make("Add a b c d e f g h i j k l m n o p q r s t u v w x"),
                Make("Add a b c d e f g h i j k l m n o p q r s t u v w x y z")},
        RuleRow{"not_imperative", Make("Use a faster hash map"), Make("Fixed the hash map growth")},
        RuleRow{"blocked_phrase", Make("Update the readme generator"),
                Make("Update README with examples")},
        RuleRow{"blocked_phrase", Make("Remove wipe flag handling"), Make("Add parser (WIP)")},
        RuleRow{"blocked_phrase", Make("Add first-run wizard dialog"),
                Make("Add initial commit files")},
        RuleRow{"version_or_hash_only", Make("Bump version to use new API"), Make("Bump to 1.2.3")},
        RuleRow{"version_or_hash_only", Make("Revert change in 3f2a9c1 parser"), Make("3f2a9c1d")},
        RuleRow{"not_single_file", Make("Fix the parser state", 1),
                Make("Fix the parser state", 2)},
        RuleRow{"too_large", Make("Fix the parser state", 1, 1000),
                Make("Fix the parser state", 1, 1001)}));

TEST(CommitPackFtRuleTest, VersionOnlyIsAlsoNotImperative) {
  auto f = CommitPackFtFailures(Make("v2.0.1"));
  EXPECT_THAT(f, ::testing::Contains("version_or_hash_only"));
  EXPECT_THAT(f, ::testing::Contains("not_imperative"));
}

TEST(CommitPackFtRuleTest, PreImageOverCapIsTooLarge) {
  Record r = Make("Fix the parser state");
  r.mutable_files(0)->set_old_content(std::string(50001, 'a'));
  EXPECT_TRUE(Fails(r, "too_large"));
}

TEST(DefaultPresetTest, Rules) {
  Record ok = Make("Fix the parser state");
  EXPECT_THAT(DefaultFailures(ok), ::testing::IsEmpty());
  Record bot = ok;
  bot.mutable_labels()->set_is_bot(true);
  EXPECT_THAT(DefaultFailures(bot), ::testing::ElementsAre("bot"));
  Record merge = ok;
  merge.add_parents("q");
  EXPECT_THAT(DefaultFailures(merge), ::testing::ElementsAre("merge"));
  Record empty = ok;
  empty.set_message(" \n");
  EXPECT_THAT(DefaultFailures(empty), ::testing::ElementsAre("empty_message"));
  Record vendored = ok;
  vendored.mutable_files(0)->set_vendored(true);
  EXPECT_THAT(DefaultFailures(vendored), ::testing::ElementsAre("vendored_only"));
  Record mixed = Make("Fix the parser state", 2);
  mixed.mutable_files(0)->set_vendored(true);
  EXPECT_THAT(DefaultFailures(mixed), ::testing::IsEmpty());
}

TEST(DropReasonsTest, PrefixedByPreset) {
  Record r = Make("wip", 2);
  r.mutable_labels()->set_is_bot(true);
  SetDropReasons(&r);
  EXPECT_THAT(r.quality().drop_reasons(),
              ::testing::ElementsAre("commitpackft:subject_too_short", "commitpackft:too_few_words",
                                     "commitpackft:not_imperative", "commitpackft:blocked_phrase",
                                     "commitpackft:not_single_file", "default:bot"));
}

}  // namespace
}  // namespace fixmine::curation
