#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "absl/status/status.h"

namespace fixmine::server {

// Counts the server's open streams (StreamRecords, ReadStream, WatchJob) against a cap and
// cancels a stream whose client has not taken a response for `idle_timeout` (a client that
// stopped reading or vanished), so its memory and its slot are freed. A watchdog thread checks
// once a second. Thread-safe.
class StreamRegistry {
 public:
  // `max_streams` <= 0 means no cap; `idle_timeout` <= 0 turns the watchdog off.
  StreamRegistry(int max_streams, std::chrono::seconds idle_timeout);
  ~StreamRegistry();

  // Takes a slot for the stream of `ctx` (borrowed until Leave). RESOURCE_EXHAUSTED, saying the
  // cap, when every slot is taken; the caller then finishes the stream with that status.
  absl::Status Enter(grpc::CallbackServerContext* ctx);
  // Marks a response of `ctx` handed to gRPC (the idle clock starts) / written (it stops).
  void WriteStarted(grpc::CallbackServerContext* ctx);
  void WriteDone(grpc::CallbackServerContext* ctx);
  // Frees the slot; call from OnDone before the reactor is deleted. Ignores unknown contexts.
  void Leave(grpc::CallbackServerContext* ctx);

  // Streams open now.
  int open() const;
  // Streams cancelled by the idle watchdog since start.
  int64_t idle_cancelled() const;

 private:
  void Watch();

  const int max_streams_;
  const std::chrono::seconds idle_timeout_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  struct Slot {
    // When the pending write started (time_point{} when none).
    std::chrono::steady_clock::time_point since;
    // The watchdog is cancelling this call right now (outside mu_); Leave waits for it.
    bool cancelling = false;
  };
  std::map<grpc::CallbackServerContext*, Slot> open_;
  int64_t idle_cancelled_ = 0;
  bool stop_ = false;
  std::thread watchdog_;
};

}  // namespace fixmine::server
