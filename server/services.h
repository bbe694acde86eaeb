#pragma once

#include <memory>
#include <mutex>
#include <set>

#include "fixmine/v1/admin.grpc.pb.h"
#include "fixmine/v1/records_service.grpc.pb.h"
#include "server/auth.h"
#include "server/job_runner.h"
#include "server/limits.h"
#include "server/metrics.h"
#include "server/rpc.h"
#include "server/server_config.h"
#include "storage/record_store.h"

namespace fixmine::server {

// AdminService on the gRPC callback API: every RPC goes through Serve / BatchStream
// (server/rpc.h), so it needs an admin token when tokens are configured (`guards`); then
// validation, then the store or the job runner. Store, runner, config
// and guards are borrowed and outlive the service. Thread-safe.
class AdminServiceImpl final : public fixmine::v1::AdminService::CallbackService {
 public:
  AdminServiceImpl(storage::RecordStore* store, JobRunner* runner, const ServerConfig* config,
                   Decontaminator* decontam, CallGuards guards)
      : store_(store), runner_(runner), config_(config), decontam_(decontam), guards_(guards) {}

  grpc::ServerUnaryReactor* AddRepository(grpc::CallbackServerContext* ctx,
                                          const fixmine::v1::AddRepositoryRequest* req,
                                          fixmine::v1::AddRepositoryResponse* resp) override;
  grpc::ServerUnaryReactor* GetRepository(grpc::CallbackServerContext* ctx,
                                          const fixmine::v1::GetRepositoryRequest* req,
                                          fixmine::v1::GetRepositoryResponse* resp) override;
  grpc::ServerUnaryReactor* ListRepositories(grpc::CallbackServerContext* ctx,
                                             const fixmine::v1::ListRepositoriesRequest* req,
                                             fixmine::v1::ListRepositoriesResponse* resp) override;
  grpc::ServerUnaryReactor* RemoveRepository(grpc::CallbackServerContext* ctx,
                                             const fixmine::v1::RemoveRepositoryRequest* req,
                                             fixmine::v1::RemoveRepositoryResponse* resp) override;
  grpc::ServerUnaryReactor* StartMining(grpc::CallbackServerContext* ctx,
                                        const fixmine::v1::StartMiningRequest* req,
                                        fixmine::v1::StartMiningResponse* resp) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* ctx,
                                   const fixmine::v1::GetJobRequest* req,
                                   fixmine::v1::GetJobResponse* resp) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* ctx,
                                     const fixmine::v1::ListJobsRequest* req,
                                     fixmine::v1::ListJobsResponse* resp) override;
  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* ctx,
                                      const fixmine::v1::CancelJobRequest* req,
                                      fixmine::v1::CancelJobResponse* resp) override;
  grpc::ServerWriteReactor<fixmine::v1::WatchJobResponse>* WatchJob(
      grpc::CallbackServerContext* ctx, const fixmine::v1::WatchJobRequest* req) override;
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* ctx,
                                     const fixmine::v1::GetStatsRequest* req,
                                     fixmine::v1::GetStatsResponse* resp) override;
  grpc::ServerUnaryReactor* AddBenchmark(grpc::CallbackServerContext* ctx,
                                         const fixmine::v1::AddBenchmarkRequest* req,
                                         fixmine::v1::AddBenchmarkResponse* resp) override;
  grpc::ServerUnaryReactor* ListBenchmarks(grpc::CallbackServerContext* ctx,
                                           const fixmine::v1::ListBenchmarksRequest* req,
                                           fixmine::v1::ListBenchmarksResponse* resp) override;
  grpc::ServerUnaryReactor* RemoveBenchmark(grpc::CallbackServerContext* ctx,
                                            const fixmine::v1::RemoveBenchmarkRequest* req,
                                            fixmine::v1::RemoveBenchmarkResponse* resp) override;
  // Store maintenance (server/store_maintenance.cc). They run on the heavy executor, like
  // GetStats, and take as long as the store needs (docs/operations.md).
  grpc::ServerUnaryReactor* BackupStore(grpc::CallbackServerContext* ctx,
                                        const fixmine::v1::BackupStoreRequest* req,
                                        fixmine::v1::BackupStoreResponse* resp) override;
  grpc::ServerUnaryReactor* CompactStore(grpc::CallbackServerContext* ctx,
                                         const fixmine::v1::CompactStoreRequest* req,
                                         fixmine::v1::CompactStoreResponse* resp) override;
  grpc::ServerUnaryReactor* VerifyStore(grpc::CallbackServerContext* ctx,
                                        const fixmine::v1::VerifyStoreRequest* req,
                                        fixmine::v1::VerifyStoreResponse* resp) override;

 private:
  storage::RecordStore* store_;
  JobRunner* runner_;
  const ServerConfig* config_;
  Decontaminator* decontam_;
  CallGuards guards_;
};

