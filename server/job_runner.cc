#include "server/job_runner.h"

#include <malloc.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status.h"
#include "fmt/format.h"
#include "miner/record_builder.h"
#include "miner/walk.h"
#include "pipeline/mine_repository.h"
#include "pipeline/worker.h"
#include "server/path_policy.h"

namespace fixmine::server {
namespace {

using fixmine::v1::Job;

bool Ended(fixmine::v1::JobState s) {
  return s == fixmine::v1::SUCCEEDED || s == fixmine::v1::FAILED || s == fixmine::v1::CANCELLED;
}

int64_t Now() { return absl::ToUnixSeconds(absl::Now()); }

// A mining job's write batch holds at most this many bytes of records (besides --batch-records):
// the batch, the store's copies and the serialized batch each hold about this much at once.
// 4 MiB would take about 50 MiB off the server's peak RSS on libgit2, but the batch boundaries
// decide which of several equally similar records a near-duplicate points at (the store's
// Dedup looks at the batch's own records first), so a smaller batch changes stored records.
constexpr size_t kBatchBytes = size_t{16} << 20;

// After every this many bytes of records or trajectories written, the job hands the heap's
// free pages back to the system (malloc_trim): records are built on the walk's worker threads
// and freed on the job's, and the freed pages otherwise stay with the arenas and add to the
// RSS. Once per batch took the system time from 3.7 to 9.5 s on libgit2; once per 64 MiB is
// about 20 calls.
constexpr size_t kTrimBytes = size_t{64} << 20;

// Test-only (tests/crash/crash_cycles_test.cc): when set, a mining job sleeps this many
// milliseconds after each batch it writes, so that a job outlasts the kills aimed at it however
// fast the machine mines. Unset (the normal case): no pause.
constexpr char kFlushPauseVariable[] = "FIXMINE_TEST_FLUSH_PAUSE_MS";

std::chrono::milliseconds FlushPause() {
  static const std::chrono::milliseconds pause = [] {
    const char* v = std::getenv(kFlushPauseVariable);
    return std::chrono::milliseconds(v != nullptr ? std::max(0, std::atoi(v)) : 0);
  }();
  return pause;
}

// A failed job's error text: the status code's name first, so a client tells a full disk
// (RESOURCE_EXHAUSTED) from a bad repository (NOT_FOUND) without parsing prose.
std::string JobError(const absl::Status& st) {
  return absl::StrCat(absl::StatusCodeToString(st.code()), ": ", st.message());
}

// The record settings of `config` for the repository `name`: the server's curation policies
// and limits. The license is the pipeline's to fill.
miner::RecordOptions MiningRecordOptions(const ServerConfig& config, const std::string& name) {
  miner::RecordOptions rec;
  rec.repo_name = name;
  rec.curation = config.curation;
  rec.szz.mode = config.szz;
  rec.max_blob_bytes = static_cast<size_t>(std::max<int64_t>(0, config.max_blob_bytes));
  rec.max_message_bytes = static_cast<size_t>(std::max<int64_t>(0, config.max_message_bytes));
  rec.max_record_bytes = static_cast<size_t>(std::max<int64_t>(0, config.max_record_bytes));
  return rec;
}

// The mining worker's limits and sandbox as the server's flags set them.
pipeline::WorkerOptions MiningWorkerOptions(const ServerConfig& config) {
  pipeline::WorkerOptions w;
  w.limits.cpu_seconds = config.worker_cpu_seconds;
  w.limits.address_space_bytes = config.worker_max_memory_mb << 20;
  w.limits.open_files = config.worker_max_open_files;
  w.require_landlock = config.worker_require_landlock;
  return w;
}

// The label of WorkerRun::end in fixmine_worker_ends_total.
std::string WorkerEndLabel(const std::string& end) {
  if (end == "exited") return "exited";
  if (end == "CPU-time limit") return "cpu_limit";
  if (end == "address-space limit") return "memory_limit";
  if (end == "killed after the stop grace") return "stop_grace";
  if (end.rfind("killed by signal", 0) == 0) return "signal";
  return "other";
}

}  // namespace

JobRunner::JobRunner(storage::RecordStore* store, const ServerConfig& config)
    : store_(store), config_(config) {}

JobRunner::~JobRunner() { Shutdown(); }

absl::Status JobRunner::Start() {
  if (pipeline::LandlockAbi() == 0) {
    if (config_.worker_require_landlock) {
      return absl::FailedPreconditionError(
          "the kernel has no Landlock, and --worker-require-landlock is set: mining workers "
          "cannot be confined to their repository (enable Landlock: CONFIG_SECURITY_LANDLOCK "
          "and lsm=landlock,...)");
    }
    Log(LogLevel::kWarn,
        "the kernel has no Landlock: mining workers run with resource limits but may read "
        "outside their repository (docs/security.md, \"The mining worker\"); "
        "--worker-require-landlock refuses this");
  }
  auto jobs = store_->ListJobs();
  if (!jobs.ok()) return jobs.status();
  {
    std::lock_guard<std::mutex> l(mu_);
    // Oldest first, so interrupted jobs keep their order.
    for (auto it = jobs->rbegin(); it != jobs->rend(); ++it) {
      // Decontamination re-checks are not mining jobs; the Decontaminator restarts its own.
      if (Ended(it->state()) || (!it->kind().empty() && kinds_.count(it->kind()) == 0)) continue;
      if (it->state() == fixmine::v1::CANCELLING) {
        // Cancelled, then the server stopped before the worker did: the cancel stands.
        Job cancelled = *it;
        cancelled.set_state(fixmine::v1::CANCELLED);
        cancelled.set_finished_at(Now());
        if (absl::Status st = store_->PutJob(cancelled); !st.ok()) return st;
        continue;
      }
      if (it->stuck_stops() >= kStuckStopLimit) {
        // The job kept the last server stops waiting past their bound (stuck in libgit2 on
        // this repository) twice in a row: resuming would get stuck again.
        Job failed = *it;
        failed.set_state(fixmine::v1::FAILED);
        failed.set_finished_at(Now());
        failed.set_error(absl::StrCat(
            "ABORTED: the job was still busy when the server's last ", it->stuck_stops(),
            " stops came (its mining worker had to be killed, or the stop ran past "
            "--shutdown-timeout), so it is not resumed automatically: the repository may be "
            "damaged; check it (git fsck) and run `fixmine mine ",
            it->repo(), "` to retry"));
        if (absl::Status st = store_->PutJob(failed); !st.ok()) return st;
        Log(LogLevel::kWarn, "interrupted job not resumed: " + failed.error(),
            {.job = failed.id(), .repository = failed.repo()});
        continue;
      }
      auto a = std::make_shared<Active>();
      a->job = *it;
      a->job.set_state(fixmine::v1::QUEUED);
      active_[a->job.id()] = a;
      queue_.push_back(a);
    }
  }
  int n = std::max(1, config_.job_workers);
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { Work(); });
  cv_.notify_all();
  return absl::OkStatus();
}

