#include "github/sync.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/status.h"
#include "github/model.h"
#include "re2/re2.h"

namespace fixmine::github {
namespace {

using fixmine::v1::GithubSyncState;
using fixmine::v1::PullRequest;

struct Page {
  bool not_modified = false;
  std::string body;
  std::string etag;
  std::string next;  // next-page URL
};

// The listings in the order a sync fetches them.
int PhaseIndex(const std::string& phase) {
  if (phase == "issues") return 0;
  if (phase == "pulls") return 1;
  if (phase == "comments") return 2;
  return -1;
}

class Syncer {
 public:
  Syncer(const SyncOptions& o, HttpClient* http, storage::GithubStore* store, std::string repo,
         std::string github_repo, const std::atomic<bool>& cancel, const SyncProgressFn& progress)
      : o_(o),
        http_(http),
        store_(store),
        repo_(std::move(repo)),
        gh_(std::move(github_repo)),
        cancel_(cancel),
        progress_(progress),
        origin_(UrlOrigin(o.api_url)) {}

  absl::Status Run() {
    if (origin_.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the GitHub API URL \"", o_.api_url, "\" does not parse (fixmined --github-api-url)"));
    }
    FIXMINE_ASSIGN_OR_RETURN(state_, store_->GetSyncState(repo_));
    const std::string base = absl::StrCat(o_.api_url, "/repos/", gh_);
    const std::string since = state_.since().empty() ? "" : "&since=" + state_.since();
    FIXMINE_RETURN_IF_ERROR(Listing(
        "issues", base + "/issues?state=all&sort=updated&direction=asc&per_page=100" + since,
        [&](const std::string& body, storage::GithubWrite* w) -> absl::Status {
          FIXMINE_ASSIGN_OR_RETURN(auto page, ParseIssuePage(body));
          for (const auto& i : page.items()) {
            Seen(i.updated_at());
            // The issues listing holds pull requests too; the pulls listing stores them.
            if (i.has_pull_request() || i.number() <= 0) continue;
            w->issues.push_back(ToIssue(i, repo_));
          }
          return absl::OkStatus();
        }));
    FIXMINE_RETURN_IF_ERROR(
        Listing("pulls", base + "/pulls?state=all&sort=updated&direction=asc&per_page=100",
                [&](const std::string& body, storage::GithubWrite* w) -> absl::Status {
                  FIXMINE_ASSIGN_OR_RETURN(auto page, ParsePullPage(body));
                  for (const auto& p : page.items()) {
                    if (p.number() <= 0) continue;
                    PullRequest pull = ToPull(p, repo_);
                    FIXMINE_RETURN_IF_ERROR(KeepDerived(&pull));
                    w->pulls.push_back(std::move(pull));
                  }
                  return absl::OkStatus();
                }));
    FIXMINE_RETURN_IF_ERROR(Listing(
        "comments", base + "/issues/comments?sort=updated&direction=asc&per_page=100" + since,
        [&](const std::string& body, storage::GithubWrite* w) -> absl::Status {
          FIXMINE_ASSIGN_OR_RETURN(auto page, ParseCommentPage(body));
          for (const auto& c : page.items()) {
            Seen(c.updated_at());
            if (auto comment = ToComment(c, repo_)) w->comments.push_back(std::move(*comment));
          }
          return absl::OkStatus();
        }));
    FIXMINE_RETURN_IF_ERROR(CommitLists(base));
    // Done: the next sync asks only for what changed since the newest object seen.
    GithubSyncState done;
    done.set_since(state_.since_pending().empty() ? state_.since() : state_.since_pending());
    storage::GithubWrite w;
    w.state.emplace(repo_, done);
    return store_->Write(w).status();
  }

 private:
  void Seen(const std::string& updated_at) {
    if (ParseApiTime(updated_at) > ParseApiTime(state_.since_pending())) {
      state_.set_since_pending(FormatApiTime(ParseApiTime(updated_at)));
    }
  }

