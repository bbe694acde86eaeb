#include "server/metrics.h"

#include <grpcpp/server_context.h>
#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <mutex>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace fixmine::server {
namespace {

// go-grpc-prometheus's default buckets (Prometheus DefBuckets), so its dashboards' quantiles
// read the same.
const prometheus::Histogram::BucketBoundaries kRpcBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                             0.5,   1,    2.5,   5,    10};
// Mining jobs take seconds to hours.
const prometheus::Histogram::BucketBoundaries kJobBuckets = {1,   5,    15,    60,   300,
                                                             900, 3600, 14400, 86400};

prometheus::Labels Of(const Metrics::RpcLabels& l) {
  return {{"grpc_type", l.type}, {"grpc_service", l.service}, {"grpc_method", l.method}};
}

const char* TypeName(grpc::experimental::ServerRpcInfo::Type type) {
  using T = grpc::experimental::ServerRpcInfo::Type;
  switch (type) {
    case T::UNARY:
      return "unary";
    case T::CLIENT_STREAMING:
      return "client_stream";
    case T::SERVER_STREAMING:
      return "server_stream";
    case T::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "unary";
}

// Counts one call and logs it when it ends. Created by gRPC for every incoming call.
class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(grpc::experimental::ServerRpcInfo* info, Metrics* metrics)
      : info_(info), metrics_(metrics), start_(std::chrono::steady_clock::now()) {
    full_method_ = info->method() != nullptr ? info->method() : "";
    // "/package.Service/Method"
    std::string_view m = full_method_;
    if (!m.empty() && m[0] == '/') m.remove_prefix(1);
    size_t slash = m.find('/');
    labels_.type = TypeName(info->type());
    labels_.service = std::string(slash == std::string_view::npos ? m : m.substr(0, slash));
    labels_.method = slash == std::string_view::npos ? "" : std::string(m.substr(slash + 1));
    metrics_->RpcStarted(labels_);
  }

  ~MetricsInterceptor() override {
    // A call that never sent a status (the client went away first) ends as Canceled.
    if (!finished_) Finish("Canceled", "", /*with_peer=*/false);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using H = grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(H::PRE_SEND_MESSAGE)) {
      metrics_->RpcMessageSent(labels_);
    }
    if (methods->QueryInterceptionHookPoint(H::POST_RECV_MESSAGE)) {
      metrics_->RpcMessageReceived(labels_);
    }
    if (methods->QueryInterceptionHookPoint(H::PRE_SEND_STATUS) && !finished_) {
      grpc::Status st = methods->GetSendStatus();
      Finish(GrpcCodeName(st.error_code()), st.error_message(), /*with_peer=*/true);
    }
    methods->Proceed();
  }

 private:
  // `with_peer` is false from the destructor, when the call's context may be gone.
  void Finish(const std::string& code, const std::string& error, bool with_peer) {
    finished_ = true;
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    metrics_->RpcHandled(labels_, code, seconds);
    LogFields f;
    f.method = full_method_;
    f.code = code;
    if (with_peer && info_->server_context() != nullptr) f.peer = info_->server_context()->peer();
    f.duration_ms = seconds * 1000;
    f.error = error;
    Log(code == "OK" ? LogLevel::kInfo : LogLevel::kWarn, "rpc finished", f);
  }

  grpc::experimental::ServerRpcInfo* info_;
  Metrics* metrics_;
  std::chrono::steady_clock::time_point start_;
  std::string full_method_;
  Metrics::RpcLabels labels_;
  bool finished_ = false;
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(Metrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(info, metrics_);
  }

 private:
  Metrics* metrics_;
};

}  // namespace

