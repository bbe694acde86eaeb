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

// Reads a server stream to its end, handing each response to `on_batch`; when `on_batch`
// returns false the call is cancelled and OK is returned.
template <typename Response>
absl::Status DrainStream(grpc::ClientContext* ctx,
                         std::unique_ptr<grpc::ClientReader<Response>> reader,
                         const std::function<bool(const Response&)>& on_batch) {
  Response resp;
  while (reader->Read(&resp)) {
    if (!on_batch(resp)) {
      ctx->TryCancel();
      (void)reader->Finish();
      return absl::OkStatus();
    }
  }
  return FromGrpc(reader->Finish());
}

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
}

void FixmineClient::Prepare(grpc::ClientContext* ctx, bool deadline) const {
  if (deadline) {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(deadline_seconds_));
  }
  if (!token_.empty()) ctx->AddMetadata("authorization", "Bearer " + token_);
}

#define FIXMINE_UNARY(stub, Method, req, resp)      \
  grpc::ClientContext ctx;                          \
  Prepare(&ctx, true);                              \
  grpc::Status gs = stub->Method(&ctx, req, &resp); \
  if (!gs.ok()) return FromGrpc(gs)

absl::StatusOr<Repository> FixmineClient::AddRepository(const std::string& source,
                                                        const std::string& name) {
  AddRepositoryRequest req;
  req.set_source(source);
  req.set_name(name);
  AddRepositoryResponse resp;
  FIXMINE_UNARY(admin_, AddRepository, req, resp);
  return resp.repository();
}

absl::StatusOr<Repository> FixmineClient::GetRepository(const std::string& name) {
  GetRepositoryRequest req;
  req.set_name(name);
  GetRepositoryResponse resp;
  FIXMINE_UNARY(admin_, GetRepository, req, resp);
  return resp.repository();
}

absl::StatusOr<std::vector<Repository>> FixmineClient::ListRepositories() {
  ListRepositoriesRequest req;
  ListRepositoriesResponse resp;
  FIXMINE_UNARY(admin_, ListRepositories, req, resp);
  return std::vector<Repository>(resp.repositories().begin(), resp.repositories().end());
}

absl::StatusOr<int64_t> FixmineClient::RemoveRepository(const std::string& name) {
  RemoveRepositoryRequest req;
  req.set_name(name);
  RemoveRepositoryResponse resp;
  FIXMINE_UNARY(admin_, RemoveRepository, req, resp);
  return resp.records_removed();
}

absl::StatusOr<Job> FixmineClient::StartMining(const StartMiningRequest& req) {
  StartMiningResponse resp;
  FIXMINE_UNARY(admin_, StartMining, req, resp);
  return resp.job();
}

absl::StatusOr<Job> FixmineClient::GetJob(const std::string& id) {
  GetJobRequest req;
  req.set_id(id);
  GetJobResponse resp;
  FIXMINE_UNARY(admin_, GetJob, req, resp);
  return resp.job();
}

absl::StatusOr<std::vector<Job>> FixmineClient::ListJobs(const std::string& repo) {
  ListJobsRequest req;
  req.set_repo(repo);
  ListJobsResponse resp;
  FIXMINE_UNARY(admin_, ListJobs, req, resp);
  return std::vector<Job>(resp.jobs().begin(), resp.jobs().end());
}

absl::StatusOr<Job> FixmineClient::CancelJob(const std::string& id) {
  CancelJobRequest req;
  req.set_id(id);
  CancelJobResponse resp;
  FIXMINE_UNARY(admin_, CancelJob, req, resp);
  return resp.job();
}

absl::Status FixmineClient::WatchJob(const std::string& id,
                                     const std::function<void(const Job&)>& on_event) {
  grpc::ClientContext ctx;
  Prepare(&ctx, false);
  WatchJobRequest req;
  req.set_id(id);
  auto reader = admin_->WatchJob(&ctx, req);
  WatchJobResponse resp;
  while (reader->Read(&resp)) on_event(resp.job());
  return FromGrpc(reader->Finish());
}

absl::StatusOr<GetStatsResponse> FixmineClient::GetStats() {
  GetStatsRequest req;
  GetStatsResponse resp;
  FIXMINE_UNARY(admin_, GetStats, req, resp);
  return resp;
}

absl::StatusOr<int64_t> FixmineClient::AddBenchmark(const fixmine::v1::AddBenchmarkRequest& req) {
  fixmine::v1::AddBenchmarkResponse resp;
  FIXMINE_UNARY(admin_, AddBenchmark, req, resp);
  return resp.item_count();
}

