#pragma once

#include <git2.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "fixmine/v1/records.pb.h"
#include "fixmine/v1/trajectories.pb.h"
#include "miner/record_builder.h"
#include "miner/walk.h"

namespace fixmine::miner {

// What the message of a merge (or a squash-merged commit) says about its pull request.
struct MergeMessage {
  int64_t pr_number = 0;      // 0 when none
  std::string title;          // never empty for a non-empty message
  std::string source_branch;  // empty when none
  // GitHub's synthetic "Merge <sha> into <sha>" (the merge it makes to test a pull request,
  // refs/pull/N/merge, sometimes pushed): no pull request of its own, never a trajectory.
  bool synthetic = false;
  // No body line gave a title, so `title` is the subject ("Merge pull request #N from x/y"):
  // FindTrajectories then titles a pull request's merge by its oldest step's subject.
  bool title_is_subject = false;
};

// True for a git trailer line ("Signed-off-by: x", "PiperOrigin-RevId: 123", "Change-Id: I0"):
// a token with a hyphen, or one of a few one-word trailers (Bug, Test, Closes, Fixes, Cc, Link),
// then ": " and a value. Thread-safe.
bool IsTrailerLine(std::string_view line);

// Parses a merge commit's message: GitHub "Merge pull request #N from owner/branch" (title: the
// first body line that is not a trailer), GitLab "See merge request group/project!N" (title: the
// first body paragraph), "Merge branch 'x' ..." / "Merge remote-tracking branch 'x'" (title: the
// subject), GitHub's synthetic "Merge <sha> into <sha>" (`synthetic`). When no body line
// qualifies the title is the subject. Thread-safe.
MergeMessage ParseMergeMessage(std::string_view message);

// For a squash-merged subject "Title (#N)": N and the title without " (#N)"; nullopt-like
// pr_number 0 when the subject does not end in "(#N)". Thread-safe.
MergeMessage ParseSquashSubject(std::string_view subject);

// Stable trajectory id of (`repo_name`, `commit_hex`, `parent_index`): 24 hex digits of a
// SHA-1 over the three. Thread-safe.
std::string TrajectoryId(const std::string& repo_name, const std::string& commit_hex,
                         int parent_index);

// Where a commit sits in the trajectories.
struct TrajectoryStep {
  std::string trajectory_id;
  int32_t step = 0;
};

// Counters of one FindTrajectories call.
struct TrajectoryStats {
  int64_t merges = 0;                  // merge commits seen (two or more parents)
  int64_t octopus_merges = 0;          // of those, with three or more parents
  int64_t branches_without_steps = 0;  // branches whose range held no new non-merge commit
  int64_t branches_all_nested = 0;     // branches whose every step an earlier merge owns (not kept)
  int64_t squashes = 0;                // squash-merge trajectories
  int64_t nested_steps = 0;            // steps listed by a trajectory but owned by an earlier one
  int64_t skipped = 0;                 // merges that could not be read (counted, not fatal)
  int64_t parents_shed = 0;  // non-first parents past TrajectoryOptions::max_parents, all merges
  int64_t steps_shed = 0;    // steps past TrajectoryOptions::max_steps, all trajectories
  int64_t synthetic_merges = 0;     // GitHub's "Merge <sha> into <sha>" merges (not trajectories)
  std::vector<std::string> errors;  // the first few reasons
};

// The trajectories of a walk and each step commit's place.
struct TrajectorySet {
  // Oldest merge first (the order the walk met them in reverse topological order).
  std::vector<fixmine::v1::Trajectory> trajectories;
  // Step commit (full hex) -> the trajectory that owns it and its step there.
  std::unordered_map<std::string, TrajectoryStep> steps;

