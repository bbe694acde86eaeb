#include "server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "miner/clone.h"
#include "server/status_convert.h"

namespace fixmine::server {

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerConfig& config_in) {
  std::unique_ptr<Server> s(new Server());
  s->config_ = config_in;
  ServerConfig& config = s->config_;
  if (config.data_dir.empty()) {
    return absl::InvalidArgumentError("--data-dir is required");
  }
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("creating data folder \"", config.data_dir, "\": ", ec.message()));
  }
  // Allowed roots are compared by real path, so symlinks cannot lead outside them.
  for (auto& root : config.allowed_roots) {
    char buf[PATH_MAX];
    if (realpath(root.c_str(), buf) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("--allowed-root \"", root, "\" does not exist"));
    }
    root = buf;
  }
  // A clone killed mid-way (SIGKILL, a crash) leaves its private temporary folder behind; no
  // clone runs yet, so every such folder is a leftover.
  {
    int failed = 0;
    const std::string mirrors = (std::filesystem::path(config.data_dir) / "mirrors").string();
    int removed = miner::RemoveInterruptedClones(mirrors, &failed);
    if (removed > 0 || failed > 0) {
      Log(failed > 0 ? LogLevel::kWarn : LogLevel::kInfo,
          absl::StrCat("removed ", removed, " interrupted clone folder(s) from \"", mirrors, "\"",
                       failed > 0 ? absl::StrCat("; ", failed, " could not be removed") : ""));
    }
  }
  storage::StoreOptions store_options;
  store_options.near_dup_threshold = config.near_dup_threshold;
  store_options.accept_damaged_manifest = config.accept_damaged_store;
  auto store = storage::RecordStore::Open(
      (std::filesystem::path(config.data_dir) / "store").string(), store_options);
  if (!store.ok()) return store.status();
  s->store_ = std::move(*store);
  s->decontam_ = std::make_unique<Decontaminator>(s->store_.get());
  if (absl::Status st = s->decontam_->Start(); !st.ok()) return st;
  auto trajectory_store = storage::TrajectoryStore::Of(s->store_.get());
  if (!trajectory_store.ok()) return trajectory_store.status();
  s->trajectory_store_ = std::move(*trajectory_store);
  s->runner_ = std::make_unique<JobRunner>(s->store_.get(), config);
  s->runner_->SetTrajectoryStore(s->trajectory_store_.get());
  s->runner_->SetDecontaminator(s->decontam_.get());
  if (absl::Status st = s->StartMetrics(); !st.ok()) return st;
  auto github_store = storage::GithubStore::Of(s->store_.get());
  if (!github_store.ok()) return github_store.status();
  s->github_store_ = std::move(*github_store);
  GithubDeps github_deps{.store = s->store_.get(),
                         .trajectories = s->trajectory_store_.get(),
                         .github = s->github_store_.get(),
                         .decontam = s->decontam_.get(),
                         .metrics = s->metrics_.get(),
                         .config = &s->config_};
  s->runner_->SetKindRunner(kGithubSyncKind, MakeGithubSyncKind(github_deps));
  s->runner_->SetKindRunner(kGithubLinkKind, MakeGithubLinkKind(github_deps));
  s->runner_->SetAfterMine(MakeGithubAfterMine(github_deps));
  // Security (docs/security.md): a token file that cannot be used stops the start (fail
  // closed); TLS when a certificate is given; a cap on open streams with an idle deadline.
  s->auth_ = std::make_unique<Authorizer>();
  if (!config.token_file.empty()) {
    auto auth = Authorizer::Load(config.token_file);
    if (!auth.ok()) return auth.status();
    *s->auth_ = std::move(*auth);
  }
  auto creds = MakeServerCredentials(config.tls);
  if (!creds.ok()) return creds.status();
  s->streams_ = std::make_unique<StreamRegistry>(config.max_streams,
                                                 std::chrono::seconds(config.stream_idle_seconds));
  s->heavy_ = std::make_unique<Executor>("store-sized calls", kHeavyWorkers, kHeavyQueue);
  s->batches_ = std::make_unique<Executor>("stream batches", kBatchWorkers, kBatchQueue);
  CallGuards guards{s->auth_.get(), s->streams_.get(), s->heavy_.get(), s->batches_.get()};
  s->admin_ = std::make_unique<AdminServiceImpl>(s->store_.get(), s->runner_.get(), &s->config_,
                                                 s->decontam_.get(), guards);
  s->records_ = std::make_unique<RecordServiceImpl>(s->store_.get(), guards, s->metrics_.get());
  s->trajectories_ = std::make_unique<TrajectoryServiceImpl>(
      s->store_.get(), s->trajectory_store_.get(), guards,
      static_cast<size_t>(std::max<int64_t>(0, config.max_record_bytes)));
  s->github_ = std::make_unique<GithubServiceImpl>(github_deps, s->runner_.get(), guards);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen, *creds, &s->port_);
  builder.RegisterService(s->admin_.get());
  builder.RegisterService(s->records_.get());
  builder.RegisterService(s->trajectories_.get());
  builder.RegisterService(s->github_.get());
  {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    // First: unparseable requests and long messages (server/status_convert.h), so that the
    // metrics see the status the client gets.
    creators.push_back(StatusGuardInterceptorFactory());
    // Counts every call and writes its access log line (server/metrics.h).
    creators.push_back(s->metrics_->InterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  builder.SetMaxReceiveMessageSize(config.max_request_bytes);
  builder.SetMaxSendMessageSize(64 << 20);
  // A vanished client frees its stream: keepalive pings detect dead connections.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Clients' own keepalive pings are accepted every 10 s at most, even with no call open.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  s->grpc_ = builder.BuildAndStart();
  if (!s->grpc_ || s->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on \"", config.listen, "\""));
  }
  // The store's writes as a health service of their own (docs/reliability.md): NOT_SERVING once
  // a disk error fences the store, while the server ("") stays SERVING for reads.
  if (grpc::HealthCheckServiceInterface* health = s->grpc_->GetHealthCheckService()) {
    health->SetServingStatus(storage::kStoreWritesHealthService, true);
    s->store_->SetFenceCallback([health](const absl::Status& fence) {
      health->SetServingStatus(storage::kStoreWritesHealthService, false);
      Log(LogLevel::kError,
          absl::StrCat("the store refuses writes from now on: ", fence.message()));
    });
  }
  if (absl::Status st = s->runner_->Start(); !st.ok()) return st;
  if (!config.port_file.empty()) {
    std::string tmp = config.port_file + ".tmp";
    {
      std::ofstream f(tmp, std::ios::trunc);
      f << s->port_ << "\n";
    }
    std::filesystem::rename(tmp, config.port_file, ec);
  }
  return s;
}

