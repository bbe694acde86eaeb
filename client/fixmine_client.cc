#include "client/fixmine_client.h"

#include <grpcpp/generic/generic_stub.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>

namespace fixmine::client {

using namespace fixmine::v1;

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

namespace {

std::string ReadPem(const std::string& path) {
  if (path.empty()) return "";
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

FixmineClient::FixmineClient(const std::string& address, const std::string& token)
    : FixmineClient(address, ConnectionOptions{.token = token}) {}

FixmineClient::FixmineClient(const std::string& address, const ConnectionOptions& options)
    : token_(options.token) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (options.tls || !options.tls_ca.empty() || !options.tls_cert.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadPem(options.tls_ca);
    ssl.pem_cert_chain = ReadPem(options.tls_cert);
    ssl.pem_private_key = ReadPem(options.tls_key);
    creds = grpc::SslCredentials(ssl);
  }
  channel_ = grpc::CreateCustomChannel(address, creds, args);
  admin_ = AdminService::NewStub(channel_);
  records_ = RecordService::NewStub(channel_);
  trajectories_ = TrajectoryService::NewStub(channel_);
  github_ = GithubService::NewStub(channel_);
}

void FixmineClient::Prepare(grpc::ClientContext* ctx, int deadline_seconds) const {
  if (deadline_seconds > 0) {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(deadline_seconds));
  }
  if (!token_.empty()) ctx->AddMetadata("authorization", "Bearer " + token_);
}

template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> FixmineClient::Call(
    Stub* stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
    const Request& request, int deadline_seconds) const {
  grpc::ClientContext ctx;
  Prepare(&ctx, deadline_seconds);
  Response response;
  grpc::Status gs = (stub->*method)(&ctx, request, &response);
  if (!gs.ok()) return FromGrpc(gs);
  return response;
}

template <typename Stub, typename Request, typename Response>
absl::Status FixmineClient::Stream(
    Stub* stub,
    std::unique_ptr<grpc::ClientReader<Response>> (Stub::*method)(grpc::ClientContext*,
                                                                  const Request&),
    const Request& request, const std::function<bool(const Response&)>& on_batch,
    const std::function<void(grpc::ClientContext*)>& context_hook) const {
  grpc::ClientContext ctx;
  Prepare(&ctx, 0);
  if (context_hook) context_hook(&ctx);
  std::unique_ptr<grpc::ClientReader<Response>> reader = (stub->*method)(&ctx, request);
  absl::Status st = absl::OkStatus();
  Response resp;
  bool stopped = false;
  while (reader->Read(&resp)) {
    if (!on_batch(resp)) {
      ctx.TryCancel();
      (void)reader->Finish();
      stopped = true;
      break;
    }
  }
  if (!stopped) st = FromGrpc(reader->Finish());
  if (context_hook) context_hook(nullptr);
  return st;
}

// Store maintenance may run for minutes on a large store, and a count over a large store may
// take a while: those calls have no deadline.
constexpr int kNoDeadline = 0;

absl::StatusOr<Repository> FixmineClient::AddRepository(const std::string& source,
                                                        const std::string& name) {
  AddRepositoryRequest req;
  req.set_source(source);
  req.set_name(name);
  auto resp = Call(admin_.get(), &AdminService::Stub::AddRepository, req);
  if (!resp.ok()) return resp.status();
  return resp->repository();
}

absl::StatusOr<Repository> FixmineClient::GetRepository(const std::string& name) {
  GetRepositoryRequest req;
  req.set_name(name);
  auto resp = Call(admin_.get(), &AdminService::Stub::GetRepository, req);
  if (!resp.ok()) return resp.status();
  return resp->repository();
}

absl::StatusOr<std::vector<Repository>> FixmineClient::ListRepositories() {
  auto resp = Call(admin_.get(), &AdminService::Stub::ListRepositories, ListRepositoriesRequest());
  if (!resp.ok()) return resp.status();
  return std::vector<Repository>(resp->repositories().begin(), resp->repositories().end());
}

absl::StatusOr<int64_t> FixmineClient::RemoveRepository(const std::string& name) {
  RemoveRepositoryRequest req;
  req.set_name(name);
  auto resp = Call(admin_.get(), &AdminService::Stub::RemoveRepository, req);
  if (!resp.ok()) return resp.status();
  return resp->records_removed();
}

absl::StatusOr<Job> FixmineClient::StartMining(const StartMiningRequest& req) {
  auto resp = Call(admin_.get(), &AdminService::Stub::StartMining, req);
  if (!resp.ok()) return resp.status();
  return resp->job();
}

absl::StatusOr<Job> FixmineClient::GetJob(const std::string& id) {
  GetJobRequest req;
  req.set_id(id);
  auto resp = Call(admin_.get(), &AdminService::Stub::GetJob, req);
  if (!resp.ok()) return resp.status();
  return resp->job();
}

absl::StatusOr<std::vector<Job>> FixmineClient::ListJobs(const std::string& repo) {
  ListJobsRequest req;
  req.set_repo(repo);
  auto resp = Call(admin_.get(), &AdminService::Stub::ListJobs, req);
  if (!resp.ok()) return resp.status();
  return std::vector<Job>(resp->jobs().begin(), resp->jobs().end());
}

absl::StatusOr<Job> FixmineClient::CancelJob(const std::string& id) {
  CancelJobRequest req;
  req.set_id(id);
  auto resp = Call(admin_.get(), &AdminService::Stub::CancelJob, req);
  if (!resp.ok()) return resp.status();
  return resp->job();
}

absl::Status FixmineClient::WatchJob(const std::string& id,
                                     const std::function<void(const Job&)>& on_event) {
  WatchJobRequest req;
  req.set_id(id);
  return Stream(admin_.get(), &AdminService::Stub::WatchJob, req,
                std::function<bool(const WatchJobResponse&)>([&](const WatchJobResponse& resp) {
                  on_event(resp.job());
                  return true;
                }));
}

absl::StatusOr<GetStatsResponse> FixmineClient::GetStats() {
  return Call(admin_.get(), &AdminService::Stub::GetStats, GetStatsRequest());
}

absl::StatusOr<int64_t> FixmineClient::AddBenchmark(const AddBenchmarkRequest& req) {
  auto resp = Call(admin_.get(), &AdminService::Stub::AddBenchmark, req);
  if (!resp.ok()) return resp.status();
  return resp->item_count();
}

absl::StatusOr<BackupStoreResponse> FixmineClient::BackupStore(const std::string& dir) {
  BackupStoreRequest req;
  req.set_dir(dir);
  return Call(admin_.get(), &AdminService::Stub::BackupStore, req, kNoDeadline);
}

absl::StatusOr<CompactStoreResponse> FixmineClient::CompactStore() {
  return Call(admin_.get(), &AdminService::Stub::CompactStore, CompactStoreRequest(), kNoDeadline);
}

absl::StatusOr<VerifyStoreResponse> FixmineClient::VerifyStore() {
  return Call(admin_.get(), &AdminService::Stub::VerifyStore, VerifyStoreRequest(), kNoDeadline);
}

absl::StatusOr<ListBenchmarksResponse> FixmineClient::ListBenchmarks() {
  return Call(admin_.get(), &AdminService::Stub::ListBenchmarks, ListBenchmarksRequest());
}

absl::Status FixmineClient::RemoveBenchmark(const std::string& name) {
  RemoveBenchmarkRequest req;
  req.set_name(name);
  return Call(admin_.get(), &AdminService::Stub::RemoveBenchmark, req).status();
}

absl::StatusOr<Record> FixmineClient::GetRecord(const std::string& id) {
  GetRecordRequest req;
  req.set_id(id);
  auto resp = Call(records_.get(), &RecordService::Stub::GetRecord, req);
  if (!resp.ok()) return resp.status();
  return resp->record();
}

absl::StatusOr<int64_t> FixmineClient::CountRecords(const std::string& filter) {
  CountRecordsRequest req;
  req.set_filter(filter);
  auto resp = CountRecords(req);
  if (!resp.ok()) return resp.status();
  return resp->count();
}

absl::StatusOr<CountRecordsResponse> FixmineClient::CountRecords(const CountRecordsRequest& req) {
  return Call(records_.get(), &RecordService::Stub::CountRecords, req, kNoDeadline);
}

absl::StatusOr<CreateReadSessionResponse> FixmineClient::CreateReadSession(
    const CreateReadSessionRequest& req) {
  return Call(records_.get(), &RecordService::Stub::CreateReadSession, req);
}

absl::Status FixmineClient::ReadStream(
    const ReadStreamRequest& req, const std::function<bool(const ReadStreamResponse&)>& on_batch,
    const std::function<void(grpc::ClientContext*)>& context_hook) {
  return Stream(records_.get(), &RecordService::Stub::ReadStream, req, on_batch, context_hook);
}

absl::StatusOr<ListRecordsResponse> FixmineClient::ListRecords(const ListRecordsRequest& req) {
  return Call(records_.get(), &RecordService::Stub::ListRecords, req);
}

absl::Status FixmineClient::StreamRecords(
    const StreamRecordsRequest& req,
    const std::function<bool(const StreamRecordsResponse&)>& on_batch,
    const std::function<void(grpc::ClientContext*)>& context_hook) {
  return Stream(records_.get(), &RecordService::Stub::StreamRecords, req, on_batch, context_hook);
}

absl::StatusOr<GetTrajectoryResponse> FixmineClient::GetTrajectory(
    const GetTrajectoryRequest& req) {
  return Call(trajectories_.get(), &TrajectoryService::Stub::GetTrajectory, req);
}

absl::Status FixmineClient::StreamTrajectories(
    const StreamTrajectoriesRequest& req,
    const std::function<bool(const StreamTrajectoriesResponse&)>& on_batch) {
  return Stream(trajectories_.get(), &TrajectoryService::Stub::StreamTrajectories, req, on_batch);
}

absl::StatusOr<Repository> FixmineClient::SetGithubRepository(const std::string& repo,
                                                              const std::string& github) {
  SetGithubRepositoryRequest req;
  req.set_repo(repo);
  req.set_github(github);
  auto resp = Call(github_.get(), &GithubService::Stub::SetGithubRepository, req);
  if (!resp.ok()) return resp.status();
  return resp->repository();
}

absl::StatusOr<Job> FixmineClient::SyncGithub(const std::string& repo) {
  SyncGithubRequest req;
  req.set_repo(repo);
  auto resp = Call(github_.get(), &GithubService::Stub::SyncGithub, req);
  if (!resp.ok()) return resp.status();
  return resp->job();
}

absl::StatusOr<ImportGithubEventsResponse> FixmineClient::ImportGithubEvents(
    const ImportGithubEventsRequest& req) {
  constexpr int kImportDeadlineSeconds = 600;
  return Call(github_.get(), &GithubService::Stub::ImportGithubEvents, req, kImportDeadlineSeconds);
}

absl::Status FixmineClient::StreamIssues(
    const StreamIssuesRequest& req,
    const std::function<bool(const StreamIssuesResponse&)>& on_batch) {
  return Stream(github_.get(), &GithubService::Stub::StreamIssues, req, on_batch);
}

absl::Status FixmineClient::StreamInstances(
    const StreamInstancesRequest& req,
    const std::function<bool(const StreamInstancesResponse&)>& on_batch) {
  return Stream(github_.get(), &GithubService::Stub::StreamInstances, req, on_batch);
}

absl::Status FixmineClient::Health() { return HealthOf(""); }

absl::Status FixmineClient::StoreWritesHealth() {
  absl::Status st = HealthOf(storage::kStoreWritesHealthService);
  // A server of an earlier release does not know the name: it has no fence to report.
  if (st.code() == absl::StatusCode::kNotFound) return absl::OkStatus();
  if (st.code() != absl::StatusCode::kUnavailable) return st;
  return absl::FailedPreconditionError(
      "writes refused: a write to the store failed with an I/O error or on a full disk, and the "
      "store takes no more writes until fixmined is restarted (reads go on; the server log and "
      "the failed job name the error); fix the disk or free space, restart fixmined, then run "
      "`fixmine db verify`");
}

absl::Status FixmineClient::HealthOf(const std::string& service) {
  grpc::GenericStub stub(channel_);
  grpc::ClientContext ctx;
  Prepare(&ctx, deadline_seconds_);
  // HealthCheckRequest{service = 1: string}; the empty name encodes to zero bytes.
  std::string encoded;
  if (!service.empty()) {
    encoded.push_back(0x0a);
    encoded.push_back(static_cast<char>(service.size()));  // names shorter than 128 bytes
    encoded += service;
  }
  grpc::Slice body(encoded.data(), encoded.size());
  grpc::ByteBuffer request(&body, 1);
  grpc::ByteBuffer response;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status result;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   std::lock_guard<std::mutex> l(mu);
                   result = std::move(s);
                   done = true;
                   cv.notify_all();
                 });
  std::unique_lock<std::mutex> l(mu);
  cv.wait(l, [&] { return done; });
  if (!result.ok()) return FromGrpc(result);
  std::vector<grpc::Slice> slices;
  (void)response.Dump(&slices);
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  // HealthCheckResponse{status = 1: ServingStatus}; SERVING is 1.
  if (bytes.size() >= 2 && bytes[0] == 0x08 && bytes[1] == 0x01) return absl::OkStatus();
  return absl::UnavailableError("server answered health check with NOT_SERVING");
}

}  // namespace fixmine::client
