#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace fixmine::server {

// A fixed set of worker threads taking tasks from a bounded queue: where the server runs work
// too long for a gRPC reaction (store-sized unary calls, the batches of a stream), so that the
// gRPC threads only hand work over and return. Thread-safe.
class Executor {
 public:
  // Starts `threads` workers (at least 1). At most `max_queued` tasks wait beyond the ones
  // running (at least 1). `name` names the executor in the busy message.
  Executor(std::string name, int threads, size_t max_queued);
  // Shutdown(), then joins the workers.
  ~Executor();

  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `task` to run once on a worker. RESOURCE_EXHAUSTED (saying how many tasks wait and
  // the bound) when the queue is full; UNAVAILABLE after Shutdown. The task is dropped then;
  // on OK it runs exactly once, also when Shutdown comes before it started.
  absl::Status Submit(std::function<void()> task);

  // Refuses new tasks, lets the queued ones run, and joins the workers. Idempotent; must not
  // run on a worker.
  void Shutdown();

  // Tasks waiting now (not the running ones).
  size_t queued() const;

 private:
  void Work();
  bool Ready() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); }

  const std::string name_;
  const size_t max_queued_;
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;  // set in the constructor, joined by Shutdown
  absl::Mutex join_mu_;               // serialises Shutdown's joins
};

}  // namespace fixmine::server
