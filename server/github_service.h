#pragma once

// GithubService (proto/fixmine/v1/github.proto, docs/github.md) and the `github_sync` job kind.

#include <memory>

#include "fixmine/v1/github.grpc.pb.h"
#include "server/decontaminator.h"
#include "server/job_runner.h"
#include "server/metrics.h"
#include "server/server_config.h"
#include "server/services.h"
#include "storage/github_store.h"
#include "storage/record_store.h"
#include "storage/trajectory_store.h"

namespace fixmine::server {

// The stores and helpers GitHub work needs; all borrowed, outliving their users.
struct GithubDeps {
  storage::RecordStore* store = nullptr;
  storage::TrajectoryStore* trajectories = nullptr;
  storage::GithubStore* github = nullptr;
  Decontaminator* decontam = nullptr;  // may be null
  Metrics* metrics = nullptr;          // may be null
  const ServerConfig* config = nullptr;
};

// The job kinds of a GitHub sync and of a link pass alone (after an import).
inline constexpr char kGithubSyncKind[] = "github_sync";
inline constexpr char kGithubLinkKind[] = "github_link";

// The function of the `github_sync` job kind (JobRunner::SetKindRunner): syncs the job's
// repository from config->github_api_url (github/sync.h), publishing requests, 304s, objects and
// waits in the job's fields and `metrics`, then runs the link pass (github/linker.h).
JobRunner::KindFn MakeGithubSyncKind(GithubDeps deps);
// The function of the `github_link` job kind: the link pass of the job's repository
// (records_written: records relabelled; commits_walked: instances stored).
JobRunner::KindFn MakeGithubLinkKind(GithubDeps deps);

// The JobRunner's after-mine hook (JobRunner::SetAfterMine): for a repository tied to GitHub,
// runs the link pass so that newly mined records and trajectories are linked to the issues
// already synced or imported. Failures are logged, not the job's.
std::function<void(const fixmine::v1::Repository&)> MakeGithubAfterMine(GithubDeps deps);

// GithubService on the gRPC callback API. Sync, import and SetGithubRepository need an admin
// token, reads a read token (when tokens are configured); streams take a stream slot and keep
// one write in flight. Thread-safe.
class GithubServiceImpl final : public fixmine::v1::GithubService::CallbackService {
 public:
  GithubServiceImpl(GithubDeps deps, JobRunner* runner, CallGuards guards)
      : deps_(deps), runner_(runner), guards_(guards) {}

  grpc::ServerUnaryReactor* SyncGithub(grpc::CallbackServerContext* ctx,
                                       const fixmine::v1::SyncGithubRequest* req,
                                       fixmine::v1::SyncGithubResponse* resp) override;
  grpc::ServerUnaryReactor* SetGithubRepository(
      grpc::CallbackServerContext* ctx, const fixmine::v1::SetGithubRepositoryRequest* req,
      fixmine::v1::SetGithubRepositoryResponse* resp) override;
  grpc::ServerUnaryReactor* ImportGithubEvents(
      grpc::CallbackServerContext* ctx, const fixmine::v1::ImportGithubEventsRequest* req,
      fixmine::v1::ImportGithubEventsResponse* resp) override;
  grpc::ServerWriteReactor<fixmine::v1::StreamInstancesResponse>* StreamInstances(
      grpc::CallbackServerContext* ctx, const fixmine::v1::StreamInstancesRequest* req) override;
  grpc::ServerWriteReactor<fixmine::v1::StreamIssuesResponse>* StreamIssues(
      grpc::CallbackServerContext* ctx, const fixmine::v1::StreamIssuesRequest* req) override;

 private:
  GithubDeps deps_;
  JobRunner* runner_;
  CallGuards guards_;
  // Serialises imports (their link passes rewrite records).
  std::mutex import_mu_;
};

}  // namespace fixmine::server
