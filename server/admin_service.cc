// AdminService: repositories, jobs and stats.
#include <limits.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <thread>

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

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* ctx, const absl::Status& st) {
  auto* r = ctx->DefaultReactor();
  r->Finish(ToGrpcStatus(st));
  return r;
}

// The token check of every AdminService call. Without an authorizer nothing is allowed (fail
// closed); an authorizer without tokens allows everything.
absl::Status Allow(grpc::CallbackServerContext* ctx, const CallGuards& guards) {
  if (guards.auth == nullptr) return absl::InternalError("server started without an authorizer");
  return guards.auth->Check(*ctx, Role::kAdmin);
}

// Resolves and checks a local repository path against the allowed roots.
absl::StatusOr<std::string> CheckLocalPath(const std::string& source, const ServerConfig& config) {
  if (config.allowed_roots.empty()) {
    return absl::FailedPreconditionError(
        "local repositories are disabled: the server was started without --allowed-root");
  }
  char buf[PATH_MAX];
  if (realpath(source.c_str(), buf) == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("repository path ", QuoteInput(source, 256), " does not exist"));
  }
  std::string real = buf;
  for (const auto& root : config.allowed_roots) {
    if (UnderRoot(real, root)) return real;
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "repository path ", QuoteInput(source, 256), " (resolved to ", QuoteInput(real, 256),
      ") is outside the allowed roots: ", absl::StrJoin(config.allowed_roots, ", ")));
}

absl::Status CheckUrl(const std::string& url, const ServerConfig& config) {
  size_t sep = url.find("://");
  std::string scheme = url.substr(0, sep);
  bool allowed = false;
  for (const auto& s : config.allowed_schemes) allowed = allowed || s == scheme;
  if (!allowed) {
    return absl::InvalidArgumentError(
        absl::StrCat("URL scheme ", QuoteInput(scheme),
                     " is not allowed; allowed: ", absl::StrJoin(config.allowed_schemes, ", ")));
  }
  std::string rest = url.substr(sep + 3);
  std::string authority = rest.substr(0, rest.find('/'));
  if (authority.find('@') != std::string::npos) {
    return absl::InvalidArgumentError(
        "URL embeds credentials (user@host); give a URL without them");
  }
  if (scheme != "file" && authority.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("URL ", QuoteInput(url, 256), " has no host"));
  }
  if (scheme == "file") {
    // A file URL names a local folder: the allowed roots apply to it as to a plain path.
    if (!authority.empty() && authority != "localhost") {
      return absl::InvalidArgumentError(absl::StrCat("file URL ", QuoteInput(url, 256),
                                                     " names host ", QuoteInput(authority),
                                                     "; use file:///PATH"));
    }
    auto real = CheckLocalPath(rest.substr(authority.size()), config);
    if (!real.ok()) return real.status();
    return CheckRepositoryContained(*real, config.allowed_roots);
  }
  return absl::OkStatus();
}

bool Ended(fixmine::v1::JobState s) {
  return s == fixmine::v1::SUCCEEDED || s == fixmine::v1::FAILED || s == fixmine::v1::CANCELLED;
}

