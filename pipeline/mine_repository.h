#pragma once
// The mining sequence for one repository, the one place it lives (docs/operations.md "Scaling
// out"): clone or fetch, open, license, the trajectory pre-pass, the walk with curation and
// decontamination, trajectory any_fix and rendering. `fixmined`'s job runner and `fixmine
// extract` both call MineRepository and differ only by their MiningSpec and their MiningSink.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "fixmine/v1/records.pb.h"
#include "fixmine/v1/trajectories.pb.h"
#include "miner/clone.h"
#include "miner/record_builder.h"
#include "miner/trajectory.h"
#include "miner/walk.h"

namespace fixmine::pipeline {

// Default curation policies, as flag values (the same flags in `fixmined` and `fixmine
// extract`: --email-policy, --secrets, --szz, --trajectories).
struct PolicyDefaults {
  std::string_view email_policy;
  std::string_view secrets;
  std::string_view szz;
  std::string_view trajectories;
};
// `fixmined`'s, and those of `fixmine extract --repo-list` (the sharded run gives what the
// server stores).
inline constexpr PolicyDefaults kServerPolicies{"hash", "redact", "fixes", "on"};
// `fixmine extract REPO`'s: git fidelity, comparable with `git log` (e-mails as git has them,
// secrets flagged, no blame, no trajectory pass unless --trajectories-out).
inline constexpr PolicyDefaults kFidelityPolicies{"keep", "flag", "off", "off"};

// What to mine and how (every curation policy is in `record.curation`).
struct MiningSpec {
  // The repository's local path: the repository itself, or for a remote, its bare mirror.
  std::string path;
  // Besides `path`, the folders and files a mining worker may read (pipeline/worker.h): the
  // repository's data kept elsewhere (alternates, linked object folders and packs), as the
  // caller's path check found them. Unused by MineRepository itself.
  std::vector<std::string> read_paths;
  // A remote's URL: cloned into `path` when `path` does not exist. Empty for a local
  // repository.
  std::string url;
  // For a remote whose mirror exists: fetch every ref first.
  bool fetch = false;
  miner::CloneLimits clone_limits;
  // Which commits. `walk.annotate` is the pipeline's own (trajectories, decontamination);
  // `walk.skip` and `walk.cancel` are passed through.
  miner::WalkOptions walk;
  // How records are built and curated (e-mail and secrets policies, bots, SZZ, size caps, the
  // repository's name). `record.curation.license` is replaced by the detected license.
  miner::RecordOptions record;
  // The license to use when detection fails (a store's earlier value, say).
  std::string fallback_license;
  // Find pull-request trajectories (a graph pass before the walk), fill the step records'
  // trajectory fields and hand the trajectories to the sink after the walk.
  bool trajectories = false;
  // Fill each record's labels.fixed_by from the bug_introducing_commits of the records handed
  // over before it (the walk goes newest first, so a fix usually comes before the commit it
  // fixes; a fix committed earlier than its bug, by the committer clocks, is missed). For a
  // sink without a store: a store links both directions itself (storage/record_store.cc).
  bool fixed_by_from_walk = false;
  // Sets a record's contamination (benchmark decontamination); may be empty. Runs on the walk's
  // worker threads right after a record is built, so it must be thread-safe.
  std::function<void(fixmine::v1::Record* record)> decontaminate;
};

// Where the mined output goes. Every method runs on the thread that called MineRepository,
// except Encode (the walk's worker threads).
class MiningSink {
 public:
  virtual ~MiningSink() = default;

  // True when Encode should run on the worker threads for each record.
  virtual bool Encodes() const { return false; }
  // Encodes a finished record (decontaminated, annotated) on a worker thread. Thread-safe.
  virtual absl::Status Encode(const fixmine::v1::Record& record, std::string* encoded) {
    return absl::OkStatus();
  }
  // One record in walk order, with what Encode made of it (empty when the sink does not
  // encode). `stats` are the walk's counters so far. A non-OK status stops the walk.
  virtual absl::Status Put(fixmine::v1::Record&& record, std::string&& encoded,
                           const miner::WalkStats& stats) = 0;
  // The repository opened: the walk is next (MiningResult::walked).
  virtual void Opened() {}
  // Progress of the walk, every few hundred commits (`stats.commits_walked` of the "walk"
  // phase's total).
  virtual void Progress(const miner::WalkStats& stats) {}
  // A phase of the run begins: "clone", "fetch", "trajectories" (the pull-request pass), "walk"
  // (the records), with its total in commits (0 when not known); then "diffs" (each
  // trajectory's combined diff, after the walk), with its total in trajectories.
  virtual void Phase(std::string_view name, int64_t total) {}
  // Units the "trajectories" phase (commits, every 256) or the "diffs" phase (trajectories,
  // every 16) has done so far.
  virtual void PhaseDone(int64_t done) {}
  // The walk ended (whatever its outcome): write what is buffered. Records handed over so far
  // are complete and correct, so they are kept even when the walk failed.
  virtual absl::Status FlushRecords(const miner::WalkStats& stats) = 0;
  // Whether the record `id`, a trajectory step this run did not mine (a store has it from an
  // earlier run), is a fix. A sink without earlier records says false.
  virtual bool EarlierRecordIsFix(const std::string& id) { return false; }
  // A group of finished trajectories (any_fix set, files rendered): one-step trajectories that
  // took their step record's files during the walk, as the walk met them, then the others,
  // oldest merge first. The sink may move from them.
  virtual absl::Status PutTrajectories(std::vector<fixmine::v1::Trajectory>* group) = 0;
  // Something went wrong that does not stop the run (the trajectory pass failed; a
  // trajectory's diff could not be rendered).
  virtual void Warn(const std::string& message) {}
};

// What one run found.
struct MiningResult {
  miner::WalkStats stats;
  // False when the run stopped before the walk began (clone, fetch or open failed).
  bool walked = false;
  // The detected license (or the spec's fallback).
  std::string license;
  // Set when the trajectory pass failed: the records were mined without trajectories.
  std::string trajectory_error;
  miner::TrajectoryStats trajectory_stats;
  // Trajectories handed to the sink, and how many had each step count.
  int64_t trajectories = 0;
  std::map<int64_t, int64_t> trajectories_by_steps;
};

// Mines one repository as `spec` says into `sink` (borrowed), filling `result` (must not be
// null). Order: clone (a remote without its mirror) or fetch (`spec.fetch`); open; license of
// the tip (the single plain revision, or HEAD); trajectories, when asked (a failed pass is a
// warning: the records are still mined, without trajectory fields); the walk, each record
// curated, annotated and decontaminated on the worker threads, then handed to the sink; after
// a successful walk, each trajectory's any_fix (from this run's step records, else
// EarlierRecordIsFix) and its rendered diff, a group at a time. Errors: the clone's or fetch's
// status; NOT_FOUND when `spec.path` is not a repository; the walk's (INVALID_ARGUMENT for a
// bad revision, CANCELLED); the sink's. Records handed to the sink before an error stay.
absl::Status MineRepository(const MiningSpec& spec, MiningSink* sink, MiningResult* result);

}  // namespace fixmine::pipeline
