// Baseline for `fixmine records stream`: iterates every record of a store in this process (no
// gRPC, no JSON) and prints how many records and serialized bytes it saw, and how fast.
// Usage: store_scan DATA_DIR   (the --data-dir of a stopped fixmined; its store is DATA_DIR/store
// when that folder exists, else DATA_DIR itself)
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "storage/record_store.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: store_scan DATA_DIR\n");
    return 2;
  }
  std::string dir = argv[1];
  for (const char* sub : {"/store", "/records", "/db"}) {
    if (std::filesystem::exists(dir + sub + "/CURRENT")) {
      dir += sub;
      break;
    }
  }
  auto store = fixmine::storage::RecordStore::Open(dir);
  if (!store.ok()) {
    std::fprintf(stderr, "store_scan: %s\n", std::string(store.status().message()).c_str());
    return 1;
  }
  auto start = std::chrono::steady_clock::now();
  int64_t records = 0, bytes = 0;
  absl::Status st =
      (*store)->Scan(nullptr, fixmine::storage::ScanPosition(),
                     [&](const fixmine::v1::Record& r, const fixmine::storage::ScanPosition&) {
                       ++records;
                       bytes += static_cast<int64_t>(r.ByteSizeLong());
                       return true;
                     });
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!st.ok()) {
    std::fprintf(stderr, "store_scan: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  std::printf("records %lld bytes %lld seconds %.3f records_per_s %.0f MB_per_s %.1f\n",
              static_cast<long long>(records), static_cast<long long>(bytes), s,
              s > 0 ? records / s : 0.0, s > 0 ? bytes / s / 1e6 : 0.0);
  return 0;
}
