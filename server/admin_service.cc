// AdminService: repositories, jobs and stats.
#include <limits.h>
#include <stdlib.h>

#include <filesystem>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/status.h"
#include "github/model.h"
#include "miner/git_handles.h"
#include "pipeline/repo_identity.h"
#include "server/path_policy.h"
#include "server/services.h"
#include "server/status_convert.h"
#include "storage/filter.h"

namespace fixmine::server {
namespace {

using fixmine::v1::Job;

bool Ended(fixmine::v1::JobState s) {
  return s == fixmine::v1::SUCCEEDED || s == fixmine::v1::FAILED || s == fixmine::v1::CANCELLED;
}

// A job's state each time it changes, until it ended (WatchJob). The stream asks every
// kStreamPollInterval; a poll reads the runner's copy of the job.
class JobWatch final : public BatchSource<fixmine::v1::WatchJobResponse> {
 public:
  JobWatch(JobRunner* runner, std::string id) : runner_(runner), id_(std::move(id)) {}

  absl::Status Open() override { return runner_->GetJob(id_).status(); }

  absl::StatusOr<Step> Next(fixmine::v1::WatchJobResponse* resp) override {
    if (ended_) return Step::kEnd;
    auto job = runner_->GetJob(id_);
    if (!job.ok()) return job.status();
    ended_ = Ended(job->state());
    std::string bytes = job->SerializeAsString();
    if (bytes == last_) return ended_ ? Step::kEnd : Step::kWait;
    last_ = std::move(bytes);
    *resp->mutable_job() = std::move(*job);
    return Step::kBatch;
  }

