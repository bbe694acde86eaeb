#pragma once

// Incremental sync of one repository's issues, pull requests, comments and pull-request commit
// lists from the GitHub REST API into the GithubStore (docs/github.md, "Sync").

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "github/http.h"
#include "storage/github_store.h"

namespace fixmine::github {

// GitHub's public API.
inline constexpr char kDefaultApiUrl[] = "https://api.github.com";

// Settings of a sync.
struct SyncOptions {
  // API base URL without a trailing slash (fixmined --github-api-url).
  std::string api_url = kDefaultApiUrl;
  // Sent as "Authorization: Bearer TOKEN" to `api_url`'s origin only; empty: unauthenticated.
  std::string token;
  // Pages of one listing at most (a longer listing fails the sync).
  int max_pages = 2000;
  // Tries of one request on 5xx answers, timeouts and connection errors (backoff 1, 2, 4, ...
  // seconds between them).
  int max_attempts = 5;
  // Rate-limit waits for one request at most, and the longest single wait accepted.
  int max_waits = 10;
  int64_t max_wait_seconds = 3900;
};

// What a sync did so far; passed to the progress callback at every change.
struct SyncProgress {
  int64_t requests = 0;
  int64_t not_modified = 0;
  // Issues, pull requests and comments new or changed in the store.
  int64_t objects = 0;
  int64_t waits = 0;
  // What the sync waits for now ("" when not waiting).
  std::string waiting;
};

// Progress callback: the progress, and for a wait that starts now its kind ("primary",
// "secondary", "retry") and its seconds (0 otherwise).
using SyncProgressFn =
    std::function<void(const SyncProgress&, const std::string& wait_kind, double wait_seconds)>;

// Syncs registered repository `repo`, tied to `github_repo` ("owner/repo"), through `http`
// into `store`, resuming where an interrupted sync of it stopped (the store's sync state).
// Errors: the first request that fails for good (status and URL named), a page that is not the
// JSON expected, a body over the cap, a redirect or Link to another host, an endless Link loop
// or more than `max_pages` pages; CANCELLED when `cancel` becomes true (also during waits).
// Error texts never hold the token. Borrows everything; runs on the calling thread.
absl::Status SyncRepository(const SyncOptions& options, HttpClient* http,
                            storage::GithubStore* store, const std::string& repo,
                            const std::string& github_repo, const std::atomic<bool>& cancel,
                            const SyncProgressFn& on_progress);

// The next-page URL of a Link header ("" when none).
std::string NextLink(const std::string& link_header);

}  // namespace fixmine::github