// Streams a job's state every time it changes, polling the runner on its own thread (never a
// gRPC thread), one write in flight.
class WatchReactor final : public grpc::ServerWriteReactor<fixmine::v1::WatchJobResponse> {
 public:
  // `ctx` and `streams` (may be null) are borrowed; the stream's slot is freed in OnDone.
  WatchReactor(JobRunner* runner, std::string id, grpc::CallbackServerContext* ctx,
               StreamRegistry* streams)
      : runner_(runner), id_(std::move(id)), ctx_(ctx), streams_(streams) {
    thread_ = std::thread([this] { Loop(); });
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> l(mu_);
    writing_ = false;
    if (!ok) broken_ = true;
    if (streams_ != nullptr) streams_->WriteDone(ctx_);
    cv_.notify_all();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> l(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }

  void OnDone() override {
    if (streams_ != nullptr) streams_->Leave(ctx_);
    if (std::this_thread::get_id() == thread_.get_id()) {
      thread_.detach();
    } else {
      thread_.join();
    }
    delete this;
  }

 private:
  void Loop() {
    std::string last;
    for (;;) {
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait_for(l, std::chrono::milliseconds(200),
                     [&] { return cancelled_ || broken_ || !writing_; });
        if (cancelled_ || broken_) {
          l.unlock();
          Finish(grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled"));
          return;
        }
        if (writing_) continue;
      }
      auto job = runner_->GetJob(id_);
      if (!job.ok()) {
        Finish(ToGrpcStatus(job.status()));
        return;
      }
      std::string bytes = job->SerializeAsString();
      bool ended = Ended(job->state());
      if (bytes != last) {
        last = bytes;
        *resp_.mutable_job() = *job;
        {
          std::lock_guard<std::mutex> l(mu_);
          writing_ = true;
        }
        if (streams_ != nullptr) streams_->WriteStarted(ctx_);
        StartWrite(&resp_);
      }
      if (ended) {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return cancelled_ || broken_ || !writing_; });
        l.unlock();
        Finish(grpc::Status::OK);
        return;
      }
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, std::chrono::milliseconds(200), [&] { return cancelled_; });
    }
  }

  JobRunner* runner_;
  std::string id_;
  grpc::CallbackServerContext* ctx_;
  StreamRegistry* streams_;
  fixmine::v1::WatchJobResponse resp_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool writing_ = false;
  bool cancelled_ = false;
  bool broken_ = false;
  std::thread thread_;
};

