#include <iostream>
#include <string>
#include <vector>

#include "client/cli.h"
#include "pipeline/worker.h"

int main(int argc, char** argv) {
  // A sharded run's mining worker: `fixmine extract --repo-list` runs itself again in this
  // hidden mode for each repository (pipeline/worker.h).
  if (argc > 1 && std::string(argv[1]) == fixmine::pipeline::kWorkerFlag) {
    return fixmine::pipeline::RunMiningWorker(argc, argv);
  }
  std::ios::sync_with_stdio(false);
  std::vector<std::string> args(argv + 1, argv + argc);
  int code = fixmine::client::RunCli(args, std::cout, std::cerr);
  std::cout.flush();
  return code;
}