void JobRunner::RequestStop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
    shutdown_ = true;
    for (auto& [id, a] : active_) a->cancel = true;
  }
  cv_.notify_all();
}

void JobRunner::Shutdown() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_ && workers_.empty()) return;
  }
  RequestStop();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

absl::StatusOr<Job> JobRunner::StartKindJob(const std::string& repo, const std::string& kind) {
  if (kinds_.count(kind) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("unknown job kind ", QuoteInput(kind)));
  }
  fixmine::v1::StartMiningRequest req;
  req.set_repo(repo);
  return StartJob(req, kind);
}

absl::StatusOr<Job> JobRunner::StartJob(const fixmine::v1::StartMiningRequest& req) {
  return StartJob(req, "");
}

absl::StatusOr<Job> JobRunner::StartJob(const fixmine::v1::StartMiningRequest& req,
                                        const std::string& kind) {
  if (req.repo().empty()) {
    return absl::InvalidArgumentError("repo is empty; name a registered repository");
  }
  if (req.max_commits() < 0) {
    return absl::InvalidArgumentError("max_commits is negative; use 0 for no limit");
  }
  if (req.refs() != "" && req.refs() != "default" && req.refs() != "branches" &&
      req.refs() != "all") {
    return absl::InvalidArgumentError(
        absl::StrCat("refs ", QuoteInput(req.refs()), " is not one of default, branches, all"));
  }
  if ((req.refs() == "branches" || req.refs() == "all") && req.revs_size() > 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("refs \"", req.refs(),
                     "\" and revs were both given; pass one (a revs glob such as "
                     "\"refs/heads/*\" selects refs too)"));
  }
  std::lock_guard<std::mutex> l(mu_);
  if (stopping_) return absl::UnavailableError("server is shutting down");
  if (removing_.count(req.repo()) > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("repository ", QuoteInput(req.repo()),
                     " is being removed; add it again once the removal ends"));
  }
  // Read under mu_: a removal reserves the repository under mu_ too, so the repository either
  // still exists with no removal started, or this job is refused.
  auto repo = store_->GetRepository(req.repo());
  if (!repo.ok()) return repo.status();
  if (config_.max_jobs > 0 && static_cast<int>(active_.size()) >= config_.max_jobs) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the server has ", active_.size(), " jobs queued or running, its limit (--max-jobs ",
        config_.max_jobs, "); wait for one to end"));
  }
  for (auto& [id, a] : active_) {
    std::lock_guard<std::mutex> al(a->mu);
    if (a->job.repo() == req.repo()) {
      return absl::FailedPreconditionError(
          absl::StrCat("repository ", QuoteInput(req.repo()), " already has job ", id, " ",
                       fixmine::v1::JobState_Name(a->job.state()), "; wait for it or cancel it"));
    }
  }
  auto a = std::make_shared<Active>();
  Job& job = a->job;
  job.set_id(fmt::format("job-{:010d}-{:04d}", Now(), ++counter_ % 10000));
  job.set_repo(req.repo());
  job.set_state(fixmine::v1::QUEUED);
  job.set_created_at(Now());
  for (const auto& r : req.revs()) job.add_revs(r);
  if (req.revs_size() == 0) job.set_refs(req.refs().empty() ? "default" : req.refs());
  job.set_max_commits(req.max_commits());
  job.set_fetch(req.fetch());
  job.set_kind(kind);
  absl::Status st = store_->PutJob(job);
  if (!st.ok()) return st;
  active_[job.id()] = a;
  queue_.push_back(a);
  cv_.notify_one();
  return job;
}