class ErrorWriter final : public grpc::ServerWriteReactor<fixmine::v1::WatchJobResponse> {
 public:
  explicit ErrorWriter(const absl::Status& st) { Finish(ToGrpcStatus(st)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerUnaryReactor* AdminServiceImpl::AddRepository(
    grpc::CallbackServerContext* ctx, const fixmine::v1::AddRepositoryRequest* req,
    fixmine::v1::AddRepositoryResponse* resp) {
  if (absl::Status st = Allow(ctx, guards_); !st.ok()) return Done(ctx, st);
  const std::string& source = req->source();
  if (source.empty()) {
    return Done(ctx, absl::InvalidArgumentError(
                         "source is empty; give a local repository path or a remote URL"));
  }
  if (source.size() > 4096 || source.find('\0') != std::string::npos) {
    return Done(ctx, absl::InvalidArgumentError("source is longer than 4096 bytes or holds NUL"));
  }
  // The same name `fixmine extract --repo-list` gives it (host and path for a URL).
  std::string name = req->name().empty() ? pipeline::DefaultRepositoryName(source) : req->name();
  if (absl::Status st = pipeline::ValidateRepositoryName(name); !st.ok()) return Done(ctx, st);
  fixmine::v1::Repository repo;
  repo.set_name(name);
  repo.set_source(source);
  repo.set_created_at(absl::ToUnixSeconds(absl::Now()));
  if (source.find("://") != std::string::npos) {
    if (absl::Status st = CheckUrl(source, *config_); !st.ok()) return Done(ctx, st);
    repo.set_remote(true);
    // A GitHub URL ties the repository to its issues and pull requests (docs/github.md).
    if (absl::StartsWithIgnoreCase(source, "https://github.com/")) {
      if (auto gh = github::ParseGithubRepo(source)) repo.set_github(*gh);
    }
    repo.set_local_path(
        (std::filesystem::path(config_->data_dir) / "mirrors" / (name + ".git")).string());
  } else {
    auto real = CheckLocalPath(source, *config_);
    if (!real.ok()) return Done(ctx, real.status());
    if (absl::Status st = CheckRepositoryContained(*real, config_->allowed_roots); !st.ok()) {
      return Done(ctx, st);
    }
    repo.set_local_path(*real);
  }
  auto existing = store_->GetRepository(name);
  if (existing.ok()) {
    return Done(ctx, absl::AlreadyExistsError(absl::StrCat(
                         "repository \"", name, "\" exists (source \"", existing->source(),
                         "\"); pick another --name or remove it first")));
  }
  if (absl::Status st = store_->PutRepository(repo); !st.ok()) return Done(ctx, st);
  *resp->mutable_repository() = repo;
  return Done(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetRepository(
    grpc::CallbackServerContext* ctx, const fixmine::v1::GetRepositoryRequest* req,
    fixmine::v1::GetRepositoryResponse* resp) {
  if (absl::Status st = Allow(ctx, guards_); !st.ok()) return Done(ctx, st);
  if (req->name().empty()) return Done(ctx, absl::InvalidArgumentError("name is empty"));
  auto r = store_->GetRepository(req->name());
  if (!r.ok()) return Done(ctx, r.status());
  *resp->mutable_repository() = std::move(*r);
  return Done(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListRepositories(
    grpc::CallbackServerContext* ctx, const fixmine::v1::ListRepositoriesRequest* req,
    fixmine::v1::ListRepositoriesResponse* resp) {
  if (absl::Status st = Allow(ctx, guards_); !st.ok()) return Done(ctx, st);
  auto list = store_->ListRepositories();
  if (!list.ok()) return Done(ctx, list.status());
  for (auto& r : *list) *resp->add_repositories() = std::move(r);
  return Done(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminServiceImpl::RemoveRepository(
    grpc::CallbackServerContext* ctx, const fixmine::v1::RemoveRepositoryRequest* req,
    fixmine::v1::RemoveRepositoryResponse* resp) {
  if (absl::Status st = Allow(ctx, guards_); !st.ok()) return Done(ctx, st);
  if (req->name().empty()) return Done(ctx, absl::InvalidArgumentError("name is empty"));
  // Reserved for the whole removal: a StartMining of the same repository meanwhile is refused
  // (otherwise its job could write the old watermark back after the removal).
  if (absl::Status st = runner_->BeginRemoval(req->name()); !st.ok()) return Done(ctx, st);
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
  return Done(ctx, st);
}

grpc::ServerUnaryReactor* AdminServiceImpl::StartMining(grpc::CallbackServerContext* ctx,
                                                        const fixmine::v1::StartMiningRequest* req,
                                                        fixmine::v1::StartMiningResponse* resp) {
  if (absl::Status st = Allow(ctx, guards_); !st.ok()) return Done(ctx, st);
  auto job = runner_->StartJob(*req);
  if (!job.ok()) return Done(ctx, job.status());
  *resp->mutable_job() = std::move(*job);
  return Done(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetJob(grpc::CallbackServerContext* ctx,
                                                   const fixmine::v1::GetJobRequest* req,
                                                   fixmine::v1::GetJobResponse* resp) {
  if (absl::Status st = Allow(ctx, guards_); !st.ok()) return Done(ctx, st);
  auto job = runner_->GetJob(req->id());
  if (!job.ok()) return Done(ctx, job.status());
  *resp->mutable_job() = std::move(*job);
  return Done(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListJobs(grpc::CallbackServerContext* ctx,
                                                     const fixmine::v1::ListJobsRequest* req,
                                                     fixmine::v1::ListJobsResponse* resp) {
  if (absl::Status st = Allow(ctx, guards_); !st.ok()) return Done(ctx, st);
  auto jobs = runner_->ListJobs(req->repo());
  if (!jobs.ok()) return Done(ctx, jobs.status());
  for (auto& j : *jobs) *resp->add_jobs() = std::move(j);
  return Done(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminServiceImpl::CancelJob(grpc::CallbackServerContext* ctx,
                                                      const fixmine::v1::CancelJobRequest* req,
                                                      fixmine::v1::CancelJobResponse* resp) {
  if (absl::Status st = Allow(ctx, guards_); !st.ok()) return Done(ctx, st);
  auto job = runner_->CancelJob(req->id());
  if (!job.ok()) return Done(ctx, job.status());
  *resp->mutable_job() = std::move(*job);
  return Done(ctx, absl::OkStatus());
}

grpc::ServerWriteReactor<fixmine::v1::WatchJobResponse>* AdminServiceImpl::WatchJob(
    grpc::CallbackServerContext* ctx, const fixmine::v1::WatchJobRequest* req) {
  if (absl::Status st = Allow(ctx, guards_); !st.ok()) return new ErrorWriter(st);
  auto job = runner_->GetJob(req->id());
  if (!job.ok()) return new ErrorWriter(job.status());
  if (guards_.streams == nullptr) return new WatchReactor(runner_, req->id(), nullptr, nullptr);
  if (absl::Status st = guards_.streams->Enter(ctx); !st.ok()) return new ErrorWriter(st);
  return new WatchReactor(runner_, req->id(), ctx, guards_.streams);
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetStats(grpc::CallbackServerContext* ctx,
                                                     const fixmine::v1::GetStatsRequest* req,
                                                     fixmine::v1::GetStatsResponse* resp) {
  if (absl::Status st = Allow(ctx, guards_); !st.ok()) return Done(ctx, st);
  auto repos = store_->ListRepositories();
  if (!repos.ok()) return Done(ctx, repos.status());
  auto jobs = store_->ListJobs();
  if (!jobs.ok()) return Done(ctx, jobs.status());
  auto total = store_->TotalRecords();
  if (!total.ok()) return Done(ctx, total.status());
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
  std::vector<std::string> names = {"is_fix",    "is_revert",     "is_bot",        "vendored",
                                    "generated", "lockfile",      "documentation", "secrets_found",
                                    "duplicate", "near_duplicate"};
  for (const std::string& p : storage::Filter::PresetNames()) names.push_back("preset = " + p);
  for (const std::string& n : names) {
    auto f = storage::Filter::Parse(n);
    if (!f.ok()) return Done(ctx, f.status());
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
  if (!st.ok()) return Done(ctx, st);
  return Done(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminServiceImpl::AddBenchmark(
    grpc::CallbackServerContext* ctx, const fixmine::v1::AddBenchmarkRequest* req,
    fixmine::v1::AddBenchmarkResponse* resp) {
  if (absl::Status st = Allow(ctx, guards_); !st.ok()) return Done(ctx, st);
  if (req->name().empty()) return Done(ctx, absl::InvalidArgumentError("name is empty"));
  if (req->items().empty()) {
    return Done(ctx, absl::InvalidArgumentError(
                         absl::StrCat("benchmark ", QuoteInput(req->name()), " has no items")));
  }
  int n = req->ngram() == 0 ? 13 : req->ngram();
  if (n < 5 || n > 50) {
    return Done(ctx, absl::InvalidArgumentError(
                         absl::StrCat("ngram ", req->ngram(), " is out of range; use 5 to 50")));
  }
  fixmine::v1::Benchmark b;
  b.set_name(req->name());
  b.set_ngram(n);
  *b.mutable_items() = req->items();
  b.set_created_at(absl::ToUnixSeconds(absl::Now()));
  if (absl::Status st = decontam_->Add(b); !st.ok()) return Done(ctx, st);
  resp->set_item_count(b.items_size());
  return Done(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListBenchmarks(
    grpc::CallbackServerContext* ctx, const fixmine::v1::ListBenchmarksRequest* req,
    fixmine::v1::ListBenchmarksResponse* resp) {
  if (absl::Status st = Allow(ctx, guards_); !st.ok()) return Done(ctx, st);
  auto all = store_->ListBenchmarks();
  if (!all.ok()) return Done(ctx, all.status());
  for (const fixmine::v1::Benchmark& b : *all) {
    auto* s = resp->add_benchmarks();
    s->set_name(b.name());
    s->set_ngram(b.ngram());
    s->set_item_count(b.items_size());
    s->set_created_at(b.created_at());
  }
  return Done(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminServiceImpl::RemoveBenchmark(
    grpc::CallbackServerContext* ctx, const fixmine::v1::RemoveBenchmarkRequest* req,
    fixmine::v1::RemoveBenchmarkResponse* resp) {
  if (absl::Status st = Allow(ctx, guards_); !st.ok()) return Done(ctx, st);
  if (req->name().empty()) return Done(ctx, absl::InvalidArgumentError("name is empty"));
  return Done(ctx, decontam_->Remove(req->name()));
}

}  // namespace fixmine::server
