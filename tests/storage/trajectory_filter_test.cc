#include "storage/trajectory_filter.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "fixmine/v1/trajectories.pb.h"
#include "storage/filter.h"

namespace fixmine::storage {
namespace {

using fixmine::v1::Trajectory;

constexpr int64_t kJan31 = 1706659200;  // 2024-01-31T00:00:00Z

// A merged pull request of acme/widgets with three steps, one of them a fix.
Trajectory Sample() {
  Trajectory t;
  t.set_id("0123456789abcdef01234567");
  t.set_repo("acme/widgets");
  t.set_merge_commit("89abcdef0123456789abcdef0123456789abcdef");
  t.set_kind("merge");
  t.set_pr_number(42);
  t.set_title("Fix the Widget Leak");
  t.set_source_branch("ada/leak-fix");
  t.set_step_count(3);
  t.set_any_fix(true);
  t.mutable_merged_by()->set_time(kJan31);
  t.set_message("Merge pull request #42 from ada/leak-fix\n\nFix the Widget Leak\n");
  return t;
}

bool Match(std::string_view filter, const Trajectory& t = Sample()) {
  auto f = TrajectoryFilter::Parse(filter);
  EXPECT_TRUE(f.ok()) << filter << ": " << f.status();
  return f.ok() && (*f)->Matches(t);
}

std::string ErrorOf(std::string_view filter) {
  auto f = TrajectoryFilter::Parse(filter);
  EXPECT_FALSE(f.ok()) << filter << " parsed as " << (f.ok() ? (*f)->canonical() : "");
  if (f.ok()) return "";
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument) << f.status();
  return std::string(f.status().message());
}

std::string Canonical(std::string_view filter) {
  auto f = TrajectoryFilter::Parse(filter);
  EXPECT_TRUE(f.ok()) << filter << ": " << f.status();
  return f.ok() ? (*f)->canonical() : "";
}

// The filters the language had before it shared the record engine keep their meaning.
TEST(TrajectoryFilter, EarlierFiltersKeepTheirMeaning) {
  EXPECT_TRUE(Match(""));
  EXPECT_TRUE(Match("   "));
  EXPECT_TRUE(Match(R"(repo = "acme/widgets" AND step_count >= 3 AND any_fix)"));
  EXPECT_FALSE(Match("step_count > 3"));
  EXPECT_TRUE(Match(R"(title:"leak" -kind = "squash")"));
  EXPECT_FALSE(Match(R"(title = "leak")"));  // '=' is exact
  EXPECT_TRUE(Match(R"(title = "Fix the Widget Leak")"));
  EXPECT_TRUE(Match("source_branch:LEAK"));
  EXPECT_TRUE(Match("pr_number > 40 merged_at >= 2024-01-01"));
  EXPECT_FALSE(Match("merged_at > 2024-01-31"));
  EXPECT_TRUE(Match("merged_at = @1706659200"));
  EXPECT_FALSE(Match("NOT is_fix step_count <= 50"));
  EXPECT_TRUE(Match("is_fix = true"));
  EXPECT_TRUE(Match("any_fix != false"));
  EXPECT_TRUE(Match("merge_commit != abc"));
  EXPECT_TRUE(Match("kind = merge"));
  Trajectory squash = Sample();
  squash.set_kind("squash");
  squash.set_any_fix(false);
  EXPECT_FALSE(Match(R"(title:"leak" -kind = "squash")", squash));
  EXPECT_TRUE(Match("NOT any_fix", squash));
}

TEST(TrajectoryFilter, OrAndParentheses) {
  EXPECT_TRUE(Match("pr_number = 1 OR pr_number = 42"));
  EXPECT_FALSE(Match("pr_number = 1 OR pr_number = 2"));
  // NOT binds tightest, then AND, then OR.
  EXPECT_TRUE(Match("kind = squash AND pr_number = 1 OR any_fix"));
  EXPECT_FALSE(Match("kind = squash AND (pr_number = 1 OR any_fix)"));
  EXPECT_TRUE(Match("(kind = squash OR kind = merge) step_count >= 3"));
  EXPECT_FALSE(Match("-(kind = squash OR kind = merge)"));
  EXPECT_TRUE(Match("NOT (kind = squash OR step_count < 2)"));
}

TEST(TrajectoryFilter, Regex) {
  EXPECT_TRUE(Match(R"(regex(title, "^Fix .* Leak$"))"));
  EXPECT_FALSE(Match(R"(regex(title, "^leak"))"));
  EXPECT_TRUE(Match(R"(regex(title, "(?i)widget leak"))"));
  EXPECT_TRUE(Match(R"(regex(source_branch, "^ada/"))"));
  EXPECT_TRUE(Match(R"(regex(message, "pull request #\d+"))"));
  EXPECT_FALSE(Match(R"(regex(message, "#\d{3}"))"));
  EXPECT_TRUE(Match(R"(regex(title, "nope") OR regex(message, "#42"))"));

  EXPECT_EQ(ErrorOf(R"(regex(repo, "x"))"),
            "filter: column 7: regex() does not apply to field \"repo\"; expected one of title, "
            "source_branch, message");
  EXPECT_EQ(ErrorOf(R"(regex(title, "fix("))"),
            "filter: column 14: bad regex \"fix(\": missing ): fix(; expected an RE2 pattern "
            "(https://github.com/google/re2/wiki/Syntax)");
  EXPECT_NE(ErrorOf(R"(regex(title, "\pL{100}"))").find("is too large"), std::string::npos);
}

TEST(TrajectoryFilter, UnknownFieldNamesTheKnownOnes) {
  EXPECT_EQ(ErrorOf("any_fix AND steps > 1"),
            "filter: column 13: unknown field \"steps\"; known fields: repo, kind, merge_commit, "
            "title, source_branch, step_count, pr_number, merged_at, any_fix, is_fix");
  // A record field is not a trajectory field.
  EXPECT_NE(ErrorOf("lang = Go").find("unknown field \"lang\""), std::string::npos);
  EXPECT_NE(ErrorOf("(any_fix OR message:x)").find("column 13: unknown field \"message\""),
            std::string::npos);
}

TEST(TrajectoryFilter, ErrorsSayWhereAndWhatWasExpected) {
  EXPECT_EQ(ErrorOf("repo < x"),
            "filter: column 6: operator '<' is not valid for field \"repo\"; expected one of =, "
            "!=");
  EXPECT_EQ(ErrorOf("title > x"),
            "filter: column 7: operator '>' is not valid for field \"title\"; expected one of =, "
            "!=, :");
  EXPECT_EQ(ErrorOf("step_count >= three"),
            "filter: column 15: bad number \"three\"; expected an integer for step_count");
  EXPECT_EQ(ErrorOf("merged_at > yesterday"),
            "filter: column 13: bad time \"yesterday\"; expected a time: RFC 3339 "
            "(2024-01-31T12:00:00Z), a date (2024-01-31) or @SECONDS");
  EXPECT_EQ(ErrorOf("any_fix = yes"),
            "filter: column 11: bad boolean \"yes\"; expected true or false for any_fix");
  EXPECT_EQ(ErrorOf("title = \"leak"),
            "filter: column 9: unterminated string; expected a closing \" before the end of the "
            "filter");
  EXPECT_EQ(ErrorOf("(any_fix OR is_fix"),
            "filter: column 19: missing ')', found end of filter; expected ')' to close the '(' "
            "at column 1");
  EXPECT_EQ(ErrorOf("any_fix AND"),
            "filter: column 12: unexpected end of filter; expected a field, regex(...), '(', NOT "
            "or '-'");
}

TEST(TrajectoryFilter, OneLengthLimitWithTheRecordFiltersMessage) {
  std::string ok = "any_fix" + std::string(kMaxFilterBytes - 7, ' ');
  EXPECT_TRUE(TrajectoryFilter::Parse(ok).ok());
  std::string long_text = ok + " ";
  std::string want = "filter: column 4097: filter is 4097 bytes long; expected at most 4096 bytes";
  EXPECT_EQ(ErrorOf(long_text), want);
  EXPECT_EQ(CheckFilterSize(long_text).message(), want);
  auto record = Filter::Parse(long_text);
  ASSERT_FALSE(record.ok());
  EXPECT_EQ(record.status().message(), want);
}

TEST(TrajectoryFilter, CanonicalTextRoundTrips) {
  EXPECT_EQ(Canonical(""), "");
  // A single term renders as the earlier trajectory parser rendered it, so resume tokens issued
  // for such filters stay valid (docs/filters.md, "Trajectory filters").
  EXPECT_EQ(Canonical(R"(repo = "demo")"), R"(repo = "demo")");
  EXPECT_EQ(Canonical("step_count>=3"), "step_count >= 3");
  EXPECT_EQ(Canonical("-any_fix"), "NOT any_fix = true");
  EXPECT_EQ(Canonical("kind != squash"), R"(kind != "squash")");
  EXPECT_EQ(Canonical("any_fix"), "any_fix = true");
  EXPECT_EQ(Canonical(R"(repo="acme/widgets"   step_count>=3 any_fix)"),
            R"((repo = "acme/widgets" AND step_count >= 3 AND any_fix = true))");
  EXPECT_EQ(Canonical(R"(title:'le"ak' -kind = squash)"),
            R"((title:"le\"ak" AND NOT kind = "squash"))");
  EXPECT_EQ(Canonical("merged_at >= @1706659200"), R"(merged_at >= "2024-01-31T00:00:00+00:00")");
}

TEST(TrajectoryFilter, CanonicalTextParsesToItself) {
  for (std::string_view text : {
           "any_fix",
           R"(repo = "acme/widgets" AND (pr_number = 42 OR NOT is_fix) step_count < 9)",
           R"(-(kind = squash OR kind = "octopus") regex(message, "#\d+\n"))",
           R"(((title:leak)) OR source_branch = "a b" OR merged_at != 2024-01-31T12:00:00+02:00)",
           "title = 'tab\there' AND source_branch:\"back\\\\slash\"",
       }) {
    auto f = TrajectoryFilter::Parse(text);
    ASSERT_TRUE(f.ok()) << text << ": " << f.status();
    auto again = TrajectoryFilter::Parse((*f)->canonical());
    ASSERT_TRUE(again.ok()) << (*f)->canonical() << ": " << again.status();
    EXPECT_EQ((*again)->canonical(), (*f)->canonical()) << text;
    EXPECT_EQ((*again)->Matches(Sample()), (*f)->Matches(Sample())) << text;
  }
}

TEST(TrajectoryFilter, RepoHintOnlyFromTheTopLevelAndChain) {
  auto top = TrajectoryFilter::Parse(R"(any_fix AND repo = "acme/widgets")");
  ASSERT_TRUE(top.ok()) << top.status();
  EXPECT_EQ((*top)->repo(), std::optional<std::string>("acme/widgets"));
  for (std::string_view text :
       {R"(repo = "a" OR repo = "b")", R"(NOT repo = "a")", R"(repo != "a")", "any_fix"}) {
    auto f = TrajectoryFilter::Parse(text);
    ASSERT_TRUE(f.ok()) << text << ": " << f.status();
    EXPECT_EQ((*f)->repo(), std::nullopt) << text;
  }
}

}  // namespace
}  // namespace fixmine::storage
