#pragma once

// The link pass (docs/github.md, "Links" and "Instances"): matches a repository's stored pull
// requests to its trajectories and records, finds the issues each resolves, labels the records
// (`labels.issues`) and rebuilds the repository's task instances.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "storage/github_store.h"
#include "storage/record_store.h"
#include "storage/trajectory_store.h"

namespace fixmine::github {

// What one link pass did.
struct LinkResult {
  // Pull requests resolving at least one stored issue.
  int64_t linked_pulls = 0;
  // Instances stored (merged, matched to a trajectory, resolving an issue).
  int64_t instances = 0;
  // Records whose labels.issues changed.
  int64_t records_updated = 0;
};

// Runs the link pass for registered repository `repo` tied to `github_repo` ("owner/repo").
// Idempotent: a second pass over unchanged data changes nothing. Errors are the stores'.
// Borrows the stores; runs on the calling thread.
absl::StatusOr<LinkResult> LinkRepository(storage::RecordStore* records,
                                          storage::TrajectoryStore* trajectories,
                                          storage::GithubStore* github, const std::string& repo,
                                          const std::string& github_repo);

// "owner__repo-N".
std::string InstanceId(const std::string& github_repo, int64_t pull_number);

}  // namespace fixmine::github
