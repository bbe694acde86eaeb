#include "github/model.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "re2/re2.h"

namespace fixmine::github {
namespace {

template <typename Page>
absl::StatusOr<Page> ParsePage(std::string_view body, std::string_view what) {
  // The endpoints answer with a top-level array; the parser wants an object (and would take a
  // lone object where the array belongs).
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || body[first] != '[') {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", std::string(what), " response is not the JSON array expected"));
  }
  std::string wrapped = absl::StrCat("{\"items\":", std::string(body), "}");
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  Page page;
  auto st = google::protobuf::util::JsonStringToMessage(wrapped, &page, options);
  if (!st.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", std::string(what),
                     " response is not the JSON array expected: ", st.ToString().substr(0, 200)));
  }
  return page;
}

}  // namespace

absl::StatusOr<fixmine::v1::GhIssuePage> ParseIssuePage(std::string_view body) {
  return ParsePage<fixmine::v1::GhIssuePage>(body, "issues");
}
absl::StatusOr<fixmine::v1::GhPullPage> ParsePullPage(std::string_view body) {
  return ParsePage<fixmine::v1::GhPullPage>(body, "pull requests");
}
absl::StatusOr<fixmine::v1::GhCommentPage> ParseCommentPage(std::string_view body) {
  return ParsePage<fixmine::v1::GhCommentPage>(body, "comments");
}
absl::StatusOr<fixmine::v1::GhCommitPage> ParseCommitPage(std::string_view body) {
  return ParsePage<fixmine::v1::GhCommitPage>(body, "pull request commits");
}

int64_t ParseApiTime(std::string_view text) {
  if (text.empty()) return 0;
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) return 0;
  return absl::ToUnixSeconds(t);
}

std::string FormatApiTime(int64_t seconds) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(seconds),
                          absl::UTCTimeZone());
}

fixmine::v1::Issue ToIssue(const fixmine::v1::GhIssue& i, const std::string& repo) {
  fixmine::v1::Issue out;
  out.set_repo(repo);
  out.set_number(i.number());
  out.set_title(i.title());
  out.set_body(i.body());
  out.set_state(i.state());
  out.set_author(i.user().login());
  out.set_created_at(ParseApiTime(i.created_at()));
  out.set_updated_at(ParseApiTime(i.updated_at()));
  out.set_closed_at(ParseApiTime(i.closed_at()));
  for (const auto& l : i.labels()) out.add_labels(l.name());
  out.set_url(i.html_url());
  return out;
}

fixmine::v1::PullRequest ToPull(const fixmine::v1::GhPull& p, const std::string& repo) {
  fixmine::v1::PullRequest out;
  out.set_repo(repo);
  out.set_number(p.number());
  out.set_title(p.title());
  out.set_body(p.body());
  out.set_state(p.state());
  out.set_author(p.user().login());
  out.set_created_at(ParseApiTime(p.created_at()));
  out.set_updated_at(ParseApiTime(p.updated_at()));
  out.set_closed_at(ParseApiTime(p.closed_at()));
  out.set_merged_at(ParseApiTime(p.merged_at()));
  // An unmerged pull request's merge_commit_sha is GitHub's test merge: not a commit of the
  // repository's history.
  if (out.merged_at() != 0) out.set_merge_commit(absl::AsciiStrToLower(p.merge_commit_sha()));
  out.set_head_sha(absl::AsciiStrToLower(p.head().sha()));
  out.set_head_ref(p.head().ref());
  out.set_base_sha(absl::AsciiStrToLower(p.base().sha()));
  out.set_base_ref(p.base().ref());
  out.set_url(p.html_url());
  return out;
}

std::optional<fixmine::v1::IssueComment> ToComment(const fixmine::v1::GhComment& c,
                                                   const std::string& repo, int64_t issue_number) {
  int64_t number = issue_number;
  if (number == 0) {
    std::string_view url = c.issue_url();
    size_t slash = url.rfind('/');
    if (slash == std::string_view::npos || !url.substr(0, slash).ends_with("/issues") ||
        !absl::SimpleAtoi(std::string(url.substr(slash + 1)), &number) || number <= 0) {
      return std::nullopt;
    }
  }
  fixmine::v1::IssueComment out;
  out.set_repo(repo);
  out.set_issue_number(number);
  out.set_id(c.id());
  out.set_author(c.user().login());
  out.set_body(c.body());
  out.set_created_at(ParseApiTime(c.created_at()));
  out.set_updated_at(ParseApiTime(c.updated_at()));
  return out;
}

std::optional<std::string> ParseGithubRepo(std::string_view text) {
  static const RE2 kRepo(R"(([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9._-]{1,100}))");
  static const RE2 kUrl(
      R"((?i)https://(?:www\.)?github\.com/([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9._-]{1,100}?)(?:\.git)?/?)");
  std::string owner, name;
  const std::string input(text);
  if (RE2::FullMatch(input, kRepo, &owner, &name) || RE2::FullMatch(input, kUrl, &owner, &name)) {
    if (name == "." || name == "..") return std::nullopt;
    return absl::StrCat(owner, "/", name);
  }
  return std::nullopt;
}

std::set<int64_t> ClosingReferences(std::string_view text, std::string_view github_repo) {
  static const RE2 kRef(
      R"((?i)\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?):?\s+(?:https?://github\.com/([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)/issues/(\d+)|([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)?#(\d+))\b)");
  std::set<int64_t> out;
  std::string url_repo, url_num, ref_repo, ref_num;
  re2::StringPiece input(text.data(), text.size());
  while (RE2::FindAndConsume(&input, kRef, &url_repo, &url_num, &ref_repo, &ref_num)) {
    const std::string& repo = url_num.empty() ? ref_repo : url_repo;
    const std::string& num = url_num.empty() ? ref_num : url_num;
    if (!repo.empty() && !absl::EqualsIgnoreCase(repo, std::string(github_repo))) continue;
    int64_t n = 0;
    if (absl::SimpleAtoi(num, &n) && n > 0) out.insert(n);
  }
  return out;
}

}  // namespace fixmine::github
