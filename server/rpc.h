#pragma once

// The server's RPC skeleton (docs/architecture.md, "Server"): every call of every service goes
// through Serve (unary) or BatchStream (server streams). Both check the caller's token first
// (the one authorization point), then run the call's work where it belongs: cheap lookups
// inline, store-sized work on a bounded Executor, stream batches on the batch Executor with one
// write in flight.

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/auth.h"
#include "server/executor.h"
#include "server/limits.h"
#include "server/status_convert.h"

namespace fixmine::server {

// What every call passes through before its work runs, and where the work runs. All
// borrowed; they outlive the services. A null `heavy` / `batches` runs that work inline (for
// tools that build a service alone).
struct CallGuards {
  const Authorizer* auth = nullptr;
  StreamRegistry* streams = nullptr;
  Executor* heavy = nullptr;    // store-sized unary calls (Count, GetStats, Verify, ...)
  Executor* batches = nullptr;  // the next batch of every stream
};

// Workers and queue bounds of the two executors (docs/architecture.md, "Server").
inline constexpr int kHeavyWorkers = 4;
inline constexpr size_t kHeavyQueue = 64;
inline constexpr int kBatchWorkers = 4;
inline constexpr size_t kBatchQueue = 1024;
// How often a stream whose source has nothing new yet (a job being watched) asks again.
inline constexpr std::chrono::milliseconds kStreamPollInterval{200};

// The one authorization check: the call's token against `role`. INTERNAL without an
// authorizer (fail closed); otherwise Authorizer::Check's answer.
absl::Status Admit(const grpc::ServerContextBase& ctx, const CallGuards& guards, Role role);

// The cost of a unary call's work: kLight reads a bounded, small amount (one key, one list of
// repositories) and runs on the gRPC thread; kHeavy may touch the whole store and runs on
// guards.heavy (RESOURCE_EXHAUSTED, saying the bound, when its queue is full).
enum class Cost { kLight, kHeavy };

// Answers a unary call: Admit for `role`, then `work` (inline or on the heavy executor, by
// `cost`), then finishes the call with work's status (ToGrpcStatus). `work` fills the call's
// response; it runs at most once and never after the call finished. Returns the reactor the
// handler returns. Thread-safe.
grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* ctx, const CallGuards& guards,
                                Role role, Cost cost, std::function<absl::Status()> work);

// Where a BatchStream takes its responses from. Called on the batch executor, one call at a
// time (never two at once for one stream), never on a gRPC reaction.
template <typename Response>
class BatchSource {
 public:
  // What Next produced.
  enum class Step {
    kBatch,  // `resp` holds a response to send; ask again after it was written
    kEnd,    // nothing more: the stream finishes OK
    kWait,   // nothing new yet: ask again after kStreamPollInterval
  };
  virtual ~BatchSource() = default;
  // Validates the request (after the token check and the stream slot); an error finishes the
  // stream with it before anything is sent.
  virtual absl::Status Open() { return absl::OkStatus(); }
  // Fills the cleared `resp` with the next response. An error finishes the stream with it.
  virtual absl::StatusOr<Step> Next(Response* resp) = 0;
};

// The one server-stream reactor: checks the token, takes a stream slot (guards.streams; the
// cap and the idle timeout of docs/security.md), then sends what its source produces with one
// write in flight, each batch prepared on guards.batches while no write is pending, so the
// server holds at most one batch per stream. A cancelled call (the client, the idle watchdog,
// shutdown) finishes CANCELLED before the next batch; a failed write finishes ABORTED.
// Deletes itself when gRPC is done with the call.
template <typename Response>
class BatchStream final : public grpc::ServerWriteReactor<Response> {
 public:
  // Starts the stream of `ctx` (borrowed) over `source` for a caller with `role`. Returns the
  // reactor for the handler to return.
  static BatchStream* Start(grpc::CallbackServerContext* ctx, const CallGuards& guards, Role role,
                            std::unique_ptr<BatchSource<Response>> source) {
    auto* s = new BatchStream(ctx, guards.batches, std::move(source));
    if (absl::Status st = Admit(*ctx, guards, role); !st.ok()) {
      s->Finish(ToGrpcStatus(st));
      return s;
    }
    if (guards.streams != nullptr) {
      if (absl::Status st = guards.streams->Enter(ctx); !st.ok()) {
        s->Finish(ToGrpcStatus(st));
        return s;
      }
      s->streams_ = guards.streams;
    }
    if (absl::Status st = s->source_->Open(); !st.ok()) {
      s->Finish(ToGrpcStatus(st));
      return s;
    }
    s->Schedule();
    return s;
  }

  void OnWriteDone(bool ok) override {
    if (streams_ != nullptr) streams_->WriteDone(ctx_);
    if (!ok) {
      this->Finish(grpc::Status(grpc::StatusCode::ABORTED, "writing to the client failed"));
      return;
    }
    Schedule();
  }

  void OnCancel() override {
    cancelled_ = true;
    // A stream waiting for its next poll wakes now (the alarm runs its callback with false).
    std::lock_guard<std::mutex> l(alarm_mu_);
    if (alarm_set_) alarm_.Cancel();
  }

  void OnDone() override {
    if (streams_ != nullptr) streams_->Leave(ctx_);
    delete this;
  }

 private:
  BatchStream(grpc::CallbackServerContext* ctx, Executor* batches,
              std::unique_ptr<BatchSource<Response>> source)
      : ctx_(ctx), batches_(batches), source_(std::move(source)) {}

  // Hands the next batch to the executor (inline without one). From here until Produce
  // writes or finishes, no reaction touches the stream's state.
  void Schedule() {
    if (batches_ == nullptr) {
      Produce();
      return;
    }
    if (absl::Status st = batches_->Submit([this] { Produce(); }); !st.ok()) {
      this->Finish(ToGrpcStatus(st));
    }
  }

  // On the executor: the next batch, then a write or the end. Touches nothing after
  // StartWrite / Finish (gRPC may run OnWriteDone or OnDone at once on another thread).
  void Produce() {
    if (cancelled_) {
      this->Finish(grpc::Status::CANCELLED);
      return;
    }
    resp_.Clear();
    auto step = source_->Next(&resp_);
    if (!step.ok()) {
      this->Finish(ToGrpcStatus(step.status()));
      return;
    }
    switch (*step) {
      case BatchSource<Response>::Step::kEnd:
        this->Finish(grpc::Status::OK);
        return;
      case BatchSource<Response>::Step::kWait: {
        std::lock_guard<std::mutex> l(alarm_mu_);
        if (cancelled_) break;  // OnCancel already ran: finish below
        alarm_set_ = true;
        alarm_.Set(std::chrono::system_clock::now() + kStreamPollInterval, [this](bool) {
          {
            std::lock_guard<std::mutex> l(alarm_mu_);
            alarm_set_ = false;
          }
          Schedule();
        });
        return;
      }
      case BatchSource<Response>::Step::kBatch:
        if (streams_ != nullptr) streams_->WriteStarted(ctx_);
        this->StartWrite(&resp_);
        return;
    }
    this->Finish(grpc::Status::CANCELLED);
  }

  grpc::CallbackServerContext* const ctx_;
  Executor* const batches_;
  const std::unique_ptr<BatchSource<Response>> source_;
  StreamRegistry* streams_ = nullptr;
  Response resp_;
  std::atomic<bool> cancelled_{false};
  std::mutex alarm_mu_;
  grpc::Alarm alarm_;
  bool alarm_set_ = false;  // guarded by alarm_mu_
};

}  // namespace fixmine::server