absl::StatusOr<Job> JobRunner::GetJob(const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError("id is empty; pass a job id");
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = active_.find(id);
    if (it != active_.end()) {
      std::lock_guard<std::mutex> al(it->second->mu);
      return it->second->job;
    }
    auto u = unpersisted_.find(id);
    if (u != unpersisted_.end()) return u->second;
  }
  return store_->GetJob(id);
}

absl::StatusOr<Job> JobRunner::CancelJob(const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError("id is empty; pass a job id");
  std::shared_ptr<Active> a;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = active_.find(id);
    if (it == active_.end()) return store_->GetJob(id);
    a = it->second;
    a->user_cancelled = true;
    a->cancel = true;
    // A queued job never reaches a worker's walk: end it here.
    for (auto q = queue_.begin(); q != queue_.end(); ++q) {
      if (q->get() == a.get()) {
        queue_.erase(q);
        {
          std::lock_guard<std::mutex> al(a->mu);
          a->job.set_state(fixmine::v1::CANCELLED);
          a->job.set_finished_at(Now());
          (void)store_->PutJob(a->job);
        }
        active_.erase(id);
        std::lock_guard<std::mutex> al(a->mu);
        return a->job;
      }
    }
  }
  // Running: CANCELLING until the worker has stopped (it checks the flag between commits);
  // wait briefly, so the reply usually shows the outcome.
  {
    std::lock_guard<std::mutex> al(a->mu);
    if (!Ended(a->job.state())) a->job.set_state(fixmine::v1::CANCELLING);
  }
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard<std::mutex> al(a->mu);
      if (Ended(a->job.state())) return a->job;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::lock_guard<std::mutex> al(a->mu);
  return a->job;
}