Server::~Server() {
  Shutdown();
  // Destroyed here, not in Shutdown: Shutdown may run on another thread (fixmined's signal
  // thread) while Wait is still inside grpc_->Wait() (a race TSan found).
  if (store_ != nullptr) store_->SetFenceCallback(nullptr);  // it names grpc_'s health service
  grpc_.reset();
  heavy_.reset();
  batches_.reset();
  metrics_.reset();  // stops /metrics before the runner and store its gauges read go away
  runner_.reset();
  decontam_.reset();
  trajectories_.reset();
  github_.reset();
  github_store_.reset();
  trajectory_store_.reset();
  store_.reset();
}

void Server::Shutdown(int grace_ms) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  // Jobs are asked to stop first, so they stop while gRPC drains its calls; then joined.
  if (runner_) runner_->RequestStop();
  if (grpc_) {
    grpc_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(grace_ms));
  }
  // Every call has finished: the queues are empty.
  if (heavy_) heavy_->Shutdown();
  if (batches_) batches_->Shutdown();
  if (runner_) runner_->Shutdown();
  if (decontam_) decontam_->Shutdown();
}

absl::Status Server::StartMetrics() {
  metrics_ = std::make_unique<Metrics>();
  storage::RecordStore* store = store_.get();
  JobRunner* runner = runner_.get();
  metrics_->AddGaugeCallback("fixmine_store_size_bytes",
                             "Approximate bytes of the record store on disk (SST files, blob "
                             "files and memtables).",
                             [store] { return static_cast<double>(store->ApproximateSize()); });
  metrics_->AddGaugeCallback("fixmine_store_records", "Records in the store.", [store] {
    auto n = store->TotalRecords();
    return n.ok() ? static_cast<double>(*n) : -1.0;
  });
  metrics_->AddGaugeCallback("fixmine_jobs_active", "Mining jobs queued or running.",
                             [runner] { return static_cast<double>(runner->ActiveJobs()); });
  runner_->SetMetrics(metrics_.get());
  if (config_.metrics_listen.empty()) return absl::OkStatus();
  if (absl::Status st = metrics_->Serve(config_.metrics_listen); !st.ok()) return st;
  // The bound port, not the requested one (":0" picks one).
  const std::string& listen = config_.metrics_listen;
  const size_t colon = listen.rfind(':');
  const std::string host = colon == std::string::npos ? listen : listen.substr(0, colon);
  Log(LogLevel::kInfo,
      absl::StrCat("serving metrics at http://", host, ":", metrics_->port(), "/metrics"));
  return absl::OkStatus();
}

void Server::Wait() {
  if (grpc_) grpc_->Wait();
}

}  // namespace fixmine::server
