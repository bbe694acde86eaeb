// GithubService: GitHub sync jobs, GH Archive imports, and reads of issues and task instances.
#include "server/github_service.h"

#include <atomic>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "github/http.h"
#include "github/linker.h"
#include "github/model.h"
#include "github/sync.h"
#include "server/auth.h"
#include "server/limits.h"
#include "server/path_policy.h"
#include "server/resume_token.h"
#include "server/status_convert.h"
#include "storage/issue_filter.h"
#include "storage/keys.h"

namespace fixmine::server {
namespace {

using fixmine::v1::Instance;
using fixmine::v1::Issue;
using fixmine::v1::Job;

constexpr size_t kMaxBatchBytes = size_t{1} << 20;
constexpr size_t kMaxBatchItems = 1000;
constexpr std::string_view kInstanceTokenContext = "instances\n";
constexpr std::string_view kIssueTokenContext = "issues\n";
// Items of one ImportGithubEvents request at most.
constexpr int kMaxImportItems = 10000;

// The instance as read: decontaminated against the current benchmarks (its problem statement,
// hints and patches checked as a record's message and added lines are).
void Decontaminate(const Decontaminator* d, Instance* inst) {
  inst->clear_contamination();
  if (d == nullptr) return;
  fixmine::v1::Record r;
  r.set_message(inst->problem_statement() + "\n" + inst->hints_text());
  // The index reads a file's added lines from its hunks' text.
  r.add_files()->add_hunks()->set_text(inst->patch());
  r.add_files()->add_hunks()->set_text(inst->test_patch());
  d->Check(&r);
  *inst->mutable_contamination() = r.contamination();
}

// The items of a keyed scan after a resume token (StreamInstances, StreamIssues), up to
// kMaxBatchItems and about kMaxBatchBytes per response (the first item always fits).
template <typename Response, typename Item>
class ScanBatches final : public BatchSource<Response> {
 public:
  using Step = typename BatchSource<Response>::Step;
  // Called for each key after the position, in key order: `item` is the item to send, or null
  // for a key the scan passes over (filtered out). Returns false to stop the scan.
  using Visit = std::function<bool(const Item* item, const std::string& key)>;
  // Scans the keys after `after`, calling `visit` until it returns false or the keys end.
  using Scan = std::function<absl::Status(const std::string& after, const Visit& visit)>;
  // The response's list of items.
  using Items = google::protobuf::RepeatedPtrField<Item>* (*)(Response*);

  // `context` is what resume tokens are bound to, `index` the name they carry; `validate`
  // checks the request (may be empty).
  ScanBatches(int64_t limit, std::string token, std::string context, std::string index,
              std::function<absl::Status()> validate, Scan scan, Items items)
      : limit_(limit),
        token_(std::move(token)),
        context_(std::move(context)),
        index_(std::move(index)),
        validate_(std::move(validate)),
        scan_(std::move(scan)),
        items_(items) {}

  absl::Status Open() override {
    if (limit_ < 0) return absl::InvalidArgumentError("limit is negative; use 0 for no limit");
    if (validate_) FIXMINE_RETURN_IF_ERROR(validate_());
    if (!token_.empty()) {
      auto pos = DecodeResumeToken(token_, context_);
      if (!pos.ok()) return pos.status();
      if (pos->index != index_) {
        return absl::InvalidArgumentError(
            "resume_token was issued by another stream; pass one of this stream's tokens");
      }
      after_ = pos->last_key;
    }
    remaining_ = limit_ > 0 ? limit_ : -1;
    return absl::OkStatus();
  }

  absl::StatusOr<Step> Next(Response* resp) override {
    if (end_ || remaining_ == 0) return Step::kEnd;
    const size_t max =
        remaining_ > 0 ? std::min<size_t>(remaining_, kMaxBatchItems) : kMaxBatchItems;
    size_t count = 0;
    size_t bytes = 0;
    bool stopped = false;
    FIXMINE_RETURN_IF_ERROR(scan_(after_, [&](const Item* item, const std::string& key) {
      if (item != nullptr) {
        const size_t size = item->ByteSizeLong();
        if (count > 0 && bytes + size > kMaxBatchBytes) {
          stopped = true;
          return false;
        }
        *items_(resp)->Add() = *item;
        bytes += size;
        ++count;
      }
      after_ = key;
      if (count >= max) {
        stopped = true;
        return false;
      }
      return true;
    }));
    end_ = !stopped;
    if (count == 0) return Step::kEnd;
    if (remaining_ > 0) remaining_ -= static_cast<int64_t>(count);
    resp->set_resume_token(EncodeResumeToken({index_, after_}, context_));
    return Step::kBatch;
  }

