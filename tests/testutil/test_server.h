#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "tests/testutil/git_repo.h"

namespace fixmine::testutil {

// How many times slower than a plain build the code under test runs: 4 in a sanitizer build
// (ASan+UBSan or TSan, deploy/test-sanitizers.sh, which CI runs on a loaded machine; LeakSanitizer
// also scans the heap at every exit), else 1. A test's bound on wall time that stands for a
// promise of the product (a stop within 2 s) is multiplied by it; waits for something that must
// happen are bounded generously instead, since they end as soon as it does.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr double kSlowdown = 4;
#else
inline constexpr double kSlowdown = 1;
#endif

// The real fixmined binary on 127.0.0.1 with port 0, a data folder of its own (kept across
// Restart) and `allowed_root` as its only allowed root.
class TestServer {
 public:
  explicit TestServer(const std::string& allowed_root, std::vector<std::string> extra_args = {});
  ~TestServer();

  // Starts the process and waits (bounded, 60 s) for its port file. False on failure.
  bool Start();
  // SIGTERM, then waits (bounded, 60 s) for exit; returns the exit status (-1 when it had to be
  // killed).
  int Stop();
  // SIGKILL, no drain.
  void Kill();
  bool Restart() {
    Stop();
    return Start();
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& log_path() const { return log_path_; }
  // Process id of the running fixmined (-1 when stopped).
  pid_t pid() const { return pid_; }

  // Runs the real `fixmine` binary against this server: `fixmine --server ADDR ARGS`.
  CommandResult Cli(const std::string& args) const;

 private:
  TempDir dir_;
  std::string allowed_root_;
  std::vector<std::string> extra_args_;
  std::string data_dir_;
  std::string log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Path of the built fixmined binary.
std::string FixmindPath();

}  // namespace fixmine::testutil
