#pragma once

// GitHub issues, pull requests, comments, ETags, sync state and task instances in the record
// store's RocksDB (docs/github.md, docs/storage.md): the component that owns column family
// `github`. Every key starts with the registered repository's name and '\0', so the
// repository's removal deletes them with one range (key layout in storage/keys.h).

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

namespace rocksdb {
class WriteBatch;
}  // namespace rocksdb

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

namespace internal {
class DbCore;
}  // namespace internal

// Reads and writes the `github` family of a RecordStore. Borrows the store, which must outlive
// it. Thread-safe. A repository's GitHub data is removed with it (RecordStore::RemoveRepository,
// in the same batch).
class GithubStore {
 public:
  // The GitHub data of `store`; FAILED_PRECONDITION for a null store.
  static absl::StatusOr<std::unique_ptr<GithubStore>> Of(RecordStore* store);
  // Over the core of a store (storage/ only).
  explicit GithubStore(internal::DbCore* core) : core_(core) {}

  // Stores everything in `w` in ONE atomic synced batch. Returns how many issues, pulls and
  // comments were new or differed from the stored value (equal ones are not rewritten).
  // INVALID_ARGUMENT for an object with an empty repository name or one holding '\0'.
  absl::StatusOr<int64_t> Write(const GithubWrite& w);

  // Lookups; nullopt when absent.
  absl::StatusOr<std::optional<fixmine::v1::Issue>> GetIssue(std::string_view repo, int64_t number);
  absl::StatusOr<std::optional<fixmine::v1::PullRequest>> GetPull(std::string_view repo,
                                                                  int64_t number);
  absl::StatusOr<std::optional<StoredEtag>> GetEtag(std::string_view repo, std::string_view url);
  // The repository's sync state (a default one when none is stored).
  absl::StatusOr<fixmine::v1::GithubSyncState> GetSyncState(std::string_view repo);

  // Visits a repository's issues in number order, starting right after key `after` (empty: the
  // first); `visit` gets each issue and its key and returns false to stop.
  absl::Status ScanIssues(
      std::string_view repo, const std::string& after,
      const std::function<bool(const fixmine::v1::Issue&, const std::string& key)>& visit);
  // Visits a repository's pull requests in number order.
  absl::Status ScanPulls(std::string_view repo,
                         const std::function<bool(const fixmine::v1::PullRequest&)>& visit);
  // Visits the comments of one issue, by comment id.
  absl::Status ScanComments(std::string_view repo, int64_t issue_number,
                            const std::function<bool(const fixmine::v1::IssueComment&)>& visit);

  // Replaces every instance of `repo` with `instances` and stores `pulls` (the link pass's
  // results), in ONE atomic synced batch.
  absl::Status ReplaceInstances(std::string_view repo,
                                const std::vector<fixmine::v1::Instance>& instances,
                                const std::vector<fixmine::v1::PullRequest>& pulls);
  // Visits, on a consistent snapshot, the instances matching `filter` (null: all) in key order
  // (repository name, then pull number), starting right after key `after` (empty: from the
  // start). `prepare`, when set, completes each instance before the filter sees it (the server's
  // decontamination). INVALID_ARGUMENT for an `after` that is not an instance key.
  absl::Status ScanInstances(
      const InstanceFilter* filter, const std::string& after,
      const std::function<bool(const fixmine::v1::Instance&, const std::string& key)>& visit,
      const std::function<void(fixmine::v1::Instance*)>& prepare = nullptr);

  // Appends to `batch` the deletion of every GitHub object of `repo` (one range); writes
  // nothing itself (RecordStore::RemoveRepository commits it with the repository's other
  // families).
  absl::Status AppendRemoveRepository(std::string_view repo, rocksdb::WriteBatch* batch);

 private:
  internal::DbCore* const core_;  // borrowed
};

}  // namespace fixmine::storage