 private:
  const int64_t limit_;
  const std::string token_;
  const std::string context_;
  const std::string index_;
  const std::function<absl::Status()> validate_;
  const Scan scan_;
  const Items items_;
  std::string after_;
  int64_t remaining_ = -1;
  bool end_ = false;
};

}  // namespace

JobRunner::KindFn MakeGithubSyncKind(GithubDeps deps) {
  return [deps](const Job& started, const std::atomic<bool>& cancel,
                const std::function<void(const Job&)>& update) -> absl::Status {
    auto repo = deps.store->GetRepository(started.repo());
    if (!repo.ok()) return repo.status();
    if (repo->github().empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("repository ", QuoteInput(repo->name()),
                       " is tied to no GitHub repository; add it with --github OWNER/REPO"));
    }
    const ServerConfig& config = *deps.config;
    github::HttpOptions http_options;
    http_options.allow_http = config.github_allow_http;
    std::unique_ptr<github::HttpClient> http = github::NewCurlClient(http_options);
    github::SyncOptions options;
    options.api_url = config.github_api_url;
    while (!options.api_url.empty() && options.api_url.back() == '/') options.api_url.pop_back();
    options.token = config.github_token;
    // Checked before any request: a plain http URL only with the flag.
    FIXMINE_RETURN_IF_ERROR(CheckGithubApiUrl(options.api_url, config.github_allow_http));
    Job job = started;
    int64_t reported_requests = 0, reported_not_modified = 0;
    auto on_progress = [&](const github::SyncProgress& p, const std::string& wait_kind,
                           double wait_seconds) {
      job.set_github_requests(p.requests);
      job.set_github_not_modified(p.not_modified);
      job.set_github_objects(p.objects);
      job.set_github_waits(p.waits);
      job.set_waiting(p.waiting);
      if (deps.metrics != nullptr) {
        deps.metrics->AddGithubRequests(
            (p.requests - reported_requests) - (p.not_modified - reported_not_modified),
            p.not_modified - reported_not_modified);
        if (!wait_kind.empty()) deps.metrics->AddGithubWait(wait_kind, wait_seconds);
      }
      reported_requests = p.requests;
      reported_not_modified = p.not_modified;
      if (!wait_kind.empty()) {
        Log(LogLevel::kInfo, "GitHub sync waits: " + p.waiting,
            {.job = job.id(), .repository = job.repo()});
      }
      update(job);
    };
    absl::Status st = github::SyncRepository(options, http.get(), deps.github, repo->name(),
                                             repo->github(), cancel, on_progress);
    if (!st.ok()) return st;
    auto linked = github::LinkRepository(deps.store, deps.trajectories, deps.github, repo->name(),
                                         repo->github());
    if (!linked.ok()) return linked.status();
    job.set_records_written(linked->records_updated);
    job.set_commits_walked(linked->instances);
    update(job);
    Log(LogLevel::kInfo,
        absl::StrCat("GitHub sync linked ", linked->linked_pulls, " pull requests, ",
                     linked->instances, " instances, ", linked->records_updated,
                     " records relabelled"),
        {.job = job.id(), .repository = job.repo()});
    return absl::OkStatus();
  };
}

JobRunner::KindFn MakeGithubLinkKind(GithubDeps deps) {
  return [deps](const Job& started, const std::atomic<bool>&,
                const std::function<void(const Job&)>& update) -> absl::Status {
    auto repo = deps.store->GetRepository(started.repo());
    if (!repo.ok()) return repo.status();
    if (repo->github().empty()) return absl::OkStatus();
    auto linked = github::LinkRepository(deps.store, deps.trajectories, deps.github, repo->name(),
                                         repo->github());
    if (!linked.ok()) return linked.status();
    Job job = started;
    job.set_records_written(linked->records_updated);
    job.set_commits_walked(linked->instances);
    update(job);
    return absl::OkStatus();
  };
}

