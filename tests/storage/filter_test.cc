#include "storage/filter.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "fixmine/v1/records.pb.h"

namespace fixmine::storage {
namespace {

using fixmine::v1::FileChange;
using fixmine::v1::Record;

constexpr int64_t kJan31 = 1706659200;  // 2024-01-31T00:00:00Z
constexpr int64_t kNov14 = 1700000000;  // 2023-11-14T22:13:20Z

FileChange* AddFile(Record* r, std::string path, std::string language, int added, int deleted) {
  FileChange* f = r->add_files();
  f->set_path(path);
  f->set_old_path(path);
  f->set_language(language);
  f->set_added(added);
  f->set_deleted(deleted);
  return f;
}

// A fix in acme/widgets touching three files; tests tweak copies of it.
Record Sample() {
  Record r;
  r.set_repo("acme/widgets");
  r.set_commit("0123456789abcdef0123456789abcdef01234567");
  r.mutable_author()->set_name("Ada Lovelace");
  r.mutable_author()->set_email("ada@example.org");
  r.mutable_author()->set_time(kNov14);
  r.mutable_committer()->set_name("Grace Hopper");
  r.mutable_committer()->set_email("grace@navy.example");
  r.mutable_committer()->set_time(kJan31);
  r.set_subject("Fix crash in parser");
  r.set_message("Fix crash in parser\n\nThe lexer read past the end. Closes #12.\n");
  AddFile(&r, "src/parser/lexer.cc", "C++", 10, 2);
  AddFile(&r, "README.md", "Markdown", 1, 0);
  FileChange* moved = AddFile(&r, "lib/new_name.go", "Go", 4, 4);
  moved->set_old_path("lib/old_name.go");
  r.mutable_labels()->set_is_fix(true);
  return r;
}

// Parses `filter` (which must be valid) and evaluates it on `r`.
bool Match(std::string_view filter, const Record& r) {
  auto f = Filter::Parse(filter);
  EXPECT_TRUE(f.ok()) << filter << ": " << f.status();
  return f.ok() && (*f)->Matches(r);
}

bool Match(std::string_view filter) { return Match(filter, Sample()); }

// The error message of a filter that must not parse.
std::string Error(std::string_view filter) {
  auto f = Filter::Parse(filter);
  EXPECT_FALSE(f.ok()) << filter << " parsed as " << (f.ok() ? (*f)->canonical() : "");
  if (f.ok()) return "";
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument) << f.status();
  return std::string(f.status().message());
}

std::string Canonical(std::string_view filter) {
  auto f = Filter::Parse(filter);
  EXPECT_TRUE(f.ok()) << filter << ": " << f.status();
  return f.ok() ? (*f)->canonical() : "";
}

FilterHints Hints(std::string_view filter) {
  auto f = Filter::Parse(filter);
  EXPECT_TRUE(f.ok()) << filter << ": " << f.status();
  return f.ok() ? (*f)->hints() : FilterHints{};
}

bool Contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

TEST(FilterTest, EmptyMatchesEverything) {
  for (std::string_view text : {"", "   ", "\t\n "}) {
    auto f = Filter::Parse(text);
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_TRUE((*f)->Matches(Sample()));
    EXPECT_TRUE((*f)->Matches(Record()));
    EXPECT_EQ((*f)->canonical(), "");
    EXPECT_FALSE((*f)->hints().repo.has_value());
    EXPECT_FALSE((*f)->hints().min_time.has_value());
  }
}

TEST(FilterTest, Repo) {
  EXPECT_TRUE(Match(R"(repo = "acme/widgets")"));
  EXPECT_TRUE(Match("repo=acme/widgets"));
  EXPECT_FALSE(Match(R"(repo = "acme/widget")"));
  EXPECT_FALSE(Match(R"(repo = "ACME/widgets")"));
  EXPECT_TRUE(Match(R"(repo != "other")"));
  EXPECT_FALSE(Match(R"(repo != "acme/widgets")"));
}

TEST(FilterTest, CommitExactAndPrefix) {
  EXPECT_TRUE(Match("commit = 0123456789abcdef0123456789abcdef01234567"));
  EXPECT_TRUE(Match("commit = 0123456789ABCDEF0123456789ABCDEF01234567"));
  EXPECT_FALSE(Match("commit = 0123456"));
  EXPECT_TRUE(Match("commit:0123456"));
  EXPECT_TRUE(Match("commit:0123456789ABCDEF"));
  EXPECT_TRUE(Match("commit : 0123456789AB"));
  EXPECT_FALSE(Match("commit:1234"));
  EXPECT_TRUE(Match("commit != 0123456"));
}

TEST(FilterTest, PathGlobs) {
  // '*' stays within a segment.
  EXPECT_FALSE(Match(R"(path = "src/*.cc")"));
  EXPECT_TRUE(Match(R"(path = "src/*/*.cc")"));
  EXPECT_TRUE(Match(R"(path = "src/parser/*.cc")"));
  // '**' crosses '/', and "**/" may match no directory at all.
  EXPECT_TRUE(Match(R"(path = "src/**/*.cc")"));
  EXPECT_TRUE(Match(R"(path = "src/**")"));
  EXPECT_TRUE(Match(R"(path = "**/lexer.cc")"));
  EXPECT_TRUE(Match(R"(path = "**.cc")"));
  EXPECT_TRUE(Match(R"(path = "**/README.md")"));
  Record flat = Sample();
  flat.mutable_files()->Clear();
  AddFile(&flat, "src/main.cc", "C++", 1, 1);
  EXPECT_TRUE(Match(R"(path = "src/**/*.cc")", flat));
  EXPECT_TRUE(Match(R"(path = "src/*.cc")", flat));
  // '=' matches the whole path; ':' with no '/' matches base names anywhere.
  EXPECT_FALSE(Match(R"(path = "*.go")"));
  EXPECT_TRUE(Match(R"(path = "*.md")"));
  EXPECT_TRUE(Match(R"(path:"*.go")"));
  EXPECT_TRUE(Match("path:*.go"));
  EXPECT_TRUE(Match("path:lexer.cc"));
  EXPECT_FALSE(Match("path:parser"));
  EXPECT_TRUE(Match("path:src/**"));
  EXPECT_FALSE(Match("path:parser/*.cc"));  // has a '/': whole path
  // '?' and classes.
  EXPECT_TRUE(Match(R"(path = "README.m?")"));
  EXPECT_FALSE(Match(R"(path = "README.?")"));
  EXPECT_TRUE(Match(R"(path = "lib/[mn]ew_name.go")"));
  EXPECT_FALSE(Match(R"(path = "lib/[!n]ew_name.go")"));
  EXPECT_TRUE(Match(R"(path = "lib/[a-z]ew_name.go")"));
  // Regex metacharacters are literal; '\' escapes a glob character.
  EXPECT_FALSE(Match(R"(path = "README.m.")"));
  Record star = Sample();
  AddFile(&star, "docs/a*b.txt", "Text", 1, 0);
  EXPECT_TRUE(Match(R"(path = "docs/a\\*b.txt")", star));
  EXPECT_FALSE(Match(R"(path = "docs/a\\*b.txt")"));
  // '!=': no file matches.
  EXPECT_TRUE(Match(R"(path != "*.py")"));
  EXPECT_FALSE(Match(R"(path != "**.go")"));
}

TEST(FilterTest, OldPath) {
  EXPECT_TRUE(Match(R"(old_path = "lib/old_name.go")"));
  EXPECT_FALSE(Match(R"(path = "lib/old_name.go")"));
  EXPECT_TRUE(Match("old_path:old_*"));
}

TEST(FilterTest, Lang) {
  EXPECT_TRUE(Match(R"(lang = "C++")"));
  EXPECT_TRUE(Match("lang = Go"));
  EXPECT_FALSE(Match("lang = go"));  // '=' is linguist's exact spelling
  EXPECT_TRUE(Match("lang:go"));     // ':' ignores case
  EXPECT_TRUE(Match(R"(lang:"c++")"));
  EXPECT_FALSE(Match("lang:Gosu"));
  EXPECT_FALSE(Match("lang = Python"));
  EXPECT_TRUE(Match("lang != Python"));
  EXPECT_FALSE(Match("lang != Go"));  // some file is Go
}

TEST(FilterTest, AuthorAndCommitter) {
  EXPECT_TRUE(Match(R"(author:"ada")"));
  EXPECT_TRUE(Match(R"(author:"LOVELACE")"));
  EXPECT_TRUE(Match(R"(author:"example.org")"));
  EXPECT_FALSE(Match(R"(author:"grace")"));
  EXPECT_TRUE(Match(R"(author = "Ada Lovelace")"));
  EXPECT_TRUE(Match(R"(author = "ada@example.org")"));
  EXPECT_FALSE(Match(R"(author = "Ada")"));
  EXPECT_TRUE(Match(R"(author != "Ada")"));
  EXPECT_TRUE(Match(R"(committer:"hopper")"));
  EXPECT_TRUE(Match(R"(committer = "grace@navy.example")"));
  EXPECT_FALSE(Match(R"(committer:"ada")"));
}

TEST(FilterTest, MessageAndSubject) {
  EXPECT_TRUE(Match(R"(message:"closes #12")"));
  EXPECT_TRUE(Match("message:LEXER"));
  EXPECT_FALSE(Match(R"(message:"segfault")"));
  EXPECT_TRUE(Match(R"(subject:"crash")"));
  EXPECT_FALSE(Match(R"(subject:"lexer")"));
  EXPECT_TRUE(Match(R"(subject = "Fix crash in parser")"));
  EXPECT_FALSE(Match(R"(subject = "fix crash in parser")"));
  EXPECT_TRUE(Match(R"(subject != "x")"));
  EXPECT_TRUE(
      Match(R"(message = "Fix crash in parser\n\nThe lexer read past the end. Closes #12.\n")"));
  EXPECT_TRUE(Match(R"(message:"")"));
}

TEST(FilterTest, Times) {
  EXPECT_TRUE(Match("committed_at = 2024-01-31"));
  EXPECT_TRUE(Match(R"(committed_at = "2024-01-31T00:00:00Z")"));
  EXPECT_TRUE(Match("committed_at = 2024-01-31T02:00:00+02:00"));
  EXPECT_TRUE(Match("committed_at = @1706659200"));
  EXPECT_FALSE(Match("committed_at != 2024-01-31"));
  EXPECT_TRUE(Match("committed_at >= 2024-01-31"));
  EXPECT_FALSE(Match("committed_at > 2024-01-31"));
  EXPECT_TRUE(Match("committed_at > 2024-01-30"));
  EXPECT_TRUE(Match("committed_at <= 2024-01-31"));
  EXPECT_FALSE(Match("committed_at < 2024-01-31"));
  EXPECT_TRUE(Match("committed_at < 2024-02-01"));
  EXPECT_TRUE(Match("authored_at < 2024-01-01"));
  EXPECT_TRUE(Match("authored_at = @1700000000"));
  EXPECT_FALSE(Match("authored_at >= 2024-01-01"));
}

TEST(FilterTest, Counts) {
  // 3 files, 15 added, 6 deleted.
  EXPECT_TRUE(Match("files = 3"));
  EXPECT_TRUE(Match(R"(files = "3")"));
  EXPECT_FALSE(Match("files != 3"));
  EXPECT_TRUE(Match("files < 4"));
  EXPECT_FALSE(Match("files < 3"));
  EXPECT_TRUE(Match("files <= 3"));
  EXPECT_TRUE(Match("files > 2"));
  EXPECT_FALSE(Match("files > 3"));
  EXPECT_TRUE(Match("files >= 3"));
  EXPECT_TRUE(Match("added = 15"));
  EXPECT_TRUE(Match("added > 14 AND added < 16"));
  EXPECT_TRUE(Match("deleted = 6"));
  EXPECT_TRUE(Match("deleted <= 6"));
  EXPECT_TRUE(Match("deleted > -1"));
  EXPECT_TRUE(Match("deleted != 5"));
  EXPECT_TRUE(Match("files = 0", Record()));
}

TEST(FilterTest, Booleans) {
  EXPECT_TRUE(Match("is_fix"));
  EXPECT_TRUE(Match("is_fix = true"));
  EXPECT_TRUE(Match("is_fix = TRUE"));
  EXPECT_FALSE(Match("is_fix = false"));
  EXPECT_FALSE(Match("is_fix != true"));
  EXPECT_FALSE(Match("NOT is_fix"));
  EXPECT_FALSE(Match("-is_fix"));
  EXPECT_FALSE(Match("is_revert"));
  EXPECT_TRUE(Match("NOT is_bot"));
  EXPECT_TRUE(Match("is_bot = false"));
  EXPECT_FALSE(Match("binary"));
  EXPECT_FALSE(Match("vendored"));
  EXPECT_FALSE(Match("generated"));
  EXPECT_FALSE(Match("renames_skipped"));
  EXPECT_FALSE(Match("merge_resolution"));
  EXPECT_FALSE(Match("has_bug_link"));
  EXPECT_FALSE(Match("has_fixed_by"));
  EXPECT_FALSE(Match("has_issue"));

  Record r = Sample();
  r.mutable_labels()->add_issues(12);
  r.set_merge_resolution(true);
  r.mutable_labels()->add_bug_introducing_commits(std::string(40, 'a'));
  r.mutable_labels()->add_fixed_by(std::string(40, 'b'));
  r.mutable_labels()->set_is_revert(true);
  r.mutable_labels()->set_is_bot(true);
  r.set_renames_skipped(true);
  r.mutable_files(1)->set_binary(true);
  r.mutable_files(2)->set_vendored(true);
  r.mutable_files(0)->set_generated(true);
  for (std::string_view name :
       {"is_revert", "is_bot", "renames_skipped", "binary", "vendored", "generated",
        "merge_resolution", "has_bug_link", "has_fixed_by", "has_issue"}) {
    EXPECT_TRUE(Match(name, r)) << name;
    EXPECT_TRUE(Match(std::string(name) + " = true", r)) << name;
    EXPECT_FALSE(Match("NOT " + std::string(name), r)) << name;
  }
}

TEST(FilterTest, PrecedenceNotAndOr) {
  // NOT > AND > OR: "a OR b AND c" is "a OR (b AND c)".
  EXPECT_TRUE(Match("is_fix OR is_bot AND is_revert"));
  EXPECT_FALSE(Match("(is_fix OR is_bot) AND is_revert"));
  EXPECT_TRUE(Match("is_bot AND is_revert OR is_fix"));
  EXPECT_FALSE(Match("is_bot AND (is_revert OR is_fix)"));
  // "NOT a AND b" is "(NOT a) AND b".
  EXPECT_TRUE(Match("NOT is_bot AND is_fix"));
  EXPECT_FALSE(Match("NOT (is_bot AND is_fix) AND is_revert"));
  EXPECT_TRUE(Match("NOT (is_bot AND is_fix)"));
  EXPECT_TRUE(Match("NOT NOT is_fix"));
  EXPECT_TRUE(Match("--is_fix"));
  EXPECT_TRUE(Match("-(is_bot OR is_revert)"));
  // Juxtaposition is AND, and binds like AND.
  EXPECT_TRUE(Match("is_fix lang = Go"));
  EXPECT_FALSE(Match("is_fix lang = Rust"));
  EXPECT_TRUE(Match("lang = Rust OR is_fix lang = Go"));
  EXPECT_EQ(Canonical("is_fix lang = Go"), Canonical("is_fix AND lang = Go"));
  // Nested parentheses.
  EXPECT_TRUE(Match("((((is_fix))))"));
  EXPECT_TRUE(Match("(repo = x OR (lang = Go AND (files = 3)))"));
}

TEST(FilterTest, KeywordsAreUppercase) {
  EXPECT_EQ(Error("is_fix and is_bot"),
            "filter: column 8: unknown field \"and\"; known fields: repo, commit, path, "
            "old_path, lang, author, committer, message, subject, committed_at, authored_at, "
            "files, added, deleted, is_fix, merge_resolution, has_bug_link, has_fixed_by, "
            "has_issue, is_revert, is_bot, renames_skipped, binary, "
            "vendored, generated, lockfile, documentation, secrets_found, duplicate, "
            "near_duplicate, contaminated, message_language, "
            "license, function, license_unsure, preset, drop");
  // A word that merely starts with a keyword is a word.
  EXPECT_FALSE(Match("repo = ANDROID"));
  EXPECT_TRUE(Match(R"(repo != "OR")"));
}

TEST(FilterTest, Regex) {
  EXPECT_TRUE(Match(R"(regex(message, "Closes #\d+"))"));
  EXPECT_TRUE(Match(R"(regex(message, "(?i)closes #[0-9]+"))"));
  EXPECT_FALSE(Match(R"(regex(message, "closes #\d+"))"));
  EXPECT_TRUE(Match(R"(regex(subject, "^Fix "))"));
  EXPECT_FALSE(Match(R"(regex(subject, "^crash"))"));
  EXPECT_TRUE(Match(R"(regex(path, "\.go$"))"));
  EXPECT_FALSE(Match(R"(regex(path, "\.py$"))"));
  EXPECT_TRUE(Match(R"(regex(old_path, "old_name"))"));
  EXPECT_TRUE(Match(R"(regex( path , "^src/" ))"));
  EXPECT_TRUE(Match(R"(regex (path, "^src/"))"));
  EXPECT_TRUE(Match(R"(NOT regex(path, "^vendor/") AND is_fix)"));
  EXPECT_TRUE(Match(R"(regex(path, '\.md$'))"));
}

TEST(FilterTest, RegexIsLinear) {
  // Exponential for backtracking engines, linear for RE2.
  Record r = Sample();
  r.set_message(std::string(100000, 'a') + "!");
  auto f = Filter::Parse(R"(regex(message, "^(a+)+$"))");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_FALSE((*f)->Matches(r));
  r.set_message(std::string(100000, 'a'));
  EXPECT_TRUE((*f)->Matches(r));
}

TEST(FilterTest, RegexTooLargeOrInvalid) {
  // The middle is RE2's own wording ("missing ): fix(").
  std::string bad = Error(R"(regex(message, "fix("))");
  EXPECT_TRUE(Contains(bad, "filter: column 16: bad regex \"fix(\": ")) << bad;
  EXPECT_TRUE(
      Contains(bad, "; expected an RE2 pattern (https://github.com/google/re2/wiki/Syntax)"))
      << bad;
  // Compiles (about 119000 instructions) but is over the cap.
  std::string big = Error(R"(regex(message, "\pL{100}"))");
  EXPECT_TRUE(Contains(big, "filter: column 16: regex \"\\\\pL{100}\" is too large (program size "))
      << big;
  EXPECT_TRUE(Contains(big, ", limit 10000); expected a smaller pattern")) << big;
  // Just under the cap, and RE2's own limits.
  EXPECT_TRUE(Filter::Parse(R"(regex(message, ".{1000}"))").ok());
  EXPECT_TRUE(Contains(Error(R"(regex(message, "\pL{1000}"))"), "column 16: bad regex"));
  std::string nested = Error(R"(regex(message, "((a{1000}){1000}){1000}"))");
  EXPECT_TRUE(Contains(nested, "filter: column 16: bad regex")) << nested;
}

TEST(FilterTest, Hints) {
  FilterHints h = Hints(R"(repo = "acme/widgets" AND lang = "C++" AND committed_at >= 2024-01-01 )"
                        R"(committed_at < 2024-02-01 is_fix)");
  EXPECT_EQ(h.repo, "acme/widgets");
  EXPECT_EQ(h.language, "C++");
  EXPECT_EQ(h.min_time, 1704067200);
  EXPECT_EQ(h.max_time, 1706745600 - 1);

  h = Hints("committed_at > @100 AND committed_at <= @200 AND committed_at > @150");
  EXPECT_EQ(h.min_time, 151);
  EXPECT_EQ(h.max_time, 200);
  h = Hints("committed_at = @100");
  EXPECT_EQ(h.min_time, 100);
  EXPECT_EQ(h.max_time, 100);
  // Parentheses that only group the top-level AND chain still count.
  h = Hints("(repo = x AND lang = Go) AND is_fix");
  EXPECT_EQ(h.repo, "x");
  EXPECT_EQ(h.language, "Go");
  h = Hints("repo = x");
  EXPECT_EQ(h.repo, "x");

  // Nothing under OR or NOT, nothing from != or the case-insensitive lang:, nothing from
  // authored_at.
  for (std::string_view text :
       {"repo = x OR is_fix", "NOT repo = x", "-lang = Go", "repo != x", "lang:go",
        "NOT committed_at > 2024-01-01", "is_fix AND (repo = x OR repo = y)", "committed_at != @5",
        "authored_at > @5", "is_fix AND NOT (lang = Go AND repo = x)"}) {
    FilterHints none = Hints(text);
    EXPECT_FALSE(none.repo.has_value()) << text;
    EXPECT_FALSE(none.language.has_value()) << text;
    EXPECT_FALSE(none.min_time.has_value()) << text;
    EXPECT_FALSE(none.max_time.has_value()) << text;
  }
}

TEST(FilterTest, HintsAreSound) {
  // Every record the filter matches satisfies the hints.
  Record r = Sample();
  auto f = Filter::Parse(
      "repo = acme/widgets lang = Go committed_at > 2024-01-30 "
      "committed_at < 2024-02-01");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Matches(r));
  const FilterHints& h = (*f)->hints();
  EXPECT_EQ(*h.repo, r.repo());
  EXPECT_LE(*h.min_time, r.committer().time());
  EXPECT_GE(*h.max_time, r.committer().time());
}

TEST(FilterTest, CanonicalIgnoresSpacing) {
  EXPECT_EQ(Canonical("files=1  AND added=2"), Canonical("files = 1 AND added = 2"));
  EXPECT_EQ(Canonical("files = 1 AND added = 2"), "(files = 1 AND added = 2)");
  EXPECT_EQ(Canonical(" ( is_fix ) "), "is_fix = true");
  EXPECT_EQ(Canonical("-is_bot"), "NOT is_bot = true");
  EXPECT_EQ(Canonical("-is_bot"), Canonical("NOT   is_bot"));
  EXPECT_EQ(Canonical("repo=x"), Canonical(R"(repo = "x")"));
  EXPECT_EQ(Canonical("repo=x"), "repo = \"x\"");
  EXPECT_EQ(Canonical("path:*.go"), "path:\"*.go\"");
  EXPECT_EQ(Canonical("is_fix is_bot"), Canonical("is_fix AND is_bot"));
  // Associative chains flatten however they are grouped.
  EXPECT_EQ(Canonical("(is_fix AND is_bot) AND binary"),
            Canonical("is_fix AND (is_bot AND binary)"));
  EXPECT_EQ(Canonical("is_fix OR is_bot OR binary"),
            "(is_fix = true OR is_bot = true OR binary = true)");
  EXPECT_EQ(Canonical("is_fix OR is_bot AND binary"),
            "(is_fix = true OR (is_bot = true AND binary = true))");
  // Times are normalised; strings escaped.
  EXPECT_EQ(Canonical("committed_at >= 2024-01-31"), Canonical("committed_at>=@1706659200"));
  EXPECT_EQ(Canonical("committed_at >= 2024-01-31"),
            "committed_at >= \"2024-01-31T00:00:00+00:00\"");
  EXPECT_EQ(Canonical(R"(message:"say \"hi\"")"), R"(message:"say \"hi\"")");
  EXPECT_EQ(Canonical(R"(regex( subject ,  "^a"))"), R"(regex(subject, "^a"))");
  // Different meaning, different text.
  EXPECT_NE(Canonical("repo = x"), Canonical("repo != x"));
  EXPECT_NE(Canonical("is_fix OR is_bot AND binary"), Canonical("(is_fix OR is_bot) AND binary"));
}

TEST(FilterTest, CanonicalRoundTrips) {
  for (std::string_view text :
       {"repo = x AND (lang = Go OR lang:rust) AND NOT is_bot",
        R"(path = "src/**/*.cc" OR regex(message, "fix(es)? #\d+"))",
        R"(author:"o'brien" message = "tab\there")", "-(files > 3 OR added <= -2)",
        "committed_at < 2024-01-01T10:00:00+02:00"}) {
    std::string once = Canonical(text);
    EXPECT_EQ(Canonical(once), once) << text;
  }
}

TEST(FilterTest, StringEscapes) {
  Record r = Sample();
  r.set_subject(R"(quote " and back\slash)");
  EXPECT_TRUE(Match(R"(subject = "quote \" and back\\slash")", r));
  EXPECT_TRUE(Match(R"(subject = 'quote " and back\\slash')", r));
  EXPECT_TRUE(Match(R"(subject:"back\slash")", r));  // unknown escapes stay as written
}

TEST(FilterTest, ErrorUnknownField) {
  EXPECT_EQ(Error(R"(is_fix AND auther:"ada")"),
            "filter: column 12: unknown field \"auther\"; known fields: repo, commit, path, "
            "old_path, lang, author, committer, message, subject, committed_at, authored_at, "
            "files, added, deleted, is_fix, merge_resolution, has_bug_link, has_fixed_by, "
            "has_issue, is_revert, is_bot, renames_skipped, binary, "
            "vendored, generated, lockfile, documentation, secrets_found, duplicate, "
            "near_duplicate, contaminated, message_language, "
            "license, function, license_unsure, preset, drop");
}

TEST(FilterTest, ErrorUnterminatedString) {
  EXPECT_EQ(Error(R"(repo = "acme)"),
            "filter: column 8: unterminated string; expected a closing \" before the end of the "
            "filter");
  EXPECT_EQ(Error(R"(repo = "acme\")"),
            "filter: column 8: unterminated string; expected a closing \" before the end of the "
            "filter");
}

TEST(FilterTest, ErrorUnexpectedToken) {
  EXPECT_EQ(Error("is_fix AND OR is_bot"),
            "filter: column 12: unexpected OR; expected a field, regex(...), '(', NOT or '-'");
  EXPECT_EQ(Error("is_fix AND"),
            "filter: column 11: unexpected end of filter; expected a field, regex(...), '(', "
            "NOT or '-'");
  EXPECT_EQ(Error("is_fix )"),
            "filter: column 8: unexpected ')' without a matching '('; expected AND, OR, another "
            "term or the end of the filter");
  EXPECT_EQ(Error(R"(is_fix "word")"),
            "filter: column 8: unexpected string; expected a field, regex(...), '(', NOT or '-'");
  EXPECT_EQ(Error("is_fix, is_bot"),
            "filter: column 7: unexpected ','; expected AND, OR, another term or the end of the "
            "filter");
  EXPECT_EQ(Error("- is_fix"),
            "filter: column 2: '-' not followed by a term; expected a term right after '-'");
  EXPECT_EQ(Error("repo"),
            "filter: column 5: field \"repo\" needs an operator and a value; expected one of "
            "=, != after it");
  EXPECT_EQ(Error("repo = "),
            "filter: column 8: missing value after '=', found end of filter; expected a string "
            "or a word");
  EXPECT_EQ(Error("repo = AND is_fix"),
            "filter: column 8: missing value after '=', found AND; expected a string or a word "
            "(quote it to use AND as a value)");
  EXPECT_EQ(Error("foo(message)"),
            "filter: column 1: unknown function \"foo\"; known functions: regex");
  EXPECT_EQ(Error(R"(regex(repo, "x"))"),
            "filter: column 7: regex() does not apply to field \"repo\"; expected one of "
            "message, subject, path, old_path");
  EXPECT_EQ(Error(R"(regex(message "x"))"),
            "filter: column 15: unexpected string in regex(); expected ',' and then the pattern");
}

TEST(FilterTest, ErrorMissingParen) {
  EXPECT_EQ(Error("(is_fix OR is_bot"),
            "filter: column 18: missing ')', found end of filter; expected ')' to close the '(' "
            "at column 1");
  EXPECT_EQ(Error("is_fix AND ((is_bot) binary"),
            "filter: column 28: missing ')', found end of filter; expected ')' to close the '(' "
            "at column 12");
  EXPECT_EQ(Error(R"(regex(message, "x" is_fix)"),
            "filter: column 20: missing ')', found \"is_fix\"; expected ')' to close the regex( "
            "at column 1");
}

TEST(FilterTest, ErrorBadTime) {
  EXPECT_EQ(Error("committed_at > yesterday"),
            "filter: column 16: bad time \"yesterday\"; expected a time: RFC 3339 "
            "(2024-01-31T12:00:00Z), a date (2024-01-31) or @SECONDS");
  EXPECT_TRUE(Contains(Error("authored_at < 2024-13-45"), "column 15: bad time \"2024-13-45\""));
}

TEST(FilterTest, ErrorOperatorNotValid) {
  EXPECT_EQ(
      Error(R"(repo < "x")"),
      "filter: column 6: operator '<' is not valid for field \"repo\"; expected one of =, !=");
  EXPECT_EQ(Error("files:3"),
            "filter: column 6: operator ':' is not valid for field \"files\"; expected one of "
            "=, !=, <, <=, >, >=");
  EXPECT_TRUE(Contains(Error("is_fix > false"), "column 8: operator '>' is not valid"));
  EXPECT_TRUE(Contains(Error("committed_at:2024"), "column 13: operator ':' is not valid"));
  EXPECT_TRUE(Contains(Error("message < x"), "column 9: operator '<' is not valid"));
}

TEST(FilterTest, ErrorBadNumberAndBoolean) {
  EXPECT_EQ(Error("is_fix files > three"),
            "filter: column 16: bad number \"three\"; expected an integer for files");
  EXPECT_TRUE(Contains(Error("added = 1.5"), "column 9: bad number \"1.5\""));
  EXPECT_TRUE(Contains(Error("added = 99999999999999999999"), "column 9: bad number"));
  EXPECT_EQ(Error("is_fix = yes"),
            "filter: column 10: bad boolean \"yes\"; expected true or false for is_fix");
}

TEST(FilterTest, ErrorBadGlob) {
  EXPECT_EQ(Error(R"(path = "src/[ab.cc")"),
            "filter: column 8: bad glob \"src/[ab.cc\": '[' at offset 4 is not closed; expected "
            "a ']' to end the character class, or \\[ for a literal '['");
}

TEST(FilterTest, ErrorTooLongOrTooDeep) {
  std::string text = "repo = \"" + std::string(4100, 'x') + "\"";
  EXPECT_EQ(Error(text),
            "filter: column 4097: filter is 4109 bytes long; expected at most 4096 bytes");
  std::string ok_len = "repo = \"" + std::string(4096 - 9, 'x') + "\"";
  ASSERT_EQ(ok_len.size(), 4096u);
  EXPECT_TRUE(Filter::Parse(ok_len).ok());

  std::string deep = std::string(1000, '(') + "is_fix" + std::string(1000, ')');
  EXPECT_TRUE(Contains(Error(deep), "nested deeper than 64 levels"));
  std::string nots;
  for (int i = 0; i < 500; ++i) nots += "NOT ";
  EXPECT_TRUE(Contains(Error(nots + "is_fix"), "nested deeper than 64 levels"));
  std::string shallow = std::string(30, '(') + "is_fix" + std::string(30, ')');
  EXPECT_TRUE(Match(shallow));
}

// Found by filter_fuzz: 63 NOTs under a juxtaposed AND parsed, but its canonical text (which
// wraps the AND in parentheses) was one level too deep to parse again. Depth is now counted on
// the parsed tree, so a filter and its canonical text are accepted or refused alike.
TEST(FilterTest, DepthLimitHoldsForTheCanonicalTextToo) {
  auto nots = [](int n) {
    std::string t;
    for (int i = 0; i < n; ++i) t += "-";
    return t;
  };
  std::string text = nots(5) + "binary " + nots(63) + "binary " + nots(3) + "path:\"*\"";
  auto f = Filter::Parse(text);
  ASSERT_TRUE(f.ok()) << f.status();
  auto again = Filter::Parse((*f)->canonical());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->canonical(), (*f)->canonical());
  // One more NOT under the AND is 65 levels: refused, as its canonical text would be.
  EXPECT_TRUE(
      Contains(Error(nots(5) + "binary " + nots(64) + "binary"), "nested deeper than 64 levels"));
}

TEST(FilterTest, MatchesIsThreadSafe) {
  auto f = Filter::Parse(R"(path = "src/**/*.cc" regex(message, "#\d+") author:ada is_fix)");
  ASSERT_TRUE(f.ok()) << f.status();
  Record r = Sample();
  std::vector<std::thread> threads;
  threads.reserve(4);
  std::vector<int> hits(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) hits[t] += (*f)->Matches(r) ? 1 : 0;
    });
  }
  for (auto& th : threads) th.join();
  for (int h : hits) EXPECT_EQ(h, 2000);
}

// The names after "known fields: " / "expected one of " in the error of `text`: the grammar's
// own list, so a new field is checked below without editing this test.
std::vector<std::string> NamesFromError(std::string_view text, std::string_view marker) {
  auto f = Filter::Parse(text);
  EXPECT_FALSE(f.ok()) << text;
  if (f.ok()) return {};
  std::string msg(f.status().message());
  size_t at = msg.find(marker);
  EXPECT_NE(at, std::string::npos) << msg;
  if (at == std::string::npos) return {};
  return absl::StrSplit(msg.substr(at + marker.size()), ", ");
}

// Filter::ReadsFiles comes from each field row's reads_files (storage/filter.cc). For every
// field of the grammar and every comparison on it that parses: when the filter says it reads
// no files, it gives the same answer on a record with and without its files (scans evaluate
// it on a record parsed without them); when it says it does, some comparison on the field
// tells the two apart (a row does not claim files it never reads, so it is not parsed whole
// for nothing).
TEST(FilterTest, ReadsFilesIsTrueExactlyForFieldsThatReadFiles) {
  Record with;
  with.set_repo("acme/widgets");
  with.set_commit("0123456789abcdef0123456789abcdef01234567");
  with.set_subject("Fix parse");
  with.set_message("Fix parse\n");
  with.mutable_committer()->set_time(kNov14);
  with.mutable_author()->set_time(kNov14);
  FileChange* f = AddFile(&with, "src/parse.c", "C", 3, 1);
  f->set_old_path("src/old.c");
  f->set_binary(true);
  f->set_vendored(true);
  f->set_generated(true);
  f->set_lockfile(true);
  f->set_documentation(true);
  f->add_functions_changed("parse_header");
  Record without = with;
  without.clear_files();

  const std::vector<std::string> fields = NamesFromError("no_such_field = 1", "known fields: ");
  ASSERT_GT(fields.size(), 30u);
  const std::vector<std::string> comparisons = {" = true",
                                                " = false",
                                                " >= 1",
                                                " < 1",
                                                " = 1",
                                                " = \"C\"",
                                                " : \"c\"",
                                                " = \"src/parse.c\"",
                                                " = \"src/*\"",
                                                " = \"src/old.c\"",
                                                " = \"parse_header\"",
                                                " : \"parse\"",
                                                " = \"default\"",
                                                " = \"x\"",
                                                " >= 2020-01-01"};
  for (const std::string& field : fields) {
    int parsed = 0;
    bool told_apart = false;
    bool reads_files = false;
    for (const std::string& cmp : comparisons) {
      auto filter = Filter::Parse(field + cmp);
      if (!filter.ok()) continue;
      ++parsed;
      reads_files = (*filter)->ReadsFiles();
      bool differs = (*filter)->Matches(with) != (*filter)->Matches(without);
      told_apart = told_apart || differs;
      EXPECT_FALSE(!reads_files && differs) << field + cmp << " reads files but its row says not";
    }
    ASSERT_GT(parsed, 0) << field << ": no comparison of this test parses; add one";
    EXPECT_EQ(reads_files, told_apart)
        << field << ": its row says reads_files = " << reads_files
        << " but no comparison here tells a record with files from one without";
  }

  const std::vector<std::string> regex_fields =
      NamesFromError("regex(no_such_field, \"x\")", "expected one of ");
  ASSERT_GE(regex_fields.size(), 4u);
  for (const std::string& field : regex_fields) {
    bool told_apart = false;
    bool reads_files = false;
    for (const char* pattern : {"parse", "old", "^$", "x"}) {
      auto filter = Filter::Parse("regex(" + field + ", \"" + std::string(pattern) + "\")");
      ASSERT_TRUE(filter.ok()) << field << ": " << filter.status();
      reads_files = (*filter)->ReadsFiles();
      bool differs = (*filter)->Matches(with) != (*filter)->Matches(without);
      told_apart = told_apart || differs;
      EXPECT_FALSE(!reads_files && differs) << field << " " << pattern;
    }
    EXPECT_EQ(reads_files, told_apart) << "regex(" << field << ")";
  }
}

}  // namespace
}  // namespace fixmine::storage
