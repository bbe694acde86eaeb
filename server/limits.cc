#include "server/limits.h"

#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"

namespace fixmine::server {

StreamRegistry::StreamRegistry(int max_streams, std::chrono::seconds idle_timeout)
    : max_streams_(max_streams), idle_timeout_(idle_timeout) {
  if (idle_timeout_.count() > 0) watchdog_ = std::thread([this] { Watch(); });
}

StreamRegistry::~StreamRegistry() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
}

absl::Status StreamRegistry::Enter(grpc::CallbackServerContext* ctx) {
  std::lock_guard<std::mutex> l(mu_);
  if (max_streams_ > 0 && static_cast<int>(open_.size()) >= max_streams_) {
    return absl::ResourceExhaustedError(absl::StrCat("the server has ", open_.size(),
                                                     " streams open, its limit (--max-streams ",
                                                     max_streams_, "); retry later"));
  }
  open_[ctx] = Slot{};
  return absl::OkStatus();
}

void StreamRegistry::WriteStarted(grpc::CallbackServerContext* ctx) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = open_.find(ctx);
  if (it != open_.end()) it->second.since = std::chrono::steady_clock::now();
}

void StreamRegistry::WriteDone(grpc::CallbackServerContext* ctx) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = open_.find(ctx);
  if (it != open_.end()) it->second.since = {};
}

void StreamRegistry::Leave(grpc::CallbackServerContext* ctx) {
  std::unique_lock<std::mutex> l(mu_);
  // The reactor is deleted after this returns: wait until the watchdog no longer uses `ctx`,
  // unless this runs inside the watchdog's own TryCancel (gRPC may run callbacks inline).
  if (std::this_thread::get_id() != watchdog_.get_id()) {
    cv_.wait(l, [&] {
      auto it = open_.find(ctx);
      return it == open_.end() || !it->second.cancelling;
    });
  }
  open_.erase(ctx);
}

int StreamRegistry::open() const {
  std::lock_guard<std::mutex> l(mu_);
  return static_cast<int>(open_.size());
}

int64_t StreamRegistry::idle_cancelled() const {
  std::lock_guard<std::mutex> l(mu_);
  return idle_cancelled_;
}

void StreamRegistry::Watch() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    cv_.wait_for(l, std::chrono::seconds(1), [&] { return stop_; });
    if (stop_) break;
    auto now = std::chrono::steady_clock::now();
    std::vector<grpc::CallbackServerContext*> idle;
    for (auto& [ctx, slot] : open_) {
      if (slot.since == std::chrono::steady_clock::time_point{} || slot.cancelling) continue;
      if (now - slot.since < idle_timeout_) continue;
      slot.since = {};
      slot.cancelling = true;
      idle.push_back(ctx);
      ++idle_cancelled_;
    }
    if (idle.empty()) continue;
    // TryCancel may run the reactor's callbacks on this thread, and they take mu_: call it
    // unlocked. The contexts stay valid: Leave waits while `cancelling` is set.
    l.unlock();
    std::fprintf(stderr,
                 "fixmined: cancelling %zu stream(s) idle for %lld s (--stream-idle-timeout)\n",
                 idle.size(), static_cast<long long>(idle_timeout_.count()));
    for (auto* ctx : idle) ctx->TryCancel();
    l.lock();
    for (auto* ctx : idle) {
      auto it = open_.find(ctx);
      if (it != open_.end()) it->second.cancelling = false;
    }
    cv_.notify_all();
  }
}

}  // namespace fixmine::server