absl::StatusOr<std::vector<Job>> JobRunner::ListJobs(const std::string& repo) {
  auto jobs = store_->ListJobs();
  if (!jobs.ok()) return jobs.status();
  std::vector<Job> out;
  std::lock_guard<std::mutex> l(mu_);
  for (auto& j : *jobs) {
    if (!repo.empty() && j.repo() != repo) continue;
    auto it = active_.find(j.id());
    if (it != active_.end()) {
      std::lock_guard<std::mutex> al(it->second->mu);
      out.push_back(it->second->job);
    } else if (auto u = unpersisted_.find(j.id()); u != unpersisted_.end()) {
      out.push_back(u->second);
    } else {
      out.push_back(std::move(j));
    }
  }
  return out;
}

void JobRunner::MarkStuck() {
  std::vector<Job> stuck;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [id, a] : active_) {
      std::lock_guard<std::mutex> al(a->mu);
      if (a->job.state() != fixmine::v1::RUNNING) continue;
      Job j = a->job;
      j.set_stuck_stops(j.stuck_stops() + 1);
      stuck.push_back(std::move(j));
    }
  }
  for (const Job& j : stuck) {
    Log(LogLevel::kWarn,
        fmt::format("job did not stop within the shutdown bound ({} time(s) in a row)",
                    j.stuck_stops()),
        {.job = j.id(), .repository = j.repo()});
    (void)store_->PutJob(j);
  }
}

absl::Status JobRunner::BeginRemoval(const std::string& repo) {
  std::lock_guard<std::mutex> l(mu_);
  if (removing_.count(repo) > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("repository ", QuoteInput(repo), " is already being removed"));
  }
  for (auto& [id, a] : active_) {
    std::lock_guard<std::mutex> al(a->mu);
    // An ended job stays in active_ until its worker's Finish; it holds nothing any more.
    if (a->job.repo() == repo && !Ended(a->job.state())) {
      return absl::FailedPreconditionError(
          absl::StrCat("repository ", QuoteInput(repo), " has job ", id, " ",
                       fixmine::v1::JobState_Name(a->job.state()),
                       "; cancel it first (fixmine job cancel ", id, ")"));
    }
  }
  removing_.insert(repo);
  return absl::OkStatus();
}

void JobRunner::EndRemoval(const std::string& repo) {
  std::lock_guard<std::mutex> l(mu_);
  removing_.erase(repo);
}

bool JobRunner::RepoBusy(const std::string& repo) {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [id, a] : active_) {
    std::lock_guard<std::mutex> al(a->mu);
    if (a->job.repo() == repo) return true;
  }
  return false;
}

int JobRunner::ActiveJobs() {
  std::lock_guard<std::mutex> l(mu_);
  return static_cast<int>(active_.size());
}

void JobRunner::Work() {
  for (;;) {
    std::shared_ptr<Active> a;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      a = queue_.front();
      queue_.pop_front();
    }
    Run(a);
    Finish(a);
  }
}

void JobRunner::Finish(const std::shared_ptr<Active>& a) {
  std::lock_guard<std::mutex> l(mu_);
  std::lock_guard<std::mutex> al(a->mu);
  if (Ended(a->job.state())) {
    active_.erase(a->job.id());
    if (!a->final_persisted) unpersisted_[a->job.id()] = a->job;
  }
}

