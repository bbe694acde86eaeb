#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "fixmine/v1/records.pb.h"
#include "miner/record_builder.h"

namespace fixmine::miner {

// Which commits to walk.
struct WalkOptions {
  // Revisions to start from ("main", a hex id, "v1.0..v2.0", "^old"); empty means HEAD. A
  // revision with a glob character ('*', '?', '[') is a ref pattern ("refs/pull/*/head"):
  // every ref it matches is a start (the only way to walk hidden refs such as refs/pull/*).
  std::vector<std::string> revs;
  // Walk every branch (refs/heads/*, refs/remotes/*) and, with `tags`, every tag
  // (refs/tags/*), plus HEAD. Hidden refs (refs/pull/*, refs/merge-requests/*, refs/changes/*,
  // refs/notes/*, refs/stash, ...) are never walked this way.
  bool all = false;
  bool tags = true;
  // Commits reachable from these full hex ids are left out (re-mining from a watermark).
  std::vector<std::string> hide;
  // Keep only commits whose committer time is >= since / <= until (Unix seconds).
  std::optional<int64_t> since;
  std::optional<int64_t> until;
  // Stop after this many records (0: no limit).
  int64_t max_commits = 0;
  // Worker threads building records (each opens its own repository); 0 means one per core.
  int workers = 0;
  // Commits this returns true for are not built (already stored); called on the walking thread.
  std::function<bool(std::string_view commit_hex)> skip;
  // Set to true from any thread to stop the walk; Mine then returns CANCELLED.
  const std::atomic<bool>* cancel = nullptr;
  // Called on the worker thread that built a record, right after building it and before the
  // encoder (fills `trajectory_id` / `trajectory_step`, say). Must be thread-safe.
  std::function<void(fixmine::v1::Record* record)> annotate;
};

// Counters of one walk. `errors` keeps the first few messages of skipped commits.
struct WalkStats {
  int64_t commits_walked = 0;     // commits the walk visited (merges included)
  int64_t merges_skipped = 0;     // merge commits without a conflict resolution (no record)
  int64_t merge_resolutions = 0;  // merge commits that got a merge_resolution record
  int64_t records = 0;            // records handed to the sink
  int64_t files = 0;              // files in those records
  int64_t commits_skipped = 0;    // commits that could not be built (bad objects), not fatal
  int64_t already_present = 0;    // commits `skip` said were stored already
  int64_t unavailable_files = 0;  // files whose blobs could not be read
  std::vector<std::string> errors;
  // Set when the walk itself stopped early (a commit it needed could not be read).
  std::string walk_error;
  // Ids of the commits each start ref resolved to (the new watermark after a complete walk).
  std::vector<std::string> tips;
};

// Receives records in walk order, on the calling thread. A non-OK status stops the walk and is
// returned by Mine.
using RecordSink = std::function<absl::Status(fixmine::v1::Record&& record)>;

// Optional work run on the worker thread that built `record`, right after building it (encoding
// it, say), so that the calling thread is left with writing. Must be thread-safe. A non-OK
// status stops the walk like a sink error.
using RecordEncoder =
    std::function<absl::Status(const fixmine::v1::Record& record, std::string* encoded)>;

// Receives records in walk order with what the encoder made of them, on the calling thread.
using EncodedRecordSink =
    std::function<absl::Status(fixmine::v1::Record&& record, std::string&& encoded)>;

// Called after each batch of commits, on the calling thread.
using ProgressFn = std::function<void(const WalkStats& stats)>;

// Pushes the starts of `walk` onto `revwalk` (its revs, or every branch and tag plus HEAD when
// `walk.all`, or HEAD) and hides `walk.hide`; appends the start commits to `tips`. Sets `*empty`
// (may be null) when the repository has no commits (an unborn HEAD). With `walk.all`, a ref whose
// object cannot be read is passed over and named in `*broken` (may be null). INVALID_ARGUMENT
// for a revision that does not resolve or a ref pattern that matches no ref. Handles are borrowed.
absl::Status PushWalkStarts(git_repository* repo, git_revwalk* revwalk, const WalkOptions& walk,
                            std::vector<std::string>* tips, bool* empty,
                            std::string* broken = nullptr);

// The number of commits a walk with `walk` visits (WalkStats::commits_walked at its end when
// `walk.max_commits` is 0: merges, commits outside since/until and commits already stored
// included): the total for progress. A revision walk that reads commits only (no trees or
// blobs). Errors as PushWalkStarts; NOT_FOUND when `path` is not a repository; CANCELLED when
// `walk.cancel` was set.
absl::StatusOr<int64_t> CountWalkCommits(const std::string& path, const WalkOptions& walk);

// Walks the repository at `path` newest first (committer time, like `git log`) and hands one
// record per non-merge commit, and one per merge whose result differs from every parent in
// some file (merge_resolution, miner/combined_diff.h), to `sink`, in walk order. Records get
// bug-introducing commits as `record.szz` says (miner/szz.h). Records are built by `walk.workers`
// threads, each with its own repository handle. A commit whose objects cannot be read is skipped
// and counted in `stats` (not an error). Errors: NOT_FOUND when `path` is not a repository,
// INVALID_ARGUMENT for a revision that does not resolve, CANCELLED when `walk.cancel` was set, or
// the sink's status. `stats` may be null.
absl::Status Mine(const std::string& path, const WalkOptions& walk, const RecordOptions& record,
                  const RecordSink& sink, WalkStats* stats, const ProgressFn& progress = {});

// As Mine, and `encode` (when set) runs on the worker threads; `sink` gets its output.
absl::Status MineEncoded(const std::string& path, const WalkOptions& walk,
                         const RecordOptions& record, const RecordEncoder& encode,
                         const EncodedRecordSink& sink, WalkStats* stats,
                         const ProgressFn& progress = {});

}  // namespace fixmine::miner