 private:
  JobRunner* const runner_;
  const std::string id_;
  std::string last_;  // the job as last sent
  bool ended_ = false;
};

}  // namespace

grpc::ServerUnaryReactor* AdminServiceImpl::AddRepository(
    grpc::CallbackServerContext* ctx, const fixmine::v1::AddRepositoryRequest* req,
    fixmine::v1::AddRepositoryResponse* resp) {
  return Serve(ctx, guards_, Role::kAdmin, Cost::kLight, [=, this]() -> absl::Status {
    const std::string& source = req->source();
    if (source.empty()) {
      return absl::InvalidArgumentError(
          "source is empty; give a local repository path or a remote URL");
    }
    if (source.size() > 4096 || source.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError("source is longer than 4096 bytes or holds NUL");
    }
    // The same name `fixmine extract --repo-list` gives it (host and path for a URL).
    std::string name = req->name().empty() ? pipeline::DefaultRepositoryName(source) : req->name();
    if (absl::Status st = pipeline::ValidateRepositoryName(name); !st.ok()) return st;
    fixmine::v1::Repository repo;
    repo.set_name(name);
    repo.set_source(source);
    repo.set_created_at(absl::ToUnixSeconds(absl::Now()));
    if (source.find("://") != std::string::npos) {
      if (absl::Status st =
              CheckRepositoryUrl(source, config_->allowed_schemes, config_->allowed_roots);
          !st.ok())
        return st;
      repo.set_remote(true);
      // A GitHub URL ties the repository to its issues and pull requests (docs/github.md).
      if (absl::StartsWithIgnoreCase(source, "https://github.com/")) {
        if (auto gh = github::ParseGithubRepo(source)) repo.set_github(*gh);
      }
      repo.set_local_path(
          (std::filesystem::path(config_->data_dir) / "mirrors" / (name + ".git")).string());
    } else {
      auto real = ResolveLocalRepository(source, config_->allowed_roots);
      if (!real.ok()) return real.status();
      if (absl::Status st = CheckRepositoryContained(*real, config_->allowed_roots); !st.ok()) {
        return st;
      }
      repo.set_local_path(*real);
    }
    auto existing = store_->GetRepository(name);
    if (existing.ok()) {
      return absl::AlreadyExistsError(absl::StrCat("repository \"", name, "\" exists (source \"",
                                                   existing->source(),
                                                   "\"); pick another --name or remove it first"));
    }
    if (absl::Status st = store_->PutRepository(repo); !st.ok()) return st;
    *resp->mutable_repository() = repo;
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetRepository(
    grpc::CallbackServerContext* ctx, const fixmine::v1::GetRepositoryRequest* req,
    fixmine::v1::GetRepositoryResponse* resp) {
  return Serve(ctx, guards_, Role::kAdmin, Cost::kLight, [=, this]() -> absl::Status {
    if (req->name().empty()) return absl::InvalidArgumentError("name is empty");
    auto r = store_->GetRepository(req->name());
    if (!r.ok()) return r.status();
    *resp->mutable_repository() = std::move(*r);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListRepositories(
    grpc::CallbackServerContext* ctx, const fixmine::v1::ListRepositoriesRequest* req,
    fixmine::v1::ListRepositoriesResponse* resp) {
  return Serve(ctx, guards_, Role::kAdmin, Cost::kLight, [=, this]() -> absl::Status {
    auto list = store_->ListRepositories();
    if (!list.ok()) return list.status();
    for (auto& r : *list) *resp->add_repositories() = std::move(r);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::RemoveRepository(
    grpc::CallbackServerContext* ctx, const fixmine::v1::RemoveRepositoryRequest* req,
    fixmine::v1::RemoveRepositoryResponse* resp) {
  return Serve(ctx, guards_, Role::kAdmin, Cost::kHeavy, [=, this]() -> absl::Status {
    if (req->name().empty()) return absl::InvalidArgumentError("name is empty");
    // Reserved for the whole removal: a StartMining of the same repository meanwhile is refused
    // (otherwise its job could write the old watermark back after the removal).
    if (absl::Status st = runner_->BeginRemoval(req->name()); !st.ok()) return st;
    absl::Status st = [&]() -> absl::Status {
      auto repo = store_->GetRepository(req->name());
      if (!repo.ok()) return repo.status();
      // One batch: records, trajectories and GitHub data go together.
      auto n = store_->RemoveRepository(req->name());
      if (!n.ok()) return n.status();
      if (repo->remote()) {
        std::error_code ec;
        std::filesystem::remove_all(repo->local_path(), ec);
      }
      resp->set_records_removed(*n);
      return absl::OkStatus();
    }();
    runner_->EndRemoval(req->name());
    return st;
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::StartMining(grpc::CallbackServerContext* ctx,
                                                        const fixmine::v1::StartMiningRequest* req,
                                                        fixmine::v1::StartMiningResponse* resp) {
  return Serve(ctx, guards_, Role::kAdmin, Cost::kLight, [=, this]() -> absl::Status {
    auto job = runner_->StartJob(*req);
    if (!job.ok()) return job.status();
    *resp->mutable_job() = std::move(*job);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetJob(grpc::CallbackServerContext* ctx,
                                                   const fixmine::v1::GetJobRequest* req,
                                                   fixmine::v1::GetJobResponse* resp) {
  return Serve(ctx, guards_, Role::kAdmin, Cost::kLight, [=, this]() -> absl::Status {
    auto job = runner_->GetJob(req->id());
    if (!job.ok()) return job.status();
    *resp->mutable_job() = std::move(*job);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListJobs(grpc::CallbackServerContext* ctx,
                                                     const fixmine::v1::ListJobsRequest* req,
                                                     fixmine::v1::ListJobsResponse* resp) {
  return Serve(ctx, guards_, Role::kAdmin, Cost::kLight, [=, this]() -> absl::Status {
    auto jobs = runner_->ListJobs(req->repo());
    if (!jobs.ok()) return jobs.status();
    for (auto& j : *jobs) *resp->add_jobs() = std::move(j);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::CancelJob(grpc::CallbackServerContext* ctx,
                                                      const fixmine::v1::CancelJobRequest* req,
                                                      fixmine::v1::CancelJobResponse* resp) {
  return Serve(ctx, guards_, Role::kAdmin, Cost::kLight, [=, this]() -> absl::Status {
    auto job = runner_->CancelJob(req->id());
    if (!job.ok()) return job.status();
    *resp->mutable_job() = std::move(*job);
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<fixmine::v1::WatchJobResponse>* AdminServiceImpl::WatchJob(
    grpc::CallbackServerContext* ctx, const fixmine::v1::WatchJobRequest* req) {
  return BatchStream<fixmine::v1::WatchJobResponse>::Start(
      ctx, guards_, Role::kAdmin, std::make_unique<JobWatch>(runner_, req->id()));
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetStats(grpc::CallbackServerContext* ctx,
                                                     const fixmine::v1::GetStatsRequest* req,
                                                     fixmine::v1::GetStatsResponse* resp) {
  return Serve(ctx, guards_, Role::kAdmin, Cost::kHeavy, [=, this]() -> absl::Status {
    auto repos = store_->ListRepositories();
    if (!repos.ok()) return repos.status();
    auto jobs = store_->ListJobs();
    if (!jobs.ok()) return jobs.status();
    auto total = store_->TotalRecords();
    if (!total.ok()) return total.status();
    resp->set_repositories(static_cast<int64_t>(repos->size()));
    resp->set_records(*total);
    resp->set_jobs(static_cast<int64_t>(jobs->size()));
    resp->set_active_jobs(runner_->ActiveJobs());
    resp->set_store_bytes(store_->ApproximateSize());
    absl::flat_hash_map<std::string, fixmine::v1::RepositoryStats*> by_name;
    for (const auto& r : *repos) {
      auto* s = resp->add_per_repository();
      s->set_repo(r.name());
      s->set_records(r.record_count());
      s->set_license(r.license());
      by_name[r.name()] = s;
    }
    // Curation counts: one scan of every record, each label evaluated as the filter of the same
    // name so the counts agree with `records count --filter` (docs/curation.md, "Stats").
    std::vector<std::pair<std::string, std::unique_ptr<storage::Filter>>> labels;
    std::vector<std::string> names = {
        "is_fix",   "is_revert",     "is_bot",        "vendored",  "generated",
        "lockfile", "documentation", "secrets_found", "duplicate", "near_duplicate"};
    for (const std::string& p : storage::Filter::PresetNames()) names.push_back("preset = " + p);
    for (const std::string& n : names) {
      auto f = storage::Filter::Parse(n);
      if (!f.ok()) return f.status();
      labels.emplace_back(n, std::move(*f));
    }
    auto* overall = resp->mutable_curation();
    for (const auto& [n, f] : labels) (*overall)[n] = 0;
    for (auto& s : *resp->mutable_per_repository()) {
      for (const auto& [n, f] : labels) (*s.mutable_curation())[n] = 0;
    }
    absl::Status st =
        store_->Scan(nullptr, storage::ScanPosition{},
                     [&](const fixmine::v1::Record& rec, const storage::ScanPosition&) {
                       auto it = by_name.find(rec.repo());
                       auto* per = it == by_name.end() ? nullptr : it->second->mutable_curation();
                       auto bump = [&](const std::string& key) {
                         ++(*overall)[key];
                         if (per) ++(*per)[key];
                       };
                       for (const auto& [n, f] : labels) {
                         if (f->Matches(rec)) bump(n);
                       }
                       for (const std::string& reason : rec.quality().drop_reasons()) {
                         bump("drop = " + reason);
                       }
                       if (rec.labels().is_fix() && it != by_name.end()) {
                         it->second->set_fix_records(it->second->fix_records() + 1);
                       }
                       return true;
                     });
    if (!st.ok()) return st;
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::AddBenchmark(
    grpc::CallbackServerContext* ctx, const fixmine::v1::AddBenchmarkRequest* req,
    fixmine::v1::AddBenchmarkResponse* resp) {
  return Serve(ctx, guards_, Role::kAdmin, Cost::kHeavy, [=, this]() -> absl::Status {
    if (req->name().empty()) return absl::InvalidArgumentError("name is empty");
    if (req->items().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("benchmark ", QuoteInput(req->name()), " has no items"));
    }
    int n = req->ngram() == 0 ? 13 : req->ngram();
    if (n < 5 || n > 50) {
      return absl::InvalidArgumentError(
          absl::StrCat("ngram ", req->ngram(), " is out of range; use 5 to 50"));
    }
    fixmine::v1::Benchmark b;
    b.set_name(req->name());
    b.set_ngram(n);
    *b.mutable_items() = req->items();
    b.set_created_at(absl::ToUnixSeconds(absl::Now()));
    if (absl::Status st = decontam_->Add(b); !st.ok()) return st;
    resp->set_item_count(b.items_size());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListBenchmarks(
    grpc::CallbackServerContext* ctx, const fixmine::v1::ListBenchmarksRequest* req,
    fixmine::v1::ListBenchmarksResponse* resp) {
  return Serve(ctx, guards_, Role::kAdmin, Cost::kLight, [=, this]() -> absl::Status {
    auto all = store_->ListBenchmarks();
    if (!all.ok()) return all.status();
    for (const fixmine::v1::Benchmark& b : *all) {
      auto* s = resp->add_benchmarks();
      s->set_name(b.name());
      s->set_ngram(b.ngram());
      s->set_item_count(b.items_size());
      s->set_created_at(b.created_at());
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::RemoveBenchmark(
    grpc::CallbackServerContext* ctx, const fixmine::v1::RemoveBenchmarkRequest* req,
    fixmine::v1::RemoveBenchmarkResponse* resp) {
  return Serve(ctx, guards_, Role::kAdmin, Cost::kHeavy, [=, this]() -> absl::Status {
    if (req->name().empty()) return absl::InvalidArgumentError("name is empty");
    return decontam_->Remove(req->name());
  });
}

}  // namespace fixmine::server