// The job's side of the mining pipeline: records go to the store in atomic batches together
// with the job's progress, trajectories to the trajectory store.
class JobRunner::JobSink : public pipeline::MiningSink {
 public:
  JobSink(JobRunner* runner, const std::shared_ptr<Active>& a, const Job& job)
      : runner_(runner), a_(a), job_id_(job.id()), written_(job.records_written()) {}

  // The job with the walk's counters `s` and the records written so far.
  Job Snapshot(const miner::WalkStats& s) {
    std::lock_guard<std::mutex> al(a_->mu);
    a_->job.set_commits_walked(s.commits_walked);
    a_->job.set_merges_skipped(s.merges_skipped);
    a_->job.set_commits_skipped(s.commits_skipped);
    a_->job.set_already_present(s.already_present);
    a_->job.set_unavailable_files(s.unavailable_files);
    a_->job.clear_skipped_errors();
    for (const auto& e : s.errors) a_->job.add_skipped_errors(e);
    a_->job.set_records_written(written_);
    if (a_->job.phase() == "walk") {
      a_->job.set_phase_done(s.commits_walked);
      a_->job.set_phase_seconds(PhaseSeconds());
    }
    return a_->job;
  }

  void Phase(std::string_view name, int64_t total) override {
    std::lock_guard<std::mutex> al(a_->mu);
    phase_start_ = std::chrono::steady_clock::now();
    a_->job.set_phase(std::string(name));
    a_->job.set_phase_total(total);
    a_->job.set_phase_done(0);
    a_->job.set_phase_seconds(0);
  }

  void PhaseDone(int64_t done) override {
    std::lock_guard<std::mutex> al(a_->mu);
    a_->job.set_phase_done(done);
    a_->job.set_phase_seconds(PhaseSeconds());
  }

  absl::Status Put(fixmine::v1::Record&& r, std::string&&, const miner::WalkStats& stats) override {
    batch_bytes_ += r.ByteSizeLong();
    batch_.push_back(std::move(r));
    if (batch_.size() >= static_cast<size_t>(std::max(1, runner_->config_.batch_records)) ||
        batch_bytes_ > kBatchBytes) {
      return FlushRecords(stats);
    }
    return absl::OkStatus();
  }

  void Progress(const miner::WalkStats& stats) override { Snapshot(stats); }

  absl::Status FlushRecords(const miner::WalkStats& stats) override {
    if (batch_.empty()) return absl::OkStatus();
    Job progress = Snapshot(stats);
    auto n = runner_->store_->WriteBatch(batch_, progress, nullptr);
    if (!n.ok()) return n.status();
    written_ += *n;
    if (runner_->metrics_ != nullptr) runner_->metrics_->AddCommitsMined(*n);
    {
      std::lock_guard<std::mutex> al(a_->mu);
      a_->job.set_records_written(written_);
    }
    batch_.clear();
    MaybeTrim(batch_bytes_);
    batch_bytes_ = 0;
    if (FlushPause().count() > 0) std::this_thread::sleep_for(FlushPause());
    return absl::OkStatus();
  }

  bool EarlierRecordIsFix(const std::string& id) override {
    auto r = runner_->store_->GetRecord(id);  // stored by an earlier job or attempt
    return r.ok() && r->labels().is_fix();
  }

  // The puts are idempotent (keyed by id), so a crash before the job's final state only means
  // the resumed job writes the same trajectories again.
  absl::Status PutTrajectories(std::vector<fixmine::v1::Trajectory>* group) override {
    size_t bytes = 0;
    for (const auto& t : *group) bytes += t.ByteSizeLong();
    absl::Status st = runner_->trajectories_->Put(*group);
    MaybeTrim(bytes);
    return st;
  }

