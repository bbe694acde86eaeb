#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"

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

  const std::string name_;
  const size_t max_queued_;
  // std::mutex, not absl::Mutex: the hand-over of a task from the gRPC thread to a worker is
  // what orders the task's reads after the caller's writes, and ThreadSanitizer sees that only
  // through pthread calls (Debian's libabsl is not instrumented, so under TSan every task's
  // reads looked like races).
  mutable std::mutex mu_;
  std::condition_variable ready_;            // a task was queued, or Shutdown began
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> workers_;         // set in the constructor, joined by Shutdown
  std::mutex join_mu_;                       // serialises Shutdown's joins
};

}  // namespace fixmine::server
