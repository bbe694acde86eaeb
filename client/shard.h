#pragma once
// Stable assignment of repositories to the shards of `fixmine extract --repo-list`
// (docs/operations.md "Scaling out"). Pure functions; thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace fixmine::client {

// FNV-1a, 64 bits (offset basis 0xcbf29ce484222325, prime 0x100000001b3), over the bytes of
// `text`.
uint64_t Fnv1a64(std::string_view text);

// The shard (0 to count-1) of repository `repo` (a list line's source: its path or URL):
// Fnv1a64(repo) mod count. `count` > 0.
uint64_t ShardOf(std::string_view repo, uint64_t count);

// Reads a repository list: one repository per line (local path or URL), surrounding spaces and
// tabs and a trailing '\r' removed; blank lines and lines starting with '#' are ignored.
// INVALID_ARGUMENT naming the file when it cannot be read.
absl::StatusOr<std::vector<std::string>> ReadRepoList(const std::string& path);

// One repository of a list: a line "SOURCE" or "SOURCE NAME".
struct RepoEntry {
  std::string source;  // local path or URL; what ShardOf hashes
  std::string name;    // the records' `repo`: NAME, or pipeline::DefaultRepositoryName(source)
};

// Splits each line of a list read by ReadRepoList into source and name: a line with white
// space in it is "SOURCE NAME", split at its last run of white space (so a path holding a
// space needs a name). INVALID_ARGUMENT naming the lines when a name is invalid
// (pipeline::ValidateRepositoryName), when no name can be derived, or when two different
// sources get the same name (give one of them a NAME), so that no two repositories share
// record ids. A source listed twice is kept once.
absl::StatusOr<std::vector<RepoEntry>> ResolveRepoList(const std::vector<std::string>& lines);

}  // namespace fixmine::client

namespace fixmine::client {

// The task index of an array job: `flag` when it is 0 or more, else $SLURM_ARRAY_TASK_ID (a
// Slurm job array), else $JOB_COMPLETION_INDEX (a Kubernetes Indexed Job). INVALID_ARGUMENT
// when none is set or the variable is not a non-negative number.
absl::StatusOr<int64_t> ResolveShardIndex(int64_t flag);

}  // namespace fixmine::client
