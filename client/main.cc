#include <iostream>
#include <string>
#include <vector>

#include "client/cli.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  std::vector<std::string> args(argv + 1, argv + argc);
  int code = fixmine::client::RunCli(args, std::cout, std::cerr);
  std::cout.flush();
  return code;
}
