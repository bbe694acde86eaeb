#pragma once

// GitHub objects: parsing API JSON into the mirror messages of proto/fixmine/v1/github.proto
// (protobuf's JSON parser, unknown fields ignored), converting them into the stored messages,
// and the closing-keyword links of docs/github.md. Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "fixmine/v1/github.pb.h"

namespace fixmine::github {

// Parses a list endpoint's body (a JSON array). INVALID_ARGUMENT naming the parser's complaint
// when it is not valid JSON of the expected shape.
absl::StatusOr<fixmine::v1::GhIssuePage> ParseIssuePage(std::string_view body);
absl::StatusOr<fixmine::v1::GhPullPage> ParsePullPage(std::string_view body);
absl::StatusOr<fixmine::v1::GhCommentPage> ParseCommentPage(std::string_view body);
absl::StatusOr<fixmine::v1::GhCommitPage> ParseCommitPage(std::string_view body);

// RFC 3339 text to Unix seconds; 0 for empty or malformed text.
int64_t ParseApiTime(std::string_view text);
// Unix seconds to RFC 3339 UTC ("2024-01-02T03:04:05Z").
std::string FormatApiTime(int64_t seconds);

// The stored forms, for registered repository `repo`.
fixmine::v1::Issue ToIssue(const fixmine::v1::GhIssue& i, const std::string& repo);
fixmine::v1::PullRequest ToPull(const fixmine::v1::GhPull& p, const std::string& repo);
// nullopt when the comment's issue_url does not end in /issues/N and `issue_number` is 0.
std::optional<fixmine::v1::IssueComment> ToComment(const fixmine::v1::GhComment& c,
                                                   const std::string& repo,
                                                   int64_t issue_number = 0);

// "owner/repo" when `text` is one (letters, digits, '-', '_', '.'; owner up to 39 characters,
// name up to 100) or a https://github.com/owner/repo[.git] URL; nullopt otherwise.
std::optional<std::string> ParseGithubRepo(std::string_view text);

// The issue numbers `text` closes in repository `github_repo` ("owner/repo"): a closing keyword
// (close, closes, closed, fix, fixes, fixed, resolve, resolves, resolved; any case; an optional
// ':') followed by "#N", "owner/repo#N" or "https://github.com/owner/repo/issues/N". References
// to other repositories are left out.
std::set<int64_t> ClosingReferences(std::string_view text, std::string_view github_repo);

}  // namespace fixmine::github
