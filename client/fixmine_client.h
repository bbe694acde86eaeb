#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fixmine/v1/admin.grpc.pb.h"
#include "fixmine/v1/github.grpc.pb.h"
#include "fixmine/v1/records_service.grpc.pb.h"
#include "fixmine/v1/trajectories.grpc.pb.h"
#include "storage/record_store.h"

namespace fixmine::client {

// How to reach a fixmined: its token and, for TLS, the CA to trust and an optional client
// certificate (mutual TLS). All files are PEM paths; empty means unset.
struct ConnectionOptions {
  // Sent as "authorization: Bearer TOKEN" when not empty.
  std::string token;
  // Use TLS, trusting this CA bundle (plaintext when empty and `tls` is false).
  std::string tls_ca;
  // Use TLS with the system's CAs when `tls_ca` is empty.
  bool tls = false;
  // Client certificate and key for mutual TLS.
  std::string tls_cert;
  std::string tls_key;
};

// A connection to one fixmined, covering every service it serves (records, admin and jobs,
// trajectories, GitHub and instances, health): the only place the client builds stubs and call
// metadata (the bearer token). Unary calls use a deadline (default 30 s) unless said otherwise;
// streams have none. Errors are the server's gRPC status as an absl::Status with the same code
// and message (UNAVAILABLE when the server cannot be reached). Thread-safe.
class FixmineClient {
 public:
  // Creates a client for `address` (HOST:PORT). `token`, when set, is sent as
  // "authorization: Bearer TOKEN". Connects lazily.
  FixmineClient(const std::string& address, const std::string& token);
  // Same with TLS settings. A TLS file that cannot be read is used as empty, so calls then fail
  // UNAVAILABLE (the CLI checks that the files exist first).
  FixmineClient(const std::string& address, const ConnectionOptions& options);

  absl::StatusOr<fixmine::v1::Repository> AddRepository(const std::string& source,
                                                        const std::string& name);
  absl::StatusOr<fixmine::v1::Repository> GetRepository(const std::string& name);
  absl::StatusOr<std::vector<fixmine::v1::Repository>> ListRepositories();
  absl::StatusOr<int64_t> RemoveRepository(const std::string& name);
  absl::StatusOr<fixmine::v1::Job> StartMining(const fixmine::v1::StartMiningRequest& request);
  absl::StatusOr<fixmine::v1::Job> GetJob(const std::string& id);
  absl::StatusOr<std::vector<fixmine::v1::Job>> ListJobs(const std::string& repo);
  absl::StatusOr<fixmine::v1::Job> CancelJob(const std::string& id);
  // Calls `on_event` for every progress event until the job ends; returns the stream status.
  absl::Status WatchJob(const std::string& id,
                        const std::function<void(const fixmine::v1::Job&)>& on_event);
  absl::StatusOr<fixmine::v1::GetStatsResponse> GetStats();
  // Returns the number of items stored.
  absl::StatusOr<int64_t> AddBenchmark(const fixmine::v1::AddBenchmarkRequest& request);
  absl::StatusOr<fixmine::v1::ListBenchmarksResponse> ListBenchmarks();
  absl::Status RemoveBenchmark(const std::string& name);
  // Store maintenance. These calls have no deadline: they take as long as the store needs.
  absl::StatusOr<fixmine::v1::BackupStoreResponse> BackupStore(const std::string& dir);
  absl::StatusOr<fixmine::v1::CompactStoreResponse> CompactStore();
  absl::StatusOr<fixmine::v1::VerifyStoreResponse> VerifyStore();

  absl::StatusOr<fixmine::v1::Record> GetRecord(const std::string& id);
  absl::StatusOr<int64_t> CountRecords(const std::string& filter);
  // CountRecords with every request field (sample) and the whole response (generation).
  absl::StatusOr<fixmine::v1::CountRecordsResponse> CountRecords(
      const fixmine::v1::CountRecordsRequest& request);
  // Creates a parallel read session; returns its stream names.
  absl::StatusOr<fixmine::v1::CreateReadSessionResponse> CreateReadSession(
      const fixmine::v1::CreateReadSessionRequest& request);
  // Reads one stream of a read session, like StreamRecords.
  absl::Status ReadStream(
      const fixmine::v1::ReadStreamRequest& request,
      const std::function<bool(const fixmine::v1::ReadStreamResponse&)>& on_batch,
      const std::function<void(grpc::ClientContext*)>& context_hook = {});
  absl::StatusOr<fixmine::v1::ListRecordsResponse> ListRecords(
      const fixmine::v1::ListRecordsRequest& request);
  // Streams records, calling `on_batch` for each response; `on_batch` returns false to stop
  // early (the call is then cancelled and OK is returned). `context_hook`, when set, receives the
  // call's context before the stream starts (to cancel it from another thread).
  absl::Status StreamRecords(
      const fixmine::v1::StreamRecordsRequest& request,
      const std::function<bool(const fixmine::v1::StreamRecordsResponse&)>& on_batch,
      const std::function<void(grpc::ClientContext*)>& context_hook = {});