  void Warn(const std::string& message) override {
    Log(LogLevel::kWarn, absl::StrCat("job ", job_id_, ": ", message));
  }

 private:
  void MaybeTrim(size_t written_bytes) {
    untrimmed_bytes_ += written_bytes;
    if (untrimmed_bytes_ < kTrimBytes) return;
    malloc_trim(0);
    untrimmed_bytes_ = 0;
  }

  double PhaseSeconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - phase_start_).count();
  }

  JobRunner* runner_;
  std::chrono::steady_clock::time_point phase_start_ = std::chrono::steady_clock::now();
  std::shared_ptr<Active> a_;
  const std::string job_id_;
  int64_t written_;
  std::vector<fixmine::v1::Record> batch_;
  size_t batch_bytes_ = 0;
  size_t untrimmed_bytes_ = 0;
};

void JobRunner::RunKind(const std::shared_ptr<Active>& a, const KindFn& fn) {
  auto run_start = std::chrono::steady_clock::now();
  Job job;
  {
    std::lock_guard<std::mutex> al(a->mu);
    a->job.set_state(fixmine::v1::RUNNING);
    a->job.set_started_at(Now());
    a->job.set_attempts(a->job.attempts() + 1);
    job = a->job;
  }
  (void)store_->PutJob(job);
  Log(LogLevel::kInfo, fmt::format("{} job started (attempt {})", job.kind(), job.attempts()),
      {.job = job.id(), .repository = job.repo()});
  auto update = [&](const Job& progress) {
    std::lock_guard<std::mutex> al(a->mu);
    a->job = progress;
    (void)store_->PutJob(a->job);
  };
  absl::Status st = fn(job, a->cancel, update);
  std::lock_guard<std::mutex> al(a->mu);
  a->job.clear_waiting();
  if (st.code() == absl::StatusCode::kCancelled && !a->user_cancelled && shutdown_) {
    // Interrupted by shutdown: stays RUNNING and resumes (where the kind saved its place).
    a->job.set_stuck_stops(0);
    (void)store_->PutJob(a->job);
    LogJobEnd(a->job, "INTERRUPTED", run_start);
    return;
  }
  a->job.set_finished_at(Now());
  if (st.ok()) {
    a->job.set_state(fixmine::v1::SUCCEEDED);
  } else if (st.code() == absl::StatusCode::kCancelled) {
    a->job.set_state(fixmine::v1::CANCELLED);
  } else {
    a->job.set_state(fixmine::v1::FAILED);
    a->job.set_error(JobError(st));
  }
  a->final_persisted = store_->PutJob(a->job).ok();
  LogJobEnd(a->job, fixmine::v1::JobState_Name(a->job.state()), run_start);
}

