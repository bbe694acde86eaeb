#pragma once
// `fixmine repo stats NAME`: process metrics of one repository computed on the client from its
// stored records (docs/operations.md, "Repository statistics"). No server support beyond
// StreamRecords: the records of the repository are streamed once and folded here.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fixmine/v1/records.pb.h"
#include "google/protobuf/struct.pb.h"

namespace fixmine::client {

// One contributor (an author identity: the e-mail as stored, else the name).
struct ContributorStats {
  std::string name;   // the most recent name seen with the identity
  std::string email;  // as stored (under the e-mail policy: hashed or empty)
  int64_t commits = 0;
  int64_t added = 0;
  int64_t deleted = 0;
  int64_t first_time = 0;  // author time, seconds since the epoch
  int64_t last_time = 0;
};

// One path, as the records name it (a rename starts a new path, as `git log` without --follow).
struct FileStats {
  std::string path;
  int64_t commits = 0;
  int64_t added = 0;
  int64_t deleted = 0;
  int64_t last_time = 0;
  // Commits per contributor identity.
  std::map<std::string, int64_t> by_author;
  // The identity with the most commits to the file (ties: the smaller identity), its share of
  // the file's commits, and the contributors below 5% of them (Bird et al.'s "minor"
  // contributors, "Don't touch my code!", 2011).
  std::string owner;
  double owner_share = 0;
  int64_t minor_contributors = 0;
};

// The whole repository.
struct RepoStats {
  std::string repo;
  int64_t commits = 0;            // records folded (non-merge commits)
  int64_t merge_resolutions = 0;  // merge-resolution records: counted here, in nothing else
  int64_t fixes = 0;              // of `commits`, labelled is_fix
  int64_t added = 0;
  int64_t deleted = 0;
  int64_t first_time = 0;
  int64_t last_time = 0;
  std::vector<ContributorStats> contributors;  // most commits first
  std::vector<FileStats> files;                // most churn (added + deleted) first
};

// Folds records of one repository into RepoStats. Thread-compatible.
class RepoStatsBuilder {
 public:
  explicit RepoStatsBuilder(std::string repo) { stats_.repo = std::move(repo); }
  // Adds one record. Binary files count a commit but no lines.
  void Add(const fixmine::v1::Record& record);
  // Orders contributors and files and fills the ownership fields; the builder is spent.
  RepoStats Finish();

 private:
  RepoStats stats_;
  std::map<std::string, ContributorStats> contributors_;
  std::map<std::string, FileStats> files_;
};

// `stats` as a JSON-ready Struct: {"repo", "commits", ..., "contributors": [...], "files":
// [...]}, each list cut to its first `top` entries (0: all).
google::protobuf::Struct RepoStatsToStruct(const RepoStats& stats, int top);

// `stats` as the text tables `--output table` prints, lists cut to `top` (0: all).
std::string RepoStatsTable(const RepoStats& stats, int top);

}  // namespace fixmine::client
