#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace prometheus {
class Counter;
class Exposer;
class Registry;
template <typename T>
class Family;
class Histogram;
}  // namespace prometheus

namespace fixmine::server {

// The server's Prometheus metrics (docs/operations.md "Metrics"): the gRPC server metrics of
// go-grpc-prometheus (same names and labels, so existing dashboards work) and fixmine's own.
// Counting always happens; Serve makes them scrapable at http://HOST:PORT/metrics.
// Thread-safe.
class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Serves the text exposition format at /metrics on `listen` ("HOST:PORT"; port 0 picks one).
  // UNAVAILABLE when the address cannot be bound. Call at most once.
  absl::Status Serve(const std::string& listen);
  // The port Serve bound; 0 when not serving.
  int port() const { return port_; }

  // A gauge whose value `read` returns at each scrape (store size, active jobs). `read` runs on
  // the HTTP thread and must stay valid until this object is destroyed. Call before Serve.
  void AddGaugeCallback(const std::string& name, const std::string& help,
                        std::function<double()> read);

  // A mining job wrote `n` new records (one per mined non-merge commit).
  void AddCommitsMined(int64_t n);
  // A GitHub sync sent requests answered with content (`ok`) or 304 (`not_modified`).
  void AddGithubRequests(int64_t ok, int64_t not_modified);
  // A GitHub sync starts waiting `seconds` for `kind` ("primary", "secondary", "retry").
  void AddGithubWait(const std::string& kind, double seconds);
  // A mining job ended in `state` ("SUCCEEDED", "FAILED", "CANCELLED", "INTERRUPTED") after
  // `seconds`.
  void ObserveJob(const std::string& state, double seconds);
  // A mining worker ended `how` ("exited", "signal", "cpu_limit", "memory_limit",
  // "stop_grace").
  void ObserveWorkerEnd(const std::string& how);
  // A mining worker ran without Landlock.
  void AddWorkerUnsandboxed();
  // StreamRecords or ReadStream is about to send a response covering `n` records (the server
  // writes those responses as raw bytes, which the interceptor cannot read, so
  // RecordServiceImpl reports them).
  void AddRecordsStreamed(int64_t n);

  // The gRPC server interceptor factory that counts every call and writes one access log line
  // per finished call (common/log.h). The factory borrows this object, which must outlive the
  // gRPC server.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory();

  // The current metrics in the text exposition format (what /metrics returns).
  std::string Render() const;

  // Called by the interceptor (public for it only).
  struct RpcLabels {
    std::string type;     // unary, client_stream, server_stream, bidi_stream
    std::string service;  // fixmine.v1.AdminService
    std::string method;   // GetJob
  };
  void RpcStarted(const RpcLabels& labels);
  void RpcMessageSent(const RpcLabels& labels);
  void RpcMessageReceived(const RpcLabels& labels);
  void RpcHandled(const RpcLabels& labels, const std::string& code, double seconds);

 private:
  class GaugeCollectable;

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<GaugeCollectable> gauges_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
  prometheus::Family<prometheus::Counter>* started_;
  prometheus::Family<prometheus::Counter>* handled_;
  prometheus::Family<prometheus::Counter>* msg_sent_;
  prometheus::Family<prometheus::Counter>* msg_received_;
  prometheus::Family<prometheus::Histogram>* handling_seconds_;
  prometheus::Counter* commits_mined_;
  prometheus::Counter* records_streamed_;
  prometheus::Family<prometheus::Counter>* github_requests_;
  prometheus::Family<prometheus::Counter>* github_waits_;
  prometheus::Family<prometheus::Counter>* github_wait_seconds_;
  prometheus::Family<prometheus::Counter>* jobs_finished_;
  prometheus::Family<prometheus::Histogram>* job_seconds_;
  prometheus::Family<prometheus::Counter>* worker_ends_;
  prometheus::Counter* worker_unsandboxed_;
};

// The go-grpc-prometheus / Go name of a gRPC status code ("OK", "NotFound", "Canceled").
std::string GrpcCodeName(int code);

}  // namespace fixmine::server
