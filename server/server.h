#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/status/statusor.h"
#include "server/github_service.h"
#include "server/job_runner.h"
#include "server/metrics.h"
#include "server/server_config.h"
#include "server/services.h"
#include "server/trajectory_service.h"
#include "storage/record_store.h"

namespace fixmine::server {

// One running fixmined: the store, the job runner, and the gRPC server with AdminService,
// RecordService, TrajectoryService, GithubService, grpc.health.v1 and reflection. Thread-safe.
class Server {
 public:
  // Opens the store under config.data_dir/store, resumes interrupted jobs and starts listening.
  // Errors: the store cannot be opened, the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerConfig& config);
  ~Server();

  // The port actually bound (useful with port 0).
  int port() const { return port_; }
  // The port /metrics is served on; 0 when --metrics-listen is not set.
  int metrics_port() const { return metrics_ ? metrics_->port() : 0; }

  // Asks running jobs to stop, stops accepting calls, lets calls in flight finish (up to
  // `grace_ms`, then cancels them) and waits for the jobs, which stay RUNNING in the store and
  // resume at the next start. Idempotent; may run on another thread than Wait. The store closes
  // when the Server is destroyed (after Wait has returned). fixmined bounds the whole stop
  // (--shutdown-timeout).
  void Shutdown(int grace_ms = 1000);

  // Blocks until Shutdown.
  void Wait();

  // Records on every job still running that it did not stop in time (JobRunner::MarkStuck):
  // fixmined calls it when the shutdown bound ran out, just before exiting without waiting.
  // Must not race the Server's destruction.
  void MarkStuckJobs() {
    if (runner_) runner_->MarkStuck();
  }

 private:
  Server() = default;
  // Creates metrics_ (gauges over the store and runner), hands it to the runner and, with
  // --metrics-listen, serves it. Called by Start once the store and runner exist.
  absl::Status StartMetrics();
  ServerConfig config_;
  std::unique_ptr<storage::RecordStore> store_;
  std::unique_ptr<Metrics> metrics_;  // destroyed before store_ (its gauges read the store)
  std::unique_ptr<Decontaminator> decontam_;
  std::unique_ptr<Authorizer> auth_;
  std::unique_ptr<StreamRegistry> streams_;
  // Where store-sized unary calls and stream batches run (server/rpc.h); shut down after
  // grpc_ (their tasks finish calls), destroyed before the stores.
  std::unique_ptr<Executor> heavy_;
  std::unique_ptr<Executor> batches_;
  std::unique_ptr<JobRunner> runner_;
  std::unique_ptr<AdminServiceImpl> admin_;
  std::unique_ptr<RecordServiceImpl> records_;
  std::unique_ptr<storage::TrajectoryStore> trajectory_store_;
  std::unique_ptr<TrajectoryServiceImpl> trajectories_;
  std::unique_ptr<storage::GithubStore> github_store_;
  std::unique_ptr<GithubServiceImpl> github_;
  std::unique_ptr<grpc::Server> grpc_;
  int port_ = 0;
  std::mutex mu_;
  bool shut_down_ = false;
};

}  // namespace fixmine::server
