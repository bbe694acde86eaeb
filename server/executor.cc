#include "server/executor.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace fixmine::server {

Executor::Executor(std::string name, int threads, size_t max_queued)
    : name_(std::move(name)), max_queued_(std::max<size_t>(1, max_queued)) {
  const int n = std::max(1, threads);
  workers_.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { Work(); });
}

Executor::~Executor() { Shutdown(); }

absl::Status Executor::Submit(std::function<void()> task) {
  std::lock_guard<std::mutex> l(mu_);
  if (stopping_) {
    return absl::UnavailableError(absl::StrCat("the server is shutting down (", name_, ")"));
  }
  if (queue_.size() >= max_queued_) {
    return absl::ResourceExhaustedError(absl::StrCat("the server is busy: ", queue_.size(), " ",
                                                     name_,
                                                     " wait already (the limit); retry later"));
  }
  queue_.push_back(std::move(task));
  ready_.notify_one();
  return absl::OkStatus();
}

void Executor::Shutdown() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  ready_.notify_all();
  std::lock_guard<std::mutex> j(join_mu_);
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
}

size_t Executor::queued() const {
  std::lock_guard<std::mutex> l(mu_);
  return queue_.size();
}

void Executor::Work() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> l(mu_);
      ready_.wait(l, [this] { return stopping_ || !queue_.empty(); });
      // Queued tasks still run after Shutdown: each one finishes a call.
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace fixmine::server
