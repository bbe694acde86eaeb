#include "tests/testutil/test_server.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "fmt/format.h"

namespace fixmine::testutil {

std::string FixmindPath() { return FIXMINED_PATH; }

TestServer::TestServer(const std::string& allowed_root, std::vector<std::string> extra_args)
    : allowed_root_(allowed_root), extra_args_(std::move(extra_args)) {
  data_dir_ = dir_.path() + "/data";
  log_path_ = dir_.path() + "/fixmined.log";
}

TestServer::~TestServer() {
  if (pid_ > 0) Stop();
}

bool TestServer::Start() {
  std::string port_file = dir_.path() + "/port";
  unlink(port_file.c_str());
  std::vector<std::string> args = {FixmindPath(), "--listen",    "127.0.0.1:0",
                                   "--data-dir",  data_dir_,     "--allowed-root",
                                   allowed_root_, "--port-file", port_file};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  // Built before the fork: the child only execs.
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    int log = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log >= 0) {
      dup2(log, 2);
      dup2(log, 1);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  // Bounded: 60 s (a sanitizer build on a loaded machine opens its store slowly; the loop ends
  // as soon as the port is written).
  for (int i = 0; i < 600; ++i) {
    std::ifstream f(port_file);
    int port = 0;
    if (f >> port && port > 0) {
      port_ = port;
      return true;
    }
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      ADD_FAILURE() << "fixmined exited early; log: " << log_path_;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "fixmined did not write its port file in 60 s";
  return false;
}

int TestServer::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 600; ++i) {  // bounded: 60 s
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  Kill();
  return -1;
}

void TestServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

CommandResult TestServer::Cli(const std::string& args) const {
  return RunCli(fmt::format("--server {} {}", address(), args));
}

}  // namespace fixmine::testutil
