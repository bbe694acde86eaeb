#pragma once

#include <string>
#include <vector>

namespace fixmine::testutil {

// Result of a shell command.
struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// The non-empty lines of `text` (a command's output), without their newlines.
std::vector<std::string> Lines(const std::string& text);

// The value of string field `key` in JSON line `line`, as written (escapes kept); "" when
// absent.
std::string JsonField(const std::string& line, const std::string& key);

// The line of record `commit` in `fixmine records stream --output jsonl` output `out`; "" when
// absent.
std::string LineOf(const std::string& out, const std::string& commit);

// Runs `command` through /bin/sh, capturing stdout and stderr. Not for untrusted input.
CommandResult RunShell(const std::string& command);

// Single-quotes `s` for /bin/sh.
std::string ShellQuote(const std::string& s);

// A temporary folder removed (recursively) when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A git repository built with the git CLI, with fixed identities and dates so that commit ids
// are reproducible. Every call fails the current test (ADD_FAILURE) when git fails.
class GitRepo {
 public:
  // Creates an empty repository (branch "main") in a new temporary folder.
  explicit GitRepo(bool bare = false);
  const std::string& path() const { return dir_.path(); }

  // Runs `git ARGS` in the repository with the fixed identity; returns stdout.
  std::string Git(const std::string& args);
  // Runs `git ARGS`, returning the whole result (for commands expected to fail).
  CommandResult GitResult(const std::string& args);

  // Writes `content` to `rel` in the work tree (creating folders).
  void Write(const std::string& rel, const std::string& content);
  // Removes `rel` from the work tree.
  void Remove(const std::string& rel);
  // Stages everything and commits with `message` at the next fixed time; returns the id.
  std::string CommitAll(const std::string& message, bool allow_empty = false);
  // The next commit's time (seconds); each commit advances it by an hour.
  long long next_time() const { return time_; }

 private:
  TempDir dir_;
  long long time_ = 1700000000;
};

// Path of the built `fixmine` binary.
std::string CliPath();

// Runs the real `fixmine` binary, `fixmine ARGS` (ARGS shell-quoted by the caller), and captures
// its stdout, stderr and exit code. TestServer::Cli runs it against a test server.
CommandResult RunCli(const std::string& args);

}  // namespace fixmine::testutil
