#pragma once

// GitHub issues, pull requests, comments, ETags, sync state and task instances in the record
// store's RocksDB (docs/github.md, docs/storage.md). Column family `github`; every key starts
// with the registered repository's name and '\0' (so the repository's removal deletes them
// with one range), then a tag byte:
//   'c' be64(issue number) be64(comment id) -> IssueComment
//   'e' API URL -> ETag '\n' next-page URL
//   'i' be64(issue number) -> Issue
//   'n' be64(pull number) -> Instance
//   'p' be64(pull number) -> PullRequest
//   's' -> GithubSyncState

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fixmine/v1/github.pb.h"
#include "storage/instance_filter.h"
#include "storage/record_store.h"

namespace fixmine::storage {

// What one GithubStore::Write stores, atomically.
struct GithubWrite {
  std::vector<fixmine::v1::Issue> issues;
  std::vector<fixmine::v1::PullRequest> pulls;
  std::vector<fixmine::v1::IssueComment> comments;
  // (repository, API URL, ETag '\n' next URL) entries.
  struct Etag {
    std::string repo;
    std::string url;
    std::string value;
  };
  std::vector<Etag> etags;
  // A repository's sync state, when set.
  std::optional<std::pair<std::string, fixmine::v1::GithubSyncState>> state;
};

// A stored ETag entry.
struct StoredEtag {
  std::string etag;
  std::string next_url;
};

// Reads and writes the `github` family of a RecordStore opened by RecordStore::Open. Borrows
// the store, which must outlive it. Thread-safe.
class GithubStore {
 public:
  // FAILED_PRECONDITION when `store` is not a RocksDB store made by RecordStore::Open.
  static absl::StatusOr<std::unique_ptr<GithubStore>> Of(RecordStore* store);
  virtual ~GithubStore() = default;

  // Stores everything in `w` in ONE atomic synced batch. Returns how many issues, pulls and
  // comments were new or differed from the stored value (equal ones are not rewritten).
  // INVALID_ARGUMENT for an object with an empty repository name or one holding '\0'.
  virtual absl::StatusOr<int64_t> Write(const GithubWrite& w) = 0;

  // Lookups; nullopt when absent.
  virtual absl::StatusOr<std::optional<fixmine::v1::Issue>> GetIssue(std::string_view repo,
                                                                     int64_t number) = 0;
  virtual absl::StatusOr<std::optional<fixmine::v1::PullRequest>> GetPull(std::string_view repo,
                                                                          int64_t number) = 0;
  virtual absl::StatusOr<std::optional<StoredEtag>> GetEtag(std::string_view repo,
                                                            std::string_view url) = 0;
  // The repository's sync state (a default one when none is stored).
  virtual absl::StatusOr<fixmine::v1::GithubSyncState> GetSyncState(std::string_view repo) = 0;

  // Visits a repository's issues in number order, starting right after key `after` (empty: the
  // first); `visit` gets each issue and its key and returns false to stop.
  virtual absl::Status ScanIssues(
      std::string_view repo, const std::string& after,
      const std::function<bool(const fixmine::v1::Issue&, const std::string& key)>& visit) = 0;
  // Visits a repository's pull requests in number order.
  virtual absl::Status ScanPulls(
      std::string_view repo, const std::function<bool(const fixmine::v1::PullRequest&)>& visit) = 0;
  // Visits the comments of one issue, by comment id.
  virtual absl::Status ScanComments(
      std::string_view repo, int64_t issue_number,
      const std::function<bool(const fixmine::v1::IssueComment&)>& visit) = 0;

  // Replaces every instance of `repo` with `instances` and stores `pulls` (the link pass's
  // results), in ONE atomic synced batch.
  virtual absl::Status ReplaceInstances(std::string_view repo,
                                        const std::vector<fixmine::v1::Instance>& instances,
                                        const std::vector<fixmine::v1::PullRequest>& pulls) = 0;
  // Visits, on a consistent snapshot, the instances matching `filter` (null: all) in key order
  // (repository name, then pull number), starting right after key `after` (empty: from the
  // start). `prepare`, when set, completes each instance before the filter sees it (the server's
  // decontamination). INVALID_ARGUMENT for an `after` that is not an instance key.
  virtual absl::Status ScanInstances(
      const InstanceFilter* filter, const std::string& after,
      const std::function<bool(const fixmine::v1::Instance&, const std::string& key)>& visit,
      const std::function<void(fixmine::v1::Instance*)>& prepare = nullptr) = 0;
};

}  // namespace fixmine::storage