  // Fills `record.trajectory_id` / `trajectory_step` when its commit is a step. Thread-safe
  // for concurrent readers.
  void Annotate(fixmine::v1::Record* record) const;
};

// Bounds of the trajectory pass (docs/trajectories.md, "Limits"). The byte budget of a
// trajectory is the records' one, RecordOptions::max_record_bytes (FitFilesBudget). What a limit
// leaves out is counted in TrajectoryStats and marked in `Trajectory.shed`.
struct TrajectoryOptions {
  // Non-first parents of one merge that become trajectories (the first ones, in parent order);
  // the rest are shed. Bounds the work one octopus merge can cause. 0: no limit.
  int max_parents = 64;
  // Steps kept per trajectory (the oldest ones); the newer ones are shed and claim no record.
  // 0: no limit.
  int max_steps = 1000;
  // Asked on the calling thread before each commit of the walk, before each branch it finds
  // the steps of, and before each branch's claims: true stops the pass with CANCELLED.
  // WalkOptions::cancel is checked at the same points (and by the other threads before each
  // branch), so a caller that sets it needs nothing here.
  std::function<bool()> cancelled;
  // Called on the calling thread every 256 commits of the pass with the commits visited so
  // far (of CountWalkCommits' total), for progress. May be empty.
  std::function<void(int64_t commits)> progress;
};

// Finds the trajectories of the commits `walk` selects (its revs/all/hide/since/until; not
// max_commits) in the repository at `path` (docs/trajectories.md):
// - every merge commit's non-first parent k is a branch: its steps are the non-merge commits
//   of `merge^1..merge^k` that are not on the mainline (the first-parent chain of HEAD, or of
//   the first revision's tip), oldest first as `git rev-list --reverse --topo-order` lists
//   them; branches without steps are counted, not stored;
// - a commit that is a step of several branches belongs to the first merge met walking oldest
//   first in topological order (the nearest enclosing merge); the others count it in
//   `nested_steps`; a branch whose every step is owned that way (a back-merge of the mainline
//   into a feature branch) is counted in `branches_all_nested` and not kept;
// - a non-merge commit owned by no merge whose subject ends in "(#N)" is a one-step squash.
// With `with_files`, each trajectory's `files` hold the diff base..tip rendered by `record`'s
// settings, within `record.max_record_bytes` (FitTrajectoryBudget). `options` bound the parents
// and steps per merge. A merge that cannot be read is skipped and counted. Errors: NOT_FOUND
// when `path` is not a repository, INVALID_ARGUMENT for a revision that does not resolve,
// CANCELLED when `walk.cancel` or `options.cancelled` said so (then `out` holds the trajectories
// claimed before). The branches' steps and merge bases are found on `walk.workers` threads (0:
// one per core), each with its own repository; the result is the one of a single thread.
absl::Status FindTrajectories(const std::string& path, const WalkOptions& walk,
                              const RecordOptions& record, bool with_files, TrajectorySet* out,
                              TrajectoryStats* stats, const TrajectoryOptions& options = {});

// Fits `t` into `max_bytes` serialized (RecordOptions::max_record_bytes; 0: no budget): sheds
// file contents, then patches, as records do (FitFilesBudget), then, if still over, every file
// entry; marks what it shed in `t->shed`. Leaves room for that mark, so the result is at most
// `max_bytes` unless the steps and message alone are larger. Thread-compatible.
void FitTrajectoryBudget(size_t max_bytes, fixmine::v1::Trajectory* t);

// Fills `t->files` with the diff base_commit..tip_commit rendered and curated by `record`'s
// settings, exactly as FindTrajectories' `with_files` does, for trajectories found without
// files: callers render and write a few at a time, so a walk's combined diffs are never all in
// memory at once. The result is fitted into `record.max_record_bytes` (FitTrajectoryBudget). `repo`
// is an open repository used by this thread only. Errors: a commit or tree that cannot be read
// (then `t->files` stays empty).
absl::Status FillTrajectoryFiles(git_repository* repo, const RecordOptions& record,
                                 fixmine::v1::Trajectory* t);

}  // namespace fixmine::miner