void JobRunner::Run(const std::shared_ptr<Active>& a) {
  {
    std::string kind;
    {
      std::lock_guard<std::mutex> al(a->mu);
      kind = a->job.kind();
    }
    if (auto it = kinds_.find(kind); !kind.empty() && it != kinds_.end()) {
      return RunKind(a, it->second);
    }
  }
  auto run_start = std::chrono::steady_clock::now();
  Job job;
  {
    std::lock_guard<std::mutex> al(a->mu);
    // A cancel that came between the queue and here stays visible.
    a->job.set_state(a->user_cancelled ? fixmine::v1::CANCELLING : fixmine::v1::RUNNING);
    a->job.set_started_at(Now());
    a->job.set_attempts(a->job.attempts() + 1);
    job = a->job;
  }
  // `stuck`: the job's worker did not stop within its grace and was killed.
  auto fail = [&](const absl::Status& st, bool stuck = false) {
    std::lock_guard<std::mutex> al(a->mu);
    if (st.code() == absl::StatusCode::kCancelled && !a->user_cancelled && shutdown_) {
      // A clone or fetch stopped by the shutdown: resumes at the next start; a clean stop
      // unless its worker had to be killed.
      a->job.set_stuck_stops(stuck ? a->job.stuck_stops() + 1 : 0);
      (void)store_->PutJob(a->job);
      LogJobEnd(a->job, "INTERRUPTED", run_start);
      return;
    }
    if (st.code() == absl::StatusCode::kCancelled) {
      a->job.set_state(fixmine::v1::CANCELLED);
      a->job.set_finished_at(Now());
      a->final_persisted = store_->PutJob(a->job).ok();
      LogJobEnd(a->job, "CANCELLED", run_start);
      return;
    }
    a->job.set_state(fixmine::v1::FAILED);
    a->job.set_error(JobError(st));
    a->job.set_finished_at(Now());
    a->final_persisted = store_->PutJob(a->job).ok();
    LogJobEnd(a->job, "FAILED", run_start);
  };
  if (absl::Status st = store_->PutJob(job); !st.ok()) return fail(st);
  Log(LogLevel::kInfo, fmt::format("mining job started (attempt {})", job.attempts()),
      {.job = job.id(), .repository = job.repo()});

  // Load: the repository and the job's spec.
  auto repo = store_->GetRepository(job.repo());
  if (!repo.ok()) return fail(repo.status());
  pipeline::MiningSpec spec;
  if (!repo->remote()) {
    // Checked again at each job: the repository may have changed since it was registered. Its
    // data outside its folder (alternates, linked object folders) as checked here is what the
    // worker's Landlock ruleset lets it read besides the folder.
    if (absl::Status st =
            CheckRepositoryContained(repo->local_path(), config_.allowed_roots, &spec.read_paths);
        !st.ok()) {
      return fail(st);
    }
  }
  spec.path = repo->local_path();
  if (repo->remote()) spec.url = repo->source();
  spec.fetch = job.fetch();
  spec.clone_limits = {.max_bytes = config_.max_clone_bytes,
                       .timeout_seconds = config_.clone_timeout_seconds,
                       .cancel = &a->cancel};
  miner::WalkOptions& walk = spec.walk;
  for (const auto& r : job.revs()) walk.revs.push_back(r);
  // No revs: the job's ref selection (docs/operations.md "Which refs"); a job stored before
  // selections existed has none and walks the default branch.
  walk.all = walk.revs.empty() && (job.refs() == "branches" || job.refs() == "all");
  walk.tags = job.refs() == "all";
  for (const auto& w : repo->watermarks()) walk.hide.push_back(w);
  walk.max_commits = job.max_commits();
  walk.workers = config_.mine_threads;
  walk.cancel = &a->cancel;
  const std::string repo_name = repo->name();
  walk.skip = [&](std::string_view hex) {
    auto has = store_->HasRecord(miner::RecordId(repo_name, std::string(hex)));
    return has.ok() && *has;
  };
  spec.record = MiningRecordOptions(config_, repo_name);
  spec.fallback_license = repo->license();
  // --trajectories off: no pass, no trajectory fields; the store keeps serving earlier ones.
  spec.trajectories = trajectories_ != nullptr && config_.trajectories;
  if (decontam_ != nullptr) {
    spec.decontaminate = [d = decontam_](fixmine::v1::Record* r) { d->Check(r); };
  }

  // Run, in a worker process (pipeline/worker.h): the git work is sandboxed there, this
  // thread writes what it sends.
  JobSink sink(this, a, job);
  pipeline::MiningResult result;
  pipeline::WorkerRun run;
  absl::Status st =
      pipeline::MineInWorker(spec, MiningWorkerOptions(config_), &sink, &result, &run);
  NoteWorker(a, run);
  if (!result.walked) return fail(st, run.killed_after_grace);
  const miner::WalkStats& stats = result.stats;

  // Persist the final state.
  Job final_job = sink.Snapshot(stats);
  final_job.set_finished_at(Now());
  bool persisted = true;
  if (st.ok()) {
    final_job.set_state(fixmine::v1::SUCCEEDED);
    if (!stats.walk_error.empty()) final_job.set_error(stats.walk_error);
    fixmine::v1::Repository updated = *repo;
    // Only a complete walk of a ref selection (no revs) moves the watermark.
    if (walk.revs.empty() && job.max_commits() == 0 && stats.walk_error.empty()) {
      updated.clear_watermarks();
      for (const auto& t : stats.tips) updated.add_watermarks(t);
    }
    updated.set_last_job_id(job.id());
    updated.set_license(result.license);
    auto w = store_->WriteBatch({}, final_job, &updated);
    if (!w.ok()) {
      final_job.set_state(fixmine::v1::FAILED);
      final_job.set_error(JobError(w.status()));
      persisted = store_->PutJob(final_job).ok();
    } else if (after_mine_) {
      after_mine_(updated);
    }
  } else if (st.code() == absl::StatusCode::kCancelled && !a->user_cancelled && shutdown_) {
    // Interrupted by shutdown: stays RUNNING in the store and resumes at the next start. A
    // job whose worker stopped in time is not stuck; one whose worker had to be killed is
    // (MarkStuck; Start does not resume it after kStuckStopLimit such stops).
    final_job.set_state(fixmine::v1::RUNNING);
    final_job.set_finished_at(0);
    final_job.set_stuck_stops(run.killed_after_grace ? job.stuck_stops() + 1 : 0);
    (void)store_->PutJob(final_job);
  } else if (st.code() == absl::StatusCode::kCancelled) {
    final_job.set_state(fixmine::v1::CANCELLED);
    persisted = store_->PutJob(final_job).ok();
  } else {
    final_job.set_state(fixmine::v1::FAILED);
    final_job.set_error(JobError(st));
    persisted = store_->PutJob(final_job).ok();
  }
  LogJobEnd(final_job,
            final_job.state() == fixmine::v1::RUNNING
                ? "INTERRUPTED"
                : fixmine::v1::JobState_Name(final_job.state()),
            run_start);
  std::lock_guard<std::mutex> al(a->mu);
  a->job = final_job;
  a->final_persisted = persisted;
}