  // The link pass's and commit sync's fields of a stored pull request survive its re-sync.
  absl::Status KeepDerived(PullRequest* pull) {
    FIXMINE_ASSIGN_OR_RETURN(auto old, store_->GetPull(repo_, pull->number()));
    if (!old) return absl::OkStatus();
    *pull->mutable_commits() = old->commits();
    pull->set_commits_synced_at(old->commits_synced_at());
    *pull->mutable_resolves() = old->resolves();
    pull->set_trajectory_id(old->trajectory_id());
    pull->set_matched_by(old->matched_by());
    return absl::OkStatus();
  }

  void Report(const std::string& kind = "", double seconds = 0) {
    if (progress_) progress_(progress_state_, kind, seconds);
  }

  std::string Scrub(std::string text) const {
    if (!o_.token.empty()) absl::StrReplaceAll({{o_.token, "[token]"}}, &text);
    return text;
  }

  // Sleeps `seconds` in short steps, saying why in the progress.
  absl::Status Wait(const std::string& kind, const std::string& why, double seconds) {
    ++progress_state_.waits;
    progress_state_.waiting = absl::StrCat(why, ": waiting ", static_cast<int64_t>(seconds), " s");
    Report(kind, seconds);
    auto end = std::chrono::steady_clock::now() +
               std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
    while (std::chrono::steady_clock::now() < end) {
      if (cancel_.load()) return absl::CancelledError("sync cancelled");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    progress_state_.waiting.clear();
    Report();
    return absl::OkStatus();
  }

  int64_t HeaderNumber(const HttpResponse& r, const std::string& name, int64_t fallback) {
    auto it = r.headers.find(name);
    int64_t v = 0;
    if (it == r.headers.end() || !absl::SimpleAtoi(it->second, &v)) return fallback;
    return v;
  }

  absl::Status WaitForReset(const HttpResponse& r, const std::string& url) {
    int64_t reset = HeaderNumber(r, "x-ratelimit-reset", 0);
    int64_t seconds = std::max<int64_t>(1, reset - absl::ToUnixSeconds(absl::Now()));
    if (seconds > o_.max_wait_seconds) {
      return absl::ResourceExhaustedError(
          absl::StrCat("GET ", url, ": the primary rate limit resets in ", seconds, " s, past the ",
                       o_.max_wait_seconds,
                       " s a sync waits; set a token (--github-token-file) or retry later"));
    }
    return Wait("primary", "primary rate limit (x-ratelimit-remaining 0, x-ratelimit-reset)",
                static_cast<double>(seconds));
  }

  // GETs one URL, conditional when an ETag is stored for it, honouring rate limits, retrying
  // 5xx and transport errors, following same-origin redirects.
  absl::StatusOr<Page> Fetch(std::string url, bool conditional) {
    std::optional<storage::StoredEtag> stored;
    if (conditional) {
      FIXMINE_ASSIGN_OR_RETURN(stored, store_->GetEtag(repo_, url));
    }
    int attempts = 0, waits = 0, redirects = 0;
    for (;;) {
      if (cancel_.load()) return absl::CancelledError("sync cancelled");
      if (UrlOrigin(url) != origin_) {
        return absl::FailedPreconditionError(
            absl::StrCat("GET ", url, ": the URL is not on the configured API host (", origin_,
                         "); refused, so the token is sent nowhere else"));
      }
      if (primary_wait_.has_value()) {
        HttpResponse r = *primary_wait_;
        primary_wait_.reset();
        FIXMINE_RETURN_IF_ERROR(WaitForReset(r, url));
      }
      std::vector<std::string> headers = {"Accept: application/vnd.github+json",
                                          "X-GitHub-Api-Version: 2022-11-28"};
      if (!o_.token.empty()) headers.push_back("Authorization: Bearer " + o_.token);
      if (stored && !stored->etag.empty()) headers.push_back("If-None-Match: " + stored->etag);
      ++progress_state_.requests;
      auto got = http_->Get(url, headers, &cancel_);
      Report();
      if (!got.ok()) {
        absl::StatusCode code = got.status().code();
        bool transient =
            code == absl::StatusCode::kDeadlineExceeded || code == absl::StatusCode::kUnavailable;
        if (transient && ++attempts < o_.max_attempts) {
          FIXMINE_RETURN_IF_ERROR(
              Wait("retry", Scrub(absl::StrCat("retry after \"", got.status().message(), "\"")),
                   static_cast<double>(int64_t{1} << (attempts - 1))));
          continue;
        }
        return absl::Status(code, Scrub(std::string(got.status().message())));
      }
      HttpResponse& r = *got;
      if (r.headers.count("x-ratelimit-remaining") > 0 &&
          HeaderNumber(r, "x-ratelimit-remaining", 1) == 0 && r.status != 403 && r.status != 429) {
        primary_wait_ = r;  // this answer counts; the next request waits for the reset
      }
      if (r.status == 304) {
        ++progress_state_.not_modified;
        Report();
        Page p;
        p.not_modified = true;
        p.next = stored ? stored->next_url : "";
        return p;
      }
      if (r.status >= 200 && r.status < 300) {
        Page p;
        p.body = std::move(r.body);
        if (auto it = r.headers.find("etag"); it != r.headers.end()) p.etag = it->second;
        if (auto it = r.headers.find("link"); it != r.headers.end()) p.next = NextLink(it->second);
        return p;
      }
      if (r.status >= 300 && r.status < 400) {
        auto loc = r.headers.find("location");
        if (loc == r.headers.end() || loc->second.empty()) {
          return absl::FailedPreconditionError(
              absl::StrCat("GET ", url, ": HTTP ", r.status, " without a Location"));
        }
        if (UrlOrigin(loc->second) != origin_ || ++redirects > 5) {
          return absl::FailedPreconditionError(Scrub(absl::StrCat(
              "GET ", url, ": HTTP ", r.status, " redirect to \"", loc->second.substr(0, 200),
              "\" refused: it leaves the configured API host (", origin_, ") or loops")));
        }
        url = loc->second;
        continue;
      }
      if (r.status == 403 || r.status == 429) {
        if (++waits > o_.max_waits) {
          return absl::ResourceExhaustedError(
              absl::StrCat("GET ", url, ": still rate limited after ", o_.max_waits, " waits"));
        }
        int64_t retry_after = HeaderNumber(r, "retry-after", -1);
        if (retry_after >= 0) {
          if (retry_after > o_.max_wait_seconds) {
            return absl::ResourceExhaustedError(
                absl::StrCat("GET ", url, ": retry-after ", retry_after, " s is past the ",
                             o_.max_wait_seconds, " s a sync waits"));
          }
          FIXMINE_RETURN_IF_ERROR(Wait("secondary",
                                       absl::StrCat("secondary rate limit (HTTP ", r.status,
                                                    ", retry-after ", retry_after, ")"),
                                       static_cast<double>(std::max<int64_t>(1, retry_after))));
          continue;
        }
        if (HeaderNumber(r, "x-ratelimit-remaining", 1) == 0) {
          FIXMINE_RETURN_IF_ERROR(WaitForReset(r, url));
          continue;
        }
        if (r.status == 429) {
          FIXMINE_RETURN_IF_ERROR(Wait("secondary", "HTTP 429 without retry-after", 60));
          continue;
        }
      }
      if (r.status >= 500 && ++attempts < o_.max_attempts) {
        FIXMINE_RETURN_IF_ERROR(Wait("retry", absl::StrCat("retry after HTTP ", r.status),
                                     static_cast<double>(int64_t{1} << (attempts - 1))));
        continue;
      }
      return absl::FailedPreconditionError(Scrub(absl::StrCat(
          "GET ", url, ": HTTP ", r.status, ": ", r.body.substr(0, 200),
          r.status == 401 ? " (check the token: --github-token-file or $GITHUB_TOKEN)" : "",
          r.status == 404 ? " (check the repository's --github OWNER/REPO)" : "")));
    }
  }

  // Fetches every page of one listing, storing each page's objects with its ETag and the
  // sync state in one batch, so a restart resumes at the next page.
  absl::Status Listing(
      const std::string& phase, const std::string& first,
      const std::function<absl::Status(const std::string&, storage::GithubWrite*)>& handle) {
    // Resuming an interrupted sync: listings it finished are not fetched again.
    if (!state_.phase().empty()) {
      int at = PhaseIndex(state_.phase()), me = PhaseIndex(phase);
      if (at > me || (at == me && state_.next_url().empty())) return absl::OkStatus();
    }
    std::string url =
        state_.phase() == phase && !state_.next_url().empty() ? state_.next_url() : first;
    std::set<std::string> seen;
    int pages = 0;
    while (!url.empty()) {
      if (!seen.insert(url).second) {
        return absl::FailedPreconditionError(
            absl::StrCat("listing ", phase, ": the Link header's next page \"", url.substr(0, 200),
                         "\" was visited already (an endless pagination loop)"));
      }
      if (++pages > o_.max_pages) {
        return absl::ResourceExhaustedError(
            absl::StrCat("listing ", phase, ": more than ", o_.max_pages, " pages; stopped"));
      }
      FIXMINE_ASSIGN_OR_RETURN(Page page, Fetch(url, true));
      storage::GithubWrite w;
      if (!page.not_modified) {
        if (absl::Status st = handle(page.body, &w); !st.ok()) {
          return absl::Status(st.code(), Scrub(absl::StrCat("GET ", url, ": ", st.message())));
        }
        if (!page.etag.empty()) w.etags.push_back({repo_, url, page.etag + "\n" + page.next});
      }
      state_.set_phase(phase);
      state_.set_next_url(page.next);
      w.state.emplace(repo_, state_);
      FIXMINE_ASSIGN_OR_RETURN(int64_t changed, store_->Write(w));
      progress_state_.objects += changed;
      Report();
      url = page.next;
    }
    return absl::OkStatus();
  }

  // The commit lists of merged pull requests that changed since theirs was fetched.
  absl::Status CommitLists(const std::string& base) {
    std::vector<PullRequest> todo;
    FIXMINE_RETURN_IF_ERROR(store_->ScanPulls(repo_, [&](const PullRequest& p) {
      if (p.merged_at() != 0 && p.commits_synced_at() != p.updated_at()) todo.push_back(p);
      return true;
    }));
    for (PullRequest& p : todo) {
      p.clear_commits();
      std::string url = absl::StrCat(base, "/pulls/", p.number(), "/commits?per_page=100");
      std::set<std::string> seen;
      int pages = 0;
      while (!url.empty()) {
        if (!seen.insert(url).second || ++pages > o_.max_pages) {
          return absl::FailedPreconditionError(
              absl::StrCat("listing the commits of pull request #", p.number(),
                           ": endless or overlong pagination (Link: rel=\"next\")"));
        }
        // Only changed pull requests get here, so nothing is to be saved by asking
        // conditionally, and a 304 would leave the list without its page.
        FIXMINE_ASSIGN_OR_RETURN(Page page, Fetch(url, false));
        auto parsed = ParseCommitPage(page.body);
        if (!parsed.ok()) {
          return absl::InvalidArgumentError(
              Scrub(absl::StrCat("GET ", url, ": ", parsed.status().message())));
        }
        for (const auto& c : parsed->items()) {
          auto* pc = p.add_commits();
          pc->set_sha(c.sha());
          pc->set_message(c.commit().message());
          pc->set_time(ParseApiTime(c.commit().author().date()));
        }
        url = page.next;
      }
      p.set_commits_synced_at(p.updated_at());
      storage::GithubWrite w;
      w.pulls.push_back(p);
      FIXMINE_ASSIGN_OR_RETURN(int64_t changed, store_->Write(w));
      progress_state_.objects += changed;
      Report();
    }
    return absl::OkStatus();
  }

  const SyncOptions& o_;
  HttpClient* http_;
  storage::GithubStore* store_;
  const std::string repo_;
  const std::string gh_;
  const std::atomic<bool>& cancel_;
  const SyncProgressFn& progress_;
  const std::string origin_;
  GithubSyncState state_;
  SyncProgress progress_state_;
  std::optional<HttpResponse> primary_wait_;
};

}  // namespace

std::string NextLink(const std::string& link_header) {
  static const RE2 kNext(R"(<([^>]*)>\s*;\s*rel="?next"?)");
  std::string url;
  if (RE2::PartialMatch(link_header, kNext, &url)) return url;
  return "";
}

absl::Status SyncRepository(const SyncOptions& options, HttpClient* http,
                            storage::GithubStore* store, const std::string& repo,
                            const std::string& github_repo, const std::atomic<bool>& cancel,
                            const SyncProgressFn& on_progress) {
  Syncer s(options, http, store, repo, github_repo, cancel, on_progress);
  return s.Run();
}

}  // namespace fixmine::github