// Store maintenance may run for minutes on a large store: no deadline.
#define FIXMINE_UNARY_NO_DEADLINE(stub, Method, req, resp) \
  grpc::ClientContext ctx;                                 \
  Prepare(&ctx, false);                                    \
  grpc::Status gs = stub->Method(&ctx, req, &resp);        \
  if (!gs.ok()) return FromGrpc(gs)

absl::StatusOr<fixmine::v1::BackupStoreResponse> FixmineClient::BackupStore(
    const std::string& dir) {
  fixmine::v1::BackupStoreRequest req;
  req.set_dir(dir);
  fixmine::v1::BackupStoreResponse resp;
  FIXMINE_UNARY_NO_DEADLINE(admin_, BackupStore, req, resp);
  return resp;
}

absl::StatusOr<fixmine::v1::CompactStoreResponse> FixmineClient::CompactStore() {
  fixmine::v1::CompactStoreRequest req;
  fixmine::v1::CompactStoreResponse resp;
  FIXMINE_UNARY_NO_DEADLINE(admin_, CompactStore, req, resp);
  return resp;
}

absl::StatusOr<fixmine::v1::VerifyStoreResponse> FixmineClient::VerifyStore() {
  fixmine::v1::VerifyStoreRequest req;
  fixmine::v1::VerifyStoreResponse resp;
  FIXMINE_UNARY_NO_DEADLINE(admin_, VerifyStore, req, resp);
  return resp;
}

absl::StatusOr<fixmine::v1::ListBenchmarksResponse> FixmineClient::ListBenchmarks() {
  fixmine::v1::ListBenchmarksRequest req;
  fixmine::v1::ListBenchmarksResponse resp;
  FIXMINE_UNARY(admin_, ListBenchmarks, req, resp);
  return resp;
}

absl::Status FixmineClient::RemoveBenchmark(const std::string& name) {
  fixmine::v1::RemoveBenchmarkRequest req;
  req.set_name(name);
  fixmine::v1::RemoveBenchmarkResponse resp;
  FIXMINE_UNARY(admin_, RemoveBenchmark, req, resp);
  return absl::OkStatus();
}

absl::StatusOr<Record> FixmineClient::GetRecord(const std::string& id) {
  GetRecordRequest req;
  req.set_id(id);
  GetRecordResponse resp;
  FIXMINE_UNARY(records_, GetRecord, req, resp);
  return resp.record();
}

absl::StatusOr<int64_t> FixmineClient::CountRecords(const std::string& filter) {
  CountRecordsRequest req;
  req.set_filter(filter);
  CountRecordsResponse resp;
  grpc::ClientContext ctx;
  Prepare(&ctx, false);  // a count over a large store may take a while
  grpc::Status gs = records_->CountRecords(&ctx, req, &resp);
  if (!gs.ok()) return FromGrpc(gs);
  return resp.count();
}

absl::StatusOr<CountRecordsResponse> FixmineClient::CountRecords(const CountRecordsRequest& req) {
  CountRecordsResponse resp;
  grpc::ClientContext ctx;
  Prepare(&ctx, false);  // a count over a large store may take a while
  grpc::Status gs = records_->CountRecords(&ctx, req, &resp);
  if (!gs.ok()) return FromGrpc(gs);
  return resp;
}

absl::StatusOr<CreateReadSessionResponse> FixmineClient::CreateReadSession(
    const CreateReadSessionRequest& req) {
  CreateReadSessionResponse resp;
  FIXMINE_UNARY(records_, CreateReadSession, req, resp);
  return resp;
}

absl::Status FixmineClient::ReadStream(
    const ReadStreamRequest& req, const std::function<bool(const ReadStreamResponse&)>& on_batch,
    const std::function<void(grpc::ClientContext*)>& context_hook) {
  grpc::ClientContext ctx;
  Prepare(&ctx, false);
  if (context_hook) context_hook(&ctx);
  absl::Status st = DrainStream(&ctx, records_->ReadStream(&ctx, req), on_batch);
  if (context_hook) context_hook(nullptr);
  return st;
}

absl::StatusOr<ListRecordsResponse> FixmineClient::ListRecords(const ListRecordsRequest& req) {
  ListRecordsResponse resp;
  FIXMINE_UNARY(records_, ListRecords, req, resp);
  return resp;
}

absl::Status FixmineClient::StreamRecords(
    const StreamRecordsRequest& req,
    const std::function<bool(const StreamRecordsResponse&)>& on_batch,
    const std::function<void(grpc::ClientContext*)>& context_hook) {
  grpc::ClientContext ctx;
  Prepare(&ctx, false);
  if (context_hook) context_hook(&ctx);
  absl::Status st = DrainStream(&ctx, records_->StreamRecords(&ctx, req), on_batch);
  if (context_hook) context_hook(nullptr);
  return st;
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
  Prepare(&ctx, true);
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