void JobRunner::NoteWorker(const std::shared_ptr<Active>& a, const pipeline::WorkerRun& run) {
  Job job;
  {
    std::lock_guard<std::mutex> al(a->mu);
    a->job.set_worker_end(run.end);
    a->job.set_worker_sandbox(run.sandbox);
    job = a->job;
  }
  if (run.end.empty()) return;
  if (metrics_ != nullptr) metrics_->ObserveWorkerEnd(WorkerEndLabel(run.end));
  if (!run.landlocked) {
    if (metrics_ != nullptr) metrics_->AddWorkerUnsandboxed();
    Log(LogLevel::kWarn, "mining worker ran without Landlock: " + run.sandbox,
        {.job = job.id(), .repository = job.repo()});
  }
  if (run.killed_after_grace) {
    Log(LogLevel::kWarn, "mining worker did not stop within its grace and was killed",
        {.job = job.id(), .repository = job.repo()});
  } else if (run.end != "exited") {
    Log(LogLevel::kWarn, "mining worker ended: " + run.end,
        {.job = job.id(), .repository = job.repo()});
  }
}

void JobRunner::LogJobEnd(const Job& job, const std::string& state,
                          std::chrono::steady_clock::time_point start) {
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (metrics_ != nullptr) metrics_->ObserveJob(state, seconds);
  LogFields f;
  f.job = job.id();
  f.repository = job.repo();
  f.duration_ms = seconds * 1000;
  f.error = job.error();
  Log(state == "FAILED" ? LogLevel::kWarn : LogLevel::kInfo,
      fmt::format("mining job ended: {}, {} records written, {} commits walked", state,
                  job.records_written(), job.commits_walked()),
      f);
}

}  // namespace fixmine::server
