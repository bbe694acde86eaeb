// github/model.h and NextLink: closing keywords, repository names, API JSON into the mirror
// messages (nulls and unknown fields), Link headers.
#include "github/model.h"

#include <gtest/gtest.h>

#include "github/sync.h"

namespace fixmine::github {
namespace {

using Refs = std::set<int64_t>;

TEST(ClosingReferences, EveryKeywordAndForm) {
  for (const char* kw : {"close", "closes", "closed", "fix", "fixes", "fixed", "resolve",
                         "resolves", "resolved", "Fixes", "RESOLVED", "fixes:"}) {
    EXPECT_EQ(ClosingReferences(std::string(kw) + " #12", "acme/calc"), Refs{12}) << kw;
  }
  EXPECT_EQ(ClosingReferences("This fixes acme/calc#7.", "acme/calc"), Refs{7});
  EXPECT_EQ(ClosingReferences("closes https://github.com/acme/calc/issues/9", "acme/calc"),
            Refs{9});
  EXPECT_EQ(ClosingReferences("Fixes #1, fixes #2\nresolves #3", "acme/calc"), (Refs{1, 2, 3}));
  // Case of the repository name does not matter.
  EXPECT_EQ(ClosingReferences("fixes ACME/Calc#4", "acme/calc"), Refs{4});
}

TEST(ClosingReferences, WhatDoesNotCount) {
  EXPECT_EQ(ClosingReferences("see #4; related to #5", "acme/calc"), Refs{});
  EXPECT_EQ(ClosingReferences("fixes other/repo#4", "acme/calc"), Refs{});
  EXPECT_EQ(ClosingReferences("closes https://github.com/other/repo/issues/4", "acme/calc"),
            Refs{});
  EXPECT_EQ(ClosingReferences("prefixes #4 suffixed #5", "acme/calc"), Refs{});
  EXPECT_EQ(ClosingReferences("fixes #0", "acme/calc"), Refs{});
  EXPECT_EQ(ClosingReferences("fixes#4", "acme/calc"), Refs{});
}

TEST(ParseGithubRepo, NamesAndUrls) {
  EXPECT_EQ(ParseGithubRepo("acme/calc"), "acme/calc");
  EXPECT_EQ(ParseGithubRepo("https://github.com/acme/calc"), "acme/calc");
  EXPECT_EQ(ParseGithubRepo("https://github.com/acme/calc.git"), "acme/calc");
  EXPECT_EQ(ParseGithubRepo("https://github.com/acme/my.lib/"), "acme/my.lib");
  EXPECT_EQ(ParseGithubRepo("acme"), std::nullopt);
  EXPECT_EQ(ParseGithubRepo("acme/calc/x"), std::nullopt);
  EXPECT_EQ(ParseGithubRepo("-acme/calc"), std::nullopt);
  EXPECT_EQ(ParseGithubRepo("acme/.."), std::nullopt);
  EXPECT_EQ(ParseGithubRepo("http://github.com/acme/calc"), std::nullopt);
  EXPECT_EQ(ParseGithubRepo("https://gitlab.com/acme/calc"), std::nullopt);
}

TEST(ParsePages, NullsAndUnknownFieldsAndPullMarker) {
  auto page = ParseIssuePage(R"([
    {"number": 3, "title": "t", "body": null, "closed_at": null, "user": {"login": "bob",
     "id": 5}, "labels": [{"name": "bug", "color": "f00"}], "reactions": {"+1": 1},
     "created_at": "2023-11-14T22:13:20Z", "pull_request": null},
    {"number": 4, "pull_request": {"url": "u", "merged_at": null}}])");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->items_size(), 2);
  EXPECT_FALSE(page->items(0).has_pull_request());
  EXPECT_TRUE(page->items(1).has_pull_request());
  fixmine::v1::Issue issue = ToIssue(page->items(0), "calc");
  EXPECT_EQ(issue.body(), "");
  EXPECT_EQ(issue.author(), "bob");
  EXPECT_EQ(issue.labels_size(), 1);
  EXPECT_EQ(issue.created_at(), 1700000000);
  EXPECT_EQ(issue.closed_at(), 0);
}

TEST(ParsePages, BadJsonIsAClearError) {
  auto page = ParsePullPage(R"([{"number": 1, "title": "x")");
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(page.status().message().find("not the JSON array expected"), std::string::npos);
  EXPECT_FALSE(ParseCommentPage(R"({"message": "Not Found"})").ok());
  EXPECT_FALSE(ParseCommitPage("").ok());
}

TEST(ToPull, OnlyAMergedPullKeepsItsMergeCommit) {
  auto page = ParsePullPage(R"([
    {"number": 1, "merged_at": "2023-11-14T22:13:20Z", "merge_commit_sha": "ABCDEF",
     "head": {"sha": "11", "ref": "b"}, "base": {"sha": "22", "ref": "main"}},
    {"number": 2, "merged_at": null, "merge_commit_sha": "abcdef"}])");
  ASSERT_TRUE(page.ok()) << page.status();
  fixmine::v1::PullRequest merged = ToPull(page->items(0), "calc");
  EXPECT_EQ(merged.merge_commit(), "abcdef");
  EXPECT_EQ(merged.merged_at(), 1700000000);
  EXPECT_EQ(merged.head_sha(), "11");
  EXPECT_EQ(merged.base_ref(), "main");
  EXPECT_EQ(ToPull(page->items(1), "calc").merge_commit(), "");
}

TEST(ToComment, IssueNumberFromItsUrl) {
  fixmine::v1::GhComment c;
  c.set_issue_url("https://api.github.com/repos/acme/calc/issues/17");
  auto comment = ToComment(c, "calc");
  ASSERT_TRUE(comment.has_value());
  EXPECT_EQ(comment->issue_number(), 17);
  c.set_issue_url("https://api.github.com/repos/acme/calc/pulls/17");
  EXPECT_FALSE(ToComment(c, "calc").has_value());
  EXPECT_EQ(ToComment(c, "calc", 9)->issue_number(), 9);
}

TEST(NextLink, FindsRelNextOnly) {
  EXPECT_EQ(NextLink(R"(<https://a/x?page=2>; rel="next", <https://a/x?page=9>; rel="last")"),
            "https://a/x?page=2");
  EXPECT_EQ(NextLink(R"(<https://a/x?page=9>; rel="last", <https://a/x?page=3>; rel="next")"),
            "https://a/x?page=3");
  EXPECT_EQ(NextLink(R"(<https://a/x?page=1>; rel="prev")"), "");
  EXPECT_EQ(NextLink(""), "");
}

TEST(Time, RoundTrip) {
  EXPECT_EQ(FormatApiTime(1700000000), "2023-11-14T22:13:20Z");
  EXPECT_EQ(ParseApiTime("2023-11-14T22:13:20Z"), 1700000000);
  EXPECT_EQ(ParseApiTime("garbage"), 0);
}

TEST(UrlOrigin, SchemeHostPort) {
  EXPECT_EQ(UrlOrigin("https://api.github.com/repos/x"), "https://api.github.com:443");
  EXPECT_EQ(UrlOrigin("http://127.0.0.1:8080/x?y"), "http://127.0.0.1:8080");
  EXPECT_NE(UrlOrigin("http://127.0.0.1:8080/x"), UrlOrigin("http://127.0.0.2:8080/x"));
  EXPECT_EQ(UrlOrigin("not a url"), "");
}

}  // namespace
}  // namespace fixmine::github
