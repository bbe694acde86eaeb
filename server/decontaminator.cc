#include "server/decontaminator.h"

#include <chrono>
#include <cstdio>
#include <vector>

#include "absl/time/clock.h"
#include "fmt/format.h"
#include "pipeline/benchmarks.h"

namespace fixmine::server {

absl::Status Decontaminator::Start() {
  if (absl::Status st = Rebuild(); !st.ok()) return st;
  // A re-check cut off by a server stop is ended here and run again as a new job.
  auto jobs = store_->ListJobs();
  if (!jobs.ok()) return jobs.status();
  for (fixmine::v1::Job job : *jobs) {
    // Only its own jobs (other kinds, e.g. github_sync, resume in the JobRunner).
    if (job.kind() != "decontaminate" || job.state() == fixmine::v1::SUCCEEDED ||
        job.state() == fixmine::v1::FAILED || job.state() == fixmine::v1::CANCELLED) {
      continue;
    }
    job.set_state(fixmine::v1::CANCELLED);
    job.set_error("interrupted by a server stop; the re-check runs again as a new job");
    job.set_finished_at(absl::ToUnixSeconds(absl::Now()));
    if (absl::Status st = store_->PutJob(job); !st.ok()) return st;
    pending_ = true;
  }
  worker_ = std::thread([this] { RecheckLoop(); });
  return absl::OkStatus();
}

void Decontaminator::Shutdown() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

std::shared_ptr<const curation::NgramIndex> Decontaminator::Index() const {
  std::lock_guard<std::mutex> l(mu_);
  return index_;
}

void Decontaminator::Check(fixmine::v1::Record* record) const {
  std::shared_ptr<const curation::NgramIndex> index = Index();
  if (index == nullptr || index->empty()) return;
  index->Check(record);
}

absl::Status Decontaminator::Rebuild() {
  auto benchmarks = store_->ListBenchmarks();
  if (!benchmarks.ok()) return benchmarks.status();
  auto index = std::make_shared<curation::NgramIndex>();
  for (const fixmine::v1::Benchmark& b : *benchmarks) pipeline::IndexBenchmark(b, index.get());
  std::lock_guard<std::mutex> l(mu_);
  index_ = std::move(index);
  return absl::OkStatus();
}

absl::Status Decontaminator::Add(const fixmine::v1::Benchmark& benchmark) {
  {
    std::lock_guard<std::mutex> l(rebuild_mu_);
    if (absl::Status st = store_->PutBenchmark(benchmark); !st.ok()) return st;
    if (absl::Status st = Rebuild(); !st.ok()) return st;
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    pending_ = true;
  }
  cv_.notify_all();
  return absl::OkStatus();
}

absl::Status Decontaminator::Remove(std::string_view name) {
  {
    std::lock_guard<std::mutex> l(rebuild_mu_);
    if (absl::Status st = store_->RemoveBenchmark(name); !st.ok()) return st;
    if (absl::Status st = Rebuild(); !st.ok()) return st;
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    pending_ = true;
  }
  cv_.notify_all();
  return absl::OkStatus();
}

uint64_t Decontaminator::rechecks_done() const {
  std::lock_guard<std::mutex> l(mu_);
  return done_;
}

void Decontaminator::RecheckLoop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return pending_ || stopping_; });
      if (stopping_) return;
      pending_ = false;
    }
    // The re-check is a job like mining: `fixmine job list|show|watch` follow it.
    fixmine::v1::Job job;
    int64_t now = absl::ToUnixSeconds(absl::Now());
    job.set_id(fmt::format("job-{:010d}-d{:03d}", now, ++job_counter_ % 1000));
    job.set_kind("decontaminate");
    job.set_state(fixmine::v1::RUNNING);
    job.set_created_at(now);
    job.set_started_at(now);
    job.set_attempts(1);
    (void)store_->PutJob(job);
    absl::Status st = Recheck(&job);
    job.set_finished_at(absl::ToUnixSeconds(absl::Now()));
    if (st.ok()) {
      job.set_state(fixmine::v1::SUCCEEDED);
    } else if (st.code() == absl::StatusCode::kCancelled) {
      job.set_state(fixmine::v1::RUNNING);  // server stopping: ended and redone at next start
      job.set_finished_at(0);
    } else {
      job.set_state(fixmine::v1::FAILED);
      job.set_error(std::string(st.message()));
      std::fprintf(stderr, "decontamination re-check of stored records failed: %s\n",
                   st.ToString().c_str());
    }
    (void)store_->PutJob(job);
    std::lock_guard<std::mutex> l(mu_);
    ++done_;
  }
}

absl::Status Decontaminator::Recheck(fixmine::v1::Job* job) {
  // The index as it is now; a later add or remove sets pending_ again and runs another pass.
  std::shared_ptr<const curation::NgramIndex> index = Index();
  if (index == nullptr) return absl::OkStatus();
  std::vector<fixmine::v1::Record> changed;
  absl::Status write = absl::OkStatus();
  bool stopped = false;
  // Progress for `job watch`: records checked of the store's total, stored about once a second
  // (the job is read back from the store).
  const auto start = std::chrono::steady_clock::now();
  auto last_put = start;
  job->set_phase("decontaminate");
  if (auto total = store_->TotalRecords(); total.ok()) job->set_phase_total(*total);
  (void)store_->PutJob(*job);
  auto progress = [&] {
    auto now = std::chrono::steady_clock::now();
    job->set_phase_done(job->commits_walked());
    job->set_phase_seconds(std::chrono::duration<double>(now - start).count());
    return now;
  };
  auto flush = [&] {
    if (changed.empty()) return;
    auto n = store_->UpdateRecords(changed);
    if (!n.ok()) write = n.status();
    if (n.ok()) job->set_records_written(job->records_written() + *n);
    changed.clear();
    last_put = progress();
    (void)store_->PutJob(*job);
  };
  absl::Status scan = store_->Scan(
      nullptr, storage::ScanPosition(),
      [&](const fixmine::v1::Record& record, const storage::ScanPosition&) {
        {
          std::lock_guard<std::mutex> l(mu_);
          if (stopping_) {
            stopped = true;
            return false;
          }
        }
        job->set_commits_walked(job->commits_walked() + 1);
        fixmine::v1::Record copy = record;
        if (index->Check(&copy)) changed.push_back(std::move(copy));
        if (changed.size() >= 256) {
          flush();
        } else if (std::chrono::steady_clock::now() - last_put > std::chrono::seconds(1)) {
          last_put = progress();
          (void)store_->PutJob(*job);
        }
        return write.ok();
      });
  flush();
  progress();
  if (!scan.ok()) return scan;
  if (stopped) return absl::CancelledError("server stopping");
  return write;
}

}  // namespace fixmine::server
