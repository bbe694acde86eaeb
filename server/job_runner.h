#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "fixmine/v1/admin.pb.h"
#include "pipeline/worker.h"
#include "server/decontaminator.h"
#include "server/metrics.h"
#include "server/server_config.h"
#include "storage/record_store.h"
#include "storage/trajectory_store.h"

namespace fixmine::server {

// Runs mining jobs on its own worker threads (never on gRPC threads). Each job's git work runs
// in a sandboxed child process (pipeline/worker.h, ServerConfig's worker_* limits) that streams
// records back; the job's thread writes them in atomic batches together with the job's
// progress, and kills the process on cancel or shutdown. Jobs found QUEUED or RUNNING in the store
// at Start (a server that stopped or crashed mid-job) are queued again and resume: commits already
// stored are skipped. Thread-safe.
class JobRunner {
 public:
  // `store` is borrowed and must outlive the runner.
  JobRunner(storage::RecordStore* store, const ServerConfig& config);
  ~JobRunner();

  // Labels every mined record with `decontam` (borrowed; may be null) before its batch is
  // written. Call before Start.
  void SetDecontaminator(Decontaminator* decontam) { decontam_ = decontam; }

  // Stores each mining job's pull-request trajectories in `trajectories` (borrowed; may be
  // null: then none are found) and fills the records' trajectory fields. Call before Start.
  void SetTrajectoryStore(storage::TrajectoryStore* trajectories) { trajectories_ = trajectories; }
  // The store given to SetTrajectoryStore (may be null).
  storage::TrajectoryStore* trajectory_store() const { return trajectories_; }
  // Counts mined commits and job durations in `metrics` (borrowed; may be null). Call before
  // Start.
  void SetMetrics(Metrics* metrics) { metrics_ = metrics; }

  // Runs a job of another kind than mining (Job.kind, e.g. "github_sync") on a worker: gets the
  // job as started, the cancel flag and `update`, which publishes the job's progress fields
  // (live for readers; persisted). Returns the job's outcome: OK (SUCCEEDED), CANCELLED, or an
  // error (FAILED with it). Borrowed state must outlive the runner.
  using KindFn =
      std::function<absl::Status(const fixmine::v1::Job& job, const std::atomic<bool>& cancel,
                                 const std::function<void(const fixmine::v1::Job&)>& update)>;
  // Registers the function of `kind`. Call before Start.
  void SetKindRunner(const std::string& kind, KindFn run) { kinds_[kind] = std::move(run); }
  // Queues a job of a registered `kind` for `repo`; errors as StartJob (INVALID_ARGUMENT for an
  // unknown kind).
  absl::StatusOr<fixmine::v1::Job> StartKindJob(const std::string& repo, const std::string& kind);

  // Called on the job's worker after each mining job that succeeded, with its repository as
  // stored (the GitHub link pass of docs/github.md). Call before Start.
  void SetAfterMine(std::function<void(const fixmine::v1::Repository&)> fn) {
    after_mine_ = std::move(fn);
  }

  // Starts the worker threads and re-queues interrupted jobs, except a job that the last
  // kStuckStopLimit server stops found stuck (Job.stuck_stops, MarkStuck): it is marked FAILED,
  // so a repository that hangs the miner is not resumed at every start.
  absl::Status Start();

  // Consecutive stuck stops after which an interrupted job is not resumed at start.
  static constexpr int kStuckStopLimit = 2;

  // Counts a stop on every running job (Job.stuck_stops, persisted): called when the shutdown
  // bound ran out and the process exits without waiting for them. Thread-safe.
  void MarkStuck();

  // Stops taking jobs and asks running ones to stop, without waiting. Idempotent; Shutdown
  // does this first.
  void RequestStop();

  // Stops taking jobs and interrupts running ones, leaving them RUNNING in the store so the next
  // start resumes them; joins the workers. Idempotent.
  void Shutdown();

