// Helpers of the hostile-input catalogue (docs/security.md): repositories written object by
// object with the git CLI, a server with small limits, and the "still serves" check.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "client/fixmine_client.h"
#include "fmt/format.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/jobs.h"
#include "tests/testutil/test_server.h"

namespace fixmine::hostile {

using testutil::CommandResult;
using testutil::JobEnded;
using testutil::MineToEnd;
using testutil::RunShell;
using testutil::ShellQuote;

// Fixed identity and dates, no user or system configuration.
inline std::string GitEnv() {
  return "GIT_CONFIG_NOSYSTEM=1 HOME=/nonexistent GIT_AUTHOR_NAME=Ada "
         "GIT_AUTHOR_EMAIL=ada@example.com GIT_COMMITTER_NAME=Cy "
         "GIT_COMMITTER_EMAIL=cy@example.com "
         "GIT_AUTHOR_DATE='1700000000 +0000' GIT_COMMITTER_DATE='1700000000 +0000'";
}

// Runs `git ARGS` in `dir`; fails the test when git fails. Returns stdout without the last
// newline.
inline std::string Git(const std::string& dir, const std::string& args) {
  CommandResult r = RunShell(fmt::format("cd {} && {} git {}", ShellQuote(dir), GitEnv(), args));
  EXPECT_EQ(r.exit_code, 0) << "git " << args << ": " << r.err;
  if (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r.out;
}

inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Writes a raw object of `type` ("blob", "tree", "commit") with exactly `bytes`, unchecked
// (`hash-object --literally`), and returns its id.
inline std::string WriteObject(const std::string& dir, const std::string& type,
                               const std::string& bytes) {
  std::string tmp = dir + "/.obj-input";
  WriteFile(tmp, bytes);
  std::string id =
      Git(dir, fmt::format("hash-object -w --literally -t {} {}", type, ShellQuote(tmp)));
  std::filesystem::remove(tmp);
  return id;
}

inline std::string HexToRaw(const std::string& hex) {
  std::string raw;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    raw.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return raw;
}

// One entry of a raw tree: mode ("100644", "40000", "120000", "160000"), name, object id.
struct Entry {
  std::string mode, name, id;
};

// Writes a tree with `entries` in the given order (git sorts; hostile trees need not).
inline std::string WriteTree(const std::string& dir, const std::vector<Entry>& entries) {
  std::string body;
  for (const Entry& e : entries) {
    body += e.mode + " " + e.name;
    body.push_back('\0');
    body += HexToRaw(e.id);
  }
  return WriteObject(dir, "tree", body);
}

// Writes a commit object; `headers_extra` goes after the committer line (e.g. "encoding X\n").
inline std::string WriteCommit(const std::string& dir, const std::string& tree,
                               const std::vector<std::string>& parents, const std::string& message,
                               const std::string& tz = "+0000",
                               const std::string& headers_extra = "") {
  std::string c = "tree " + tree + "\n";
  for (const auto& p : parents) c += "parent " + p + "\n";
  c += "author Ada <ada@example.com> 1700000000 " + tz + "\n";
  c += "committer Cy <cy@example.com> 1700000000 " + tz + "\n";
  c += headers_extra;
  c += "\n" + message;
  return WriteObject(dir, "commit", c);
}

// A new empty repository `root/name` (branch main); returns its path.
inline std::string InitRepo(const std::string& root, const std::string& name, bool bare = false) {
  std::string path = root + "/" + name;
  std::filesystem::create_directories(path);
  Git(path, std::string("init -q -b main") + (bare ? " --bare" : ""));
  return path;
}

// Points refs/heads/main at `commit`.
inline void SetMain(const std::string& repo, const std::string& commit) {
  Git(repo, "update-ref refs/heads/main " + commit);
}

// Every record of repository `name`.
inline std::vector<fixmine::v1::Record> RecordsOf(client::FixmineClient& c,
                                                  const std::string& name) {
  std::vector<fixmine::v1::Record> out;
  fixmine::v1::StreamRecordsRequest req;
  req.set_filter(fmt::format("repo = \"{}\"", name));
  req.set_include_contaminated(true);
  absl::Status st = c.StreamRecords(req, [&](const fixmine::v1::StreamRecordsResponse& b) {
    for (const auto& r : b.records()) out.push_back(r);
    return true;
  });
  EXPECT_TRUE(st.ok()) << st;
  return out;
}

// The server still answers: health SERVING and a record count.
inline void ExpectServing(client::FixmineClient& c) {
  EXPECT_TRUE(c.Health().ok()) << "health check failed after the hostile case";
  auto n = c.CountRecords("");
  EXPECT_TRUE(n.ok()) << "CountRecords failed after the hostile case: " << n.status();
}

// A repository whose second commit's blob is a loose object with its zlib stream cut in half:
// libgit2 1.5.1 spins in inflate on it (the miner cannot leave the call).
inline std::string TruncatedObjectRepo(testutil::GitRepo& repo) {
  std::string text;
  for (int i = 0; i < 6000; ++i) text += fmt::format("line {} {}\n", i, (i * 7919) % 104729);
  repo.Write("big.txt", text);
  repo.CommitAll("one");
  repo.Write("big.txt", text + "tail\n");
  repo.CommitAll("two");
  std::string blob = repo.Git("rev-parse HEAD:big.txt");
  while (!blob.empty() && blob.back() == '\n') blob.pop_back();
  std::string path = repo.path() + "/.git/objects/" + blob.substr(0, 2) + "/" + blob.substr(2);
  std::error_code ec;
  std::filesystem::permissions(path, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add, ec);
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size / 2);
  return blob;
}

// The fixture of a suite that shares one fixmined, allowed root `root_`, and a client to it:
// StartSharedServer in SetUpTestSuite, StopSharedServer in TearDownTestSuite (one suite runs at
// a time, so the suites share these members).
class SharedServerSuite : public ::testing::Test {
 protected:
  static void StartSharedServer(const std::vector<std::string>& args = {}) {
    root_ = new testutil::TempDir();
    server_ = new testutil::TestServer(root_->path(), args);
    ASSERT_TRUE(server_->Start()) << "log: " << server_->log_path();
    client_ = new client::FixmineClient(server_->address(), "");
  }
  static void StopSharedServer() {
    delete client_;
    delete server_;
    delete root_;
    client_ = nullptr;
    server_ = nullptr;
    root_ = nullptr;
  }

  static inline testutil::TempDir* root_ = nullptr;
  static inline testutil::TestServer* server_ = nullptr;
  static inline client::FixmineClient* client_ = nullptr;
};

// Starts mining the registered repository `name`, one that hangs the miner
// (TruncatedObjectRepo), and waits until its job runs with the worker spinning; the job's id, or
// "" after failing the current test.
inline std::string StartHangingJob(client::FixmineClient& c, const std::string& name = "r") {
  auto job = testutil::StartJob(c, name);
  EXPECT_TRUE(job.ok()) << job.status();
  if (!job.ok()) return "";
  EXPECT_TRUE(testutil::WaitRunning(c, job->id())) << "job " << job->id() << " never ran";
  auto j = c.GetJob(job->id());
  EXPECT_TRUE(j.ok()) << j.status();
  if (!j.ok()) return "";
  if (JobEnded(j->state())) {
    ADD_FAILURE() << "the job ended; the repository did not hang the miner: " << j->error();
    return "";
  }
  return job->id();
}

}  // namespace fixmine::hostile