// Gauges computed at scrape time.
class Metrics::GaugeCollectable final : public prometheus::Collectable {
 public:
  void Add(std::string name, std::string help, std::function<double()> read) {
    std::lock_guard<std::mutex> l(mu_);
    gauges_.push_back({std::move(name), std::move(help), std::move(read)});
  }
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<prometheus::MetricFamily> out;
    for (const Gauge& g : gauges_) {
      prometheus::MetricFamily family;
      family.name = g.name;
      family.help = g.help;
      family.type = prometheus::MetricType::Gauge;
      prometheus::ClientMetric metric;
      metric.gauge.value = g.read();
      family.metric.push_back(std::move(metric));
      out.push_back(std::move(family));
    }
    return out;
  }

 private:
  struct Gauge {
    std::string name, help;
    std::function<double()> read;
  };
  mutable std::mutex mu_;
  std::vector<Gauge> gauges_;
};

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      gauges_(std::make_shared<GaugeCollectable>()) {
  using prometheus::BuildCounter;
  using prometheus::BuildHistogram;
  started_ = &BuildCounter()
                  .Name("grpc_server_started_total")
                  .Help("Total number of RPCs started on the server.")
                  .Register(*registry_);
  handled_ = &BuildCounter()
                  .Name("grpc_server_handled_total")
                  .Help(
                      "Total number of RPCs completed on the server, regardless of success or "
                      "failure.")
                  .Register(*registry_);
  msg_sent_ = &BuildCounter()
                   .Name("grpc_server_msg_sent_total")
                   .Help("Total number of gRPC stream messages sent by the server.")
                   .Register(*registry_);
  msg_received_ = &BuildCounter()
                       .Name("grpc_server_msg_received_total")
                       .Help("Total number of RPC stream messages received on the server.")
                       .Register(*registry_);
  handling_seconds_ = &BuildHistogram()
                           .Name("grpc_server_handling_seconds")
                           .Help(
                               "Histogram of response latency (seconds) of gRPC that had been "
                               "application-level handled by the server.")
                           .Register(*registry_);
  commits_mined_ = &BuildCounter()
                        .Name("fixmine_commits_mined_total")
                        .Help("Commits mining jobs turned into new stored records.")
                        .Register(*registry_)
                        .Add({});
  github_requests_ = &BuildCounter()
                          .Name("fixmine_github_requests_total")
                          .Help(
                              "GitHub API requests sent by sync jobs, by result (\"ok\", "
                              "\"not_modified\").")
                          .Register(*registry_);
  github_waits_ = &BuildCounter()
                       .Name("fixmine_github_waits_total")
                       .Help(
                           "Waits of GitHub sync jobs, by kind: \"primary\" and \"secondary\" "
                           "rate limits, \"retry\" backoff after 5xx answers or timeouts.")
                       .Register(*registry_);
  github_wait_seconds_ = &BuildCounter()
                              .Name("fixmine_github_wait_seconds_total")
                              .Help("Seconds GitHub sync jobs spent waiting, by kind.")
                              .Register(*registry_);
  records_streamed_ = &BuildCounter()
                           .Name("fixmine_records_streamed_total")
                           .Help("Records sent by StreamRecords and ReadStream.")
                           .Register(*registry_)
                           .Add({});
  jobs_finished_ = &BuildCounter()
                        .Name("fixmine_jobs_finished_total")
                        .Help("Mining job runs that ended, by final state.")
                        .Register(*registry_);
  job_seconds_ = &BuildHistogram()
                      .Name("fixmine_job_duration_seconds")
                      .Help("Wall time of mining job runs, by final state.")
                      .Register(*registry_);
  worker_ends_ = &BuildCounter()
                      .Name("fixmine_worker_ends_total")
                      .Help(
                          "Mining worker processes that ended, by how: exited, signal, "
                          "cpu_limit, memory_limit, stop_grace.")
                      .Register(*registry_);
  worker_unsandboxed_ = &BuildCounter()
                             .Name("fixmine_worker_unsandboxed_total")
                             .Help(
                                 "Mining workers that ran without a Landlock ruleset (the "
                                 "kernel has none, or applying it failed).")
                             .Register(*registry_)
                             .Add({});
}

Metrics::~Metrics() = default;

absl::Status Metrics::Serve(const std::string& listen) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(listen, /*num_threads=*/1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("serving metrics on --metrics-listen \"", listen, "\": ", e.what()));
  }
  exposer_->RegisterCollectable(registry_);
  exposer_->RegisterCollectable(gauges_);
  std::vector<int> ports = exposer_->GetListeningPorts();
  port_ = ports.empty() ? 0 : ports[0];
  return absl::OkStatus();
}

void Metrics::AddGaugeCallback(const std::string& name, const std::string& help,
                               std::function<double()> read) {
  gauges_->Add(name, help, std::move(read));
}

void Metrics::AddCommitsMined(int64_t n) {
  if (n > 0) commits_mined_->Increment(static_cast<double>(n));
}

void Metrics::ObserveWorkerEnd(const std::string& how) {
  worker_ends_->Add({{"end", how}}).Increment();
}

void Metrics::AddWorkerUnsandboxed() { worker_unsandboxed_->Increment(); }
void Metrics::AddGithubRequests(int64_t ok, int64_t not_modified) {
  if (ok > 0) github_requests_->Add({{"result", "ok"}}).Increment(static_cast<double>(ok));
  if (not_modified > 0) {
    github_requests_->Add({{"result", "not_modified"}})
        .Increment(static_cast<double>(not_modified));
  }
}

void Metrics::AddGithubWait(const std::string& kind, double seconds) {
  github_waits_->Add({{"kind", kind}}).Increment();
  github_wait_seconds_->Add({{"kind", kind}}).Increment(seconds);
}

void Metrics::ObserveJob(const std::string& state, double seconds) {
  jobs_finished_->Add({{"state", state}}).Increment();
  job_seconds_->Add({{"state", state}}, kJobBuckets).Observe(seconds);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
Metrics::InterceptorFactory() {
  return std::make_unique<MetricsInterceptorFactory>(this);
}

std::string Metrics::Render() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (auto& f : gauges_->Collect()) families.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(families);
}

void Metrics::RpcStarted(const RpcLabels& labels) { started_->Add(Of(labels)).Increment(); }

void Metrics::RpcMessageSent(const RpcLabels& labels) { msg_sent_->Add(Of(labels)).Increment(); }

void Metrics::AddRecordsStreamed(int64_t n) {
  records_streamed_->Increment(static_cast<double>(n));
}

void Metrics::RpcMessageReceived(const RpcLabels& labels) {
  msg_received_->Add(Of(labels)).Increment();
}

void Metrics::RpcHandled(const RpcLabels& labels, const std::string& code, double seconds) {
  prometheus::Labels with_code = Of(labels);
  with_code["grpc_code"] = code;
  handled_->Add(with_code).Increment();
  handling_seconds_->Add(Of(labels), kRpcBuckets).Observe(seconds);
}

std::string GrpcCodeName(int code) {
  static const char* const kNames[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  if (code >= 0 && code < static_cast<int>(std::size(kNames))) return kNames[code];
  return "Code(" + std::to_string(code) + ")";
}

}  // namespace fixmine::server