  // Trajectories (docs/trajectories.md).
  absl::StatusOr<fixmine::v1::GetTrajectoryResponse> GetTrajectory(
      const fixmine::v1::GetTrajectoryRequest& request);
  // Streams trajectories, calling `on_batch` for each response; `on_batch` returns false to stop
  // early (the call is then cancelled and OK is returned).
  absl::Status StreamTrajectories(
      const fixmine::v1::StreamTrajectoriesRequest& request,
      const std::function<bool(const fixmine::v1::StreamTrajectoriesResponse&)>& on_batch);

  // GitHub data and instances (docs/github.md).
  // Ties registered repository `repo` to GitHub repository `github` (OWNER/REPO or its URL).
  absl::StatusOr<fixmine::v1::Repository> SetGithubRepository(const std::string& repo,
                                                              const std::string& github);
  // Starts a sync job of `repo`'s issues, pull requests and comments; returns the job.
  absl::StatusOr<fixmine::v1::Job> SyncGithub(const std::string& repo);
  // Stores one batch of GH Archive items. Deadline 600 s: a batch of 2 MiB may be slow to store.
  absl::StatusOr<fixmine::v1::ImportGithubEventsResponse> ImportGithubEvents(
      const fixmine::v1::ImportGithubEventsRequest& request);
  // Streams a repository's issues / the instances, as StreamRecords does.
  absl::Status StreamIssues(
      const fixmine::v1::StreamIssuesRequest& request,
      const std::function<bool(const fixmine::v1::StreamIssuesResponse&)>& on_batch);
  absl::Status StreamInstances(
      const fixmine::v1::StreamInstancesRequest& request,
      const std::function<bool(const fixmine::v1::StreamInstancesResponse&)>& on_batch);

  // grpc.health.v1 Check of the whole server: OK when SERVING.
  absl::Status Health();
  // The health of the store's writes (service kStoreWritesHealthService): OK while the store
  // takes writes (or the server does not report it); FAILED_PRECONDITION with what to do when
  // the store refuses writes after an I/O error or a full disk (docs/reliability.md); the
  // call's own error otherwise.
  absl::Status StoreWritesHealth();

  void set_deadline_seconds(int s) { deadline_seconds_ = s; }

  // The channel (with the TLS settings of the options) for stubs of other services; shared.
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

 private:
  // Sets the call's deadline (`deadline_seconds` from now; none when 0) and its token.
  void Prepare(grpc::ClientContext* ctx, int deadline_seconds) const;
  // One unary call of `method` on `stub` with `deadline_seconds` (0: none); the response, or
  // the call's status.
  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Call(Stub* stub,
                                grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                             Response*),
                                const Request& request, int deadline_seconds) const;
  // A unary call with the client's deadline.
  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Call(Stub* stub,
                                grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                             Response*),
                                const Request& request) const {
    return Call(stub, method, request, deadline_seconds_);
  }
  // A server stream of `method` on `stub`, handed to `on_batch` (see StreamRecords).
  template <typename Stub, typename Request, typename Response>
  absl::Status Stream(Stub* stub,
                      std::unique_ptr<grpc::ClientReader<Response>> (Stub::*method)(
                          grpc::ClientContext*, const Request&),
                      const Request& request, const std::function<bool(const Response&)>& on_batch,
                      const std::function<void(grpc::ClientContext*)>& context_hook = {}) const;
  // grpc.health.v1 Check of `service`: OK for SERVING, UNAVAILABLE for NOT_SERVING, the call's
  // status otherwise (NOT_FOUND for a name the server does not know).
  absl::Status HealthOf(const std::string& service);

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<fixmine::v1::AdminService::Stub> admin_;
  std::unique_ptr<fixmine::v1::RecordService::Stub> records_;
  std::unique_ptr<fixmine::v1::TrajectoryService::Stub> trajectories_;
  std::unique_ptr<fixmine::v1::GithubService::Stub> github_;
  std::string token_;
  int deadline_seconds_ = 30;
};

// Converts a gRPC status into an absl::Status with the same code and message.
absl::Status FromGrpc(const grpc::Status& status);

}  // namespace fixmine::client