// The RecordService base whose two record streams, StreamRecords and ReadStream, are raw
// methods: their handlers take the request and write the responses as grpc::ByteBuffer, so the
// server can send records as the store holds them (fixmine.internal.StoredRecordBatch, the
// wire twin of their responses) instead of parsing and reserializing each. Clients see the
// same RPCs with the same messages. The other methods stay typed.
using RecordServiceBase = fixmine::v1::RecordService::WithRawCallbackMethod_StreamRecords<
    fixmine::v1::RecordService::WithRawCallbackMethod_ReadStream<
        fixmine::v1::RecordService::CallbackService>>;

// RecordService on the gRPC callback API. Streams (BatchStream) keep one write in flight and
// read the next batch from the store, on the batch executor, only when the previous one was
// sent, so a slow client never makes the
// server buffer more than one batch. Every RPC needs a read or admin token when tokens are
// configured; streams count against the stream cap. `metrics` (borrowed; null: none) counts
// the records streamed. Thread-safe.
class RecordServiceImpl final : public RecordServiceBase {
 public:
  RecordServiceImpl(storage::RecordStore* store, CallGuards guards, Metrics* metrics = nullptr)
      : store_(store), guards_(guards), metrics_(metrics) {}

  grpc::ServerUnaryReactor* GetRecord(grpc::CallbackServerContext* ctx,
                                      const fixmine::v1::GetRecordRequest* req,
                                      fixmine::v1::GetRecordResponse* resp) override;
  grpc::ServerUnaryReactor* CountRecords(grpc::CallbackServerContext* ctx,
                                         const fixmine::v1::CountRecordsRequest* req,
                                         fixmine::v1::CountRecordsResponse* resp) override;
  grpc::ServerUnaryReactor* ListRecords(grpc::CallbackServerContext* ctx,
                                        const fixmine::v1::ListRecordsRequest* req,
                                        fixmine::v1::ListRecordsResponse* resp) override;
  // Raw: `req` holds a serialized StreamRecordsRequest, each response a StreamRecordsResponse.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* StreamRecords(grpc::CallbackServerContext* ctx,
                                                            const grpc::ByteBuffer* req) override;
  grpc::ServerUnaryReactor* CreateReadSession(
      grpc::CallbackServerContext* ctx, const fixmine::v1::CreateReadSessionRequest* req,
      fixmine::v1::CreateReadSessionResponse* resp) override;
  // Raw: `req` holds a serialized ReadStreamRequest, each response a ReadStreamResponse.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* ReadStream(grpc::CallbackServerContext* ctx,
                                                         const grpc::ByteBuffer* req) override;
  // The typed overloads of the raw methods are never called (gRPC runs the raw handlers).
  using RecordServiceBase::ReadStream;
  using RecordServiceBase::StreamRecords;

 private:
  storage::RecordStore* store_;
  CallGuards guards_;
  Metrics* metrics_;
};

}  // namespace fixmine::server