  // Reserves `repo` for removal: FAILED_PRECONDITION when a job of it is queued or running (or
  // another removal holds it); otherwise StartJob refuses it until EndRemoval. Serialises
  // RemoveRepository with StartMining, so a job cannot start on a repository being removed
  // (and write its watermark back after the removal).
  absl::Status BeginRemoval(const std::string& repo);
  // Ends a reservation made by BeginRemoval.
  void EndRemoval(const std::string& repo);

  // Creates a job for `request.repo` and queues it. NOT_FOUND for an unknown repository,
  // FAILED_PRECONDITION when a job of that repository is queued or running or the repository is
  // being removed, UNAVAILABLE while shutting down.
  absl::StatusOr<fixmine::v1::Job> StartJob(const fixmine::v1::StartMiningRequest& request);
  // The same for a job of `kind` (empty: mining).
  absl::StatusOr<fixmine::v1::Job> StartJob(const fixmine::v1::StartMiningRequest& request,
                                            const std::string& kind);

  // The job's current state (live for active jobs). NOT_FOUND when unknown.
  absl::StatusOr<fixmine::v1::Job> GetJob(const std::string& id);

  // Asks a job to stop; returns its state. An ended job is returned unchanged.
  absl::StatusOr<fixmine::v1::Job> CancelJob(const std::string& id);

  // All jobs, newest first, live state for active ones; only those of `repo` when not empty.
  absl::StatusOr<std::vector<fixmine::v1::Job>> ListJobs(const std::string& repo);

  // True while a job of `repo` is queued or running.
  bool RepoBusy(const std::string& repo);

  // Number of queued or running jobs.
  int ActiveJobs();

 private:
  struct Active {
    std::mutex mu;
    fixmine::v1::Job job;
    std::atomic<bool> cancel{false};
    std::atomic<bool> user_cancelled{false};
    // False when the job's final state could not be written to the store (a full disk): the
    // store still says RUNNING, so the ended job is kept in `unpersisted_` for readers.
    bool final_persisted = true;
  };

  class JobSink;  // the job's pipeline::MiningSink (job_runner.cc)

  void Work();
  // Loads the job's repository and spec, runs the mining pipeline with a JobSink, persists the
  // final state.
  void Run(const std::shared_ptr<Active>& active);
  // Runs a job of a registered kind (SetKindRunner).
  void RunKind(const std::shared_ptr<Active>& active, const KindFn& fn);
  void Finish(const std::shared_ptr<Active>& active);
  // Records how the job's worker ended and its sandbox in the job, the metrics and the log.
  void NoteWorker(const std::shared_ptr<Active>& active, const pipeline::WorkerRun& run);
  // Logs the end of a job run and counts it in the metrics; `state` as in Metrics::ObserveJob.
  void LogJobEnd(const fixmine::v1::Job& job, const std::string& state,
                 std::chrono::steady_clock::time_point start);

  storage::RecordStore* store_;
  Decontaminator* decontam_ = nullptr;
  storage::TrajectoryStore* trajectories_ = nullptr;
  Metrics* metrics_ = nullptr;
  ServerConfig config_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Active>> queue_;
  std::map<std::string, std::shared_ptr<Active>> active_;  // by job id
  // Ended jobs whose final state the store refused (see Active::final_persisted), by job id.
  // The store's RUNNING copy makes the next server start resume them.
  std::map<std::string, fixmine::v1::Job> unpersisted_;
  std::vector<std::thread> workers_;
  // Repositories reserved by BeginRemoval.
  std::set<std::string> removing_;
  // Functions of job kinds other than mining, by kind (set before Start).
  std::map<std::string, KindFn> kinds_;
  std::function<void(const fixmine::v1::Repository&)> after_mine_;  // set before Start
  bool stopping_ = false;
  std::atomic<bool> shutdown_{false};
  uint64_t counter_ = 0;
};

}  // namespace fixmine::server