std::function<void(const fixmine::v1::Repository&)> MakeGithubAfterMine(GithubDeps deps) {
  return [deps](const fixmine::v1::Repository& repo) {
    if (repo.github().empty()) return;
    auto linked = github::LinkRepository(deps.store, deps.trajectories, deps.github, repo.name(),
                                         repo.github());
    if (!linked.ok()) {
      Log(LogLevel::kWarn,
          absl::StrCat("linking GitHub issues after mining failed: ", linked.status().ToString()),
          {.repository = repo.name()});
      return;
    }
    Log(LogLevel::kInfo,
        absl::StrCat("linked GitHub issues after mining: ", linked->instances, " instances, ",
                     linked->records_updated, " records relabelled"),
        {.repository = repo.name()});
  };
}

grpc::ServerUnaryReactor* GithubServiceImpl::SyncGithub(grpc::CallbackServerContext* ctx,
                                                        const fixmine::v1::SyncGithubRequest* req,
                                                        fixmine::v1::SyncGithubResponse* resp) {
  return Serve(ctx, guards_, Role::kAdmin, Cost::kLight, [=, this]() -> absl::Status {
    if (req->repo().empty()) {
      return absl::InvalidArgumentError("repo is empty; name a registered repository");
    }
    auto repo = deps_.store->GetRepository(req->repo());
    if (!repo.ok()) return repo.status();
    if (repo->github().empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("repository ", QuoteInput(req->repo()),
                       " is tied to no GitHub repository; tie it with `fixmine repo add ... "
                       "--github OWNER/REPO`"));
    }
    auto job = runner_->StartKindJob(req->repo(), kGithubSyncKind);
    if (!job.ok()) return job.status();
    *resp->mutable_job() = std::move(*job);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* GithubServiceImpl::SetGithubRepository(
    grpc::CallbackServerContext* ctx, const fixmine::v1::SetGithubRepositoryRequest* req,
    fixmine::v1::SetGithubRepositoryResponse* resp) {
  return Serve(ctx, guards_, Role::kAdmin, Cost::kLight, [=, this]() -> absl::Status {
    std::string github;
    if (!req->github().empty()) {
      auto parsed = github::ParseGithubRepo(req->github());
      if (!parsed) {
        return absl::InvalidArgumentError(
            absl::StrCat("github ", QuoteInput(req->github()),
                         " is not OWNER/REPO or https://github.com/OWNER/REPO"));
      }
      github = *parsed;
    }
    auto repo = deps_.store->GetRepository(req->repo());
    if (!repo.ok()) return repo.status();
    repo->set_github(github);
    repo->clear_record_count();
    if (absl::Status st = deps_.store->PutRepository(*repo); !st.ok()) return st;
    *resp->mutable_repository() = std::move(*repo);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* GithubServiceImpl::ImportGithubEvents(
    grpc::CallbackServerContext* ctx, const fixmine::v1::ImportGithubEventsRequest* req,
    fixmine::v1::ImportGithubEventsResponse* resp) {
  return Serve(ctx, guards_, Role::kAdmin, Cost::kHeavy, [=, this]() -> absl::Status {
    if (req->items_size() > kMaxImportItems) {
      return absl::InvalidArgumentError(
          absl::StrCat("more than ", kMaxImportItems, " items in one request; send batches"));
    }
    std::lock_guard<std::mutex> lock(import_mu_);
    auto repos = deps_.store->ListRepositories();
    if (!repos.ok()) return repos.status();
    std::multimap<std::string, std::string> tied;  // lower-case owner/repo -> registered name
    for (const auto& r : *repos) {
      if (!r.github().empty()) tied.emplace(absl::AsciiStrToLower(r.github()), r.name());
    }
    storage::GithubWrite w;
    int64_t unmatched = 0;
    for (int i = 0; i < req->items_size(); ++i) {
      const auto& item = req->items(i);
      int kinds = item.has_issue() + item.has_pull() + item.has_comment();
      if (kinds != 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("items[", i, "] holds ", kinds, " objects; exactly one is expected"));
      }
      auto range = tied.equal_range(absl::AsciiStrToLower(item.github_repo()));
      if (range.first == range.second) {
        ++unmatched;
        continue;
      }
      for (auto it = range.first; it != range.second; ++it) {
        if (item.has_issue()) {
          w.issues.push_back(github::ToIssue(item.issue(), it->second));
        } else if (item.has_pull()) {
          fixmine::v1::PullRequest p = github::ToPull(item.pull(), it->second);
          // A pull request synced from the API keeps its commit list and links.
          auto old = deps_.github->GetPull(it->second, p.number());
          if (!old.ok()) return old.status();
          if (*old) {
            *p.mutable_commits() = (*old)->commits();
            p.set_commits_synced_at((*old)->commits_synced_at());
            *p.mutable_resolves() = (*old)->resolves();
            p.set_trajectory_id((*old)->trajectory_id());
            p.set_matched_by((*old)->matched_by());
          }
          w.pulls.push_back(std::move(p));
        } else if (auto c = github::ToComment(item.comment(), it->second, item.issue_number())) {
          w.comments.push_back(std::move(*c));
        }
      }
    }
    auto stored = deps_.github->Write(w);
    if (!stored.ok()) return stored.status();
    resp->set_stored(static_cast<int64_t>(w.issues.size() + w.pulls.size() + w.comments.size()));
    resp->set_unmatched(unmatched);
    if (req->link()) {
      // The link passes run as jobs, off the gRPC threads.
      for (const auto& r : *repos) {
        if (r.github().empty()) continue;
        auto job = runner_->StartKindJob(r.name(), kGithubLinkKind);
        if (job.ok()) {
          resp->add_link_jobs(job->id());
        } else if (job.status().code() != absl::StatusCode::kFailedPrecondition) {
          return job.status();
        }
      }
    }
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<fixmine::v1::StreamInstancesResponse>* GithubServiceImpl::StreamInstances(
    grpc::CallbackServerContext* ctx, const fixmine::v1::StreamInstancesRequest* req) {
  auto filter = std::make_shared<std::unique_ptr<storage::InstanceFilter>>();
  auto parsed = storage::InstanceFilter::Parse(req->filter());
  std::string context = std::string(kInstanceTokenContext);
  if (parsed.ok()) {
    *filter = std::move(*parsed);
    context += (*filter)->canonical();
  }
  absl::Status parse_status = parsed.status();
  GithubDeps deps = deps_;
  return BatchStream<fixmine::v1::StreamInstancesResponse>::Start(
      ctx, guards_, Role::kRead,
      std::make_unique<ScanBatches<fixmine::v1::StreamInstancesResponse, Instance>>(
          req->limit(), req->resume_token(), context, "instances",
          [parse_status] { return parse_status; },
          [deps, filter](const std::string& after, const auto& visit) {
            return deps.github->ScanInstances(
                filter->get(), after,
                [&](const Instance& i, const std::string& key) { return visit(&i, key); },
                [&](Instance* i) { Decontaminate(deps.decontam, i); });
          },
          [](fixmine::v1::StreamInstancesResponse* r) { return r->mutable_instances(); }));
}

grpc::ServerWriteReactor<fixmine::v1::StreamIssuesResponse>* GithubServiceImpl::StreamIssues(
    grpc::CallbackServerContext* ctx, const fixmine::v1::StreamIssuesRequest* req) {
  GithubDeps deps = deps_;
  const std::string& repo = req->repo();
  auto filter = std::make_shared<std::unique_ptr<storage::IssueFilter>>();
  auto parsed = storage::IssueFilter::Parse(req->filter());
  std::string context = absl::StrCat(std::string(kIssueTokenContext), repo, "\n");
  if (parsed.ok()) {
    *filter = std::move(*parsed);
    context += (*filter)->canonical();
  }
  absl::Status parse_status = parsed.status();
  return BatchStream<fixmine::v1::StreamIssuesResponse>::Start(
      ctx, guards_, Role::kRead,
      std::make_unique<ScanBatches<fixmine::v1::StreamIssuesResponse, Issue>>(
          req->limit(), req->resume_token(), context, "issues",
          [deps, repo, parse_status]() -> absl::Status {
            if (repo.empty()) return absl::InvalidArgumentError("repo is empty; name a repository");
            if (!parse_status.ok()) return parse_status;
            return deps.store->GetRepository(repo).status();
          },
          [deps, repo, filter](const std::string& after, const auto& visit) {
            return deps.github->ScanIssues(
                repo, after, [&](const Issue& i, const std::string& key) {
                  return visit((*filter)->Matches(i) ? &i : nullptr, key);
                });
          },
          [](fixmine::v1::StreamIssuesResponse* r) { return r->mutable_issues(); }));
}

}  // namespace fixmine::server
