#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "curation/decontam.h"
#include "fixmine/v1/admin.pb.h"
#include "fixmine/v1/records.pb.h"
#include "storage/record_store.h"

namespace fixmine::server {

// Benchmark decontamination on the server (docs/curation.md, "Decontamination"): an in-memory
// n-gram index of every stored benchmark, used by the job runner on each record before its
// batch is written, and a background thread that re-checks every stored record after a
// benchmark is added or removed. Thread-safe.
class Decontaminator {
 public:
  // `store` is borrowed and must outlive this object (or Shutdown must be called first).
  explicit Decontaminator(storage::RecordStore* store) : store_(store) {}
  ~Decontaminator() { Shutdown(); }

  // Builds the index from the stored benchmarks and starts the re-check thread.
  absl::Status Start();
  // Stops the re-check thread (an unfinished re-check is abandoned). Idempotent.
  void Shutdown();

  // Sets `record`'s contamination from the current index (no-op when no benchmark is loaded).
  void Check(fixmine::v1::Record* record) const;

  // Stores the benchmark, rebuilds the index and queues a re-check of stored records.
  absl::Status Add(const fixmine::v1::Benchmark& benchmark);
  // Removes the benchmark (NOT_FOUND when absent), rebuilds the index and queues a re-check.
  absl::Status Remove(std::string_view name);

  // Re-checks completed since Start (tests and logs).
  uint64_t rechecks_done() const;

 private:
  absl::Status Rebuild();
  void RecheckLoop();
  absl::Status Recheck(fixmine::v1::Job* job);
  std::shared_ptr<const curation::NgramIndex> Index() const;

  storage::RecordStore* store_;
  mutable std::mutex mu_;
  std::shared_ptr<const curation::NgramIndex> index_;  // swapped whole under mu_
  std::mutex rebuild_mu_;                              // serialises store change + rebuild
  std::condition_variable cv_;
  bool pending_ = false;
  bool stopping_ = false;
  uint64_t done_ = 0;
  uint64_t job_counter_ = 0;
  std::thread worker_;
};

}  // namespace fixmine::server
