#include "server/decontaminator.h"

#include <vector>

#include <cstdio>

namespace fixmine::server {

absl::Status Decontaminator::Start() {
  if (absl::Status st = Rebuild(); !st.ok()) return st;
  worker_ = std::thread([this] { RecheckLoop(); });
  return absl::OkStatus();
}

void Decontaminator::Shutdown() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

std::shared_ptr<const curation::NgramIndex> Decontaminator::Index() const {
  std::lock_guard<std::mutex> l(mu_);
  return index_;
}

void Decontaminator::Check(fixmine::v1::Record* record) const {
  std::shared_ptr<const curation::NgramIndex> index = Index();
  if (index == nullptr || index->empty()) return;
  index->Check(record);
}

absl::Status Decontaminator::Rebuild() {
  auto benchmarks = store_->ListBenchmarks();
  if (!benchmarks.ok()) return benchmarks.status();
  auto index = std::make_shared<curation::NgramIndex>();
  for (const fixmine::v1::Benchmark& b : *benchmarks) {
    int n = b.ngram() > 0 ? b.ngram() : curation::kDefaultNgram;
    for (const fixmine::v1::BenchmarkItem& item : b.items()) {
      for (uint64_t h : curation::NgramHashes(item.text(), n)) index->Add(n, h, b.name(), item.id());
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  index_ = std::move(index);
  return absl::OkStatus();
}

absl::Status Decontaminator::Add(const fixmine::v1::Benchmark& benchmark) {
  {
    std::lock_guard<std::mutex> l(rebuild_mu_);
    if (absl::Status st = store_->PutBenchmark(benchmark); !st.ok()) return st;
    if (absl::Status st = Rebuild(); !st.ok()) return st;
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    pending_ = true;
  }
  cv_.notify_all();
  return absl::OkStatus();
}

absl::Status Decontaminator::Remove(std::string_view name) {
  {
    std::lock_guard<std::mutex> l(rebuild_mu_);
    if (absl::Status st = store_->RemoveBenchmark(name); !st.ok()) return st;
    if (absl::Status st = Rebuild(); !st.ok()) return st;
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    pending_ = true;
  }
  cv_.notify_all();
  return absl::OkStatus();
}

uint64_t Decontaminator::rechecks_done() const {
  std::lock_guard<std::mutex> l(mu_);
  return done_;
}

void Decontaminator::RecheckLoop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return pending_ || stopping_; });
      if (stopping_) return;
      pending_ = false;
    }
    if (absl::Status st = Recheck(); !st.ok()) {
      std::fprintf(stderr, "decontamination re-check of stored records failed: %s\n",
                   st.ToString().c_str());
    }
    std::lock_guard<std::mutex> l(mu_);
    ++done_;
  }
}

absl::Status Decontaminator::Recheck() {
  // The index as it is now; a later add or remove sets pending_ again and runs another pass.
  std::shared_ptr<const curation::NgramIndex> index = Index();
  if (index == nullptr) return absl::OkStatus();
  std::vector<fixmine::v1::Record> changed;
  absl::Status write = absl::OkStatus();
  auto flush = [&] {
    if (changed.empty()) return;
    auto n = store_->UpdateRecords(changed);
    if (!n.ok()) write = n.status();
    changed.clear();
  };
  absl::Status scan = store_->Scan(
      nullptr, storage::ScanPosition(),
      [&](const fixmine::v1::Record& record, const storage::ScanPosition&) {
        {
          std::lock_guard<std::mutex> l(mu_);
          if (stopping_) return false;
        }
        fixmine::v1::Record copy = record;
        if (index->Check(&copy)) changed.push_back(std::move(copy));
        if (changed.size() >= 256) flush();
        return write.ok();
      });
  flush();
  if (!scan.ok()) return scan;
  return write;
}

}  // namespace fixmine::server
