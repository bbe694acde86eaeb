#include "tests/testutil/git_repo.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_split.h"
#include "fmt/format.h"

namespace fixmine::testutil {

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

CommandResult RunShell(const std::string& command) {
  TempDir tmp;
  std::string err_path = tmp.path() + "/stderr";
  std::string full = "(" + command + ") 2>" + ShellQuote(err_path);
  CommandResult r;
  FILE* p = popen(full.c_str(), "r");
  if (!p) return r;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream ef(err_path, std::ios::binary);
  r.err.assign(std::istreambuf_iterator<char>(ef), {});
  return r;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "fixmine-test-XXXXXX").string();
  char* p = mkdtemp(tmpl.data());
  if (p == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

GitRepo::GitRepo(bool bare) {
  Git(bare ? "init -q --bare -b main ." : "init -q -b main .");
  Git("config core.autocrlf false");
  Git("config core.quotePath true");
}

CommandResult GitRepo::GitResult(const std::string& args) {
  std::string when = fmt::format("@{} +0000", time_);
  std::string env = fmt::format(
      "GIT_CONFIG_NOSYSTEM=1 HOME={} GIT_AUTHOR_NAME='Ada Tester' GIT_AUTHOR_EMAIL=ada@example.com "
      "GIT_COMMITTER_NAME='Cy Committer' GIT_COMMITTER_EMAIL=cy@example.com "
      "GIT_AUTHOR_DATE='{}' GIT_COMMITTER_DATE='{}'",
      ShellQuote(path()), when, when);
  return RunShell(fmt::format("cd {} && {} git {}", ShellQuote(path()), env, args));
}

std::string GitRepo::Git(const std::string& args) {
  CommandResult r = GitResult(args);
  if (r.exit_code != 0) {
    ADD_FAILURE() << "git " << args << " failed (" << r.exit_code << "): " << r.err;
  }
  return r.out;
}

void GitRepo::Write(const std::string& rel, const std::string& content) {
  std::filesystem::path p = std::filesystem::path(path()) / rel;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
}

void GitRepo::Remove(const std::string& rel) {
  std::filesystem::remove_all(std::filesystem::path(path()) / rel);
}

std::string GitRepo::CommitAll(const std::string& message, bool allow_empty) {
  Git("add -A");
  TempDir tmp;
  std::string msg_path = tmp.path() + "/msg";
  {
    std::ofstream f(msg_path, std::ios::binary);
    f << message;
  }
  Git(fmt::format("commit -q --cleanup=verbatim {} -F {}", allow_empty ? "--allow-empty" : "",
                  ShellQuote(msg_path)));
  time_ += 3600;
  std::string id = Git("rev-parse HEAD");
  while (!id.empty() && id.back() == '\n') id.pop_back();
  return id;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  for (auto part : absl::StrSplit(text, '\n', absl::SkipEmpty())) out.emplace_back(part);
  return out;
}

std::string JsonField(const std::string& line, const std::string& key) {
  const std::string pat = "\"" + key + "\":\"";
  const size_t p = line.find(pat);
  if (p == std::string::npos) return "";
  const size_t e = line.find('"', p + pat.size());
  return line.substr(p + pat.size(), e - p - pat.size());
}

std::string LineOf(const std::string& out, const std::string& commit) {
  const std::string key = "\"commit\":\"" + commit + "\"";
  for (const std::string& line : Lines(out)) {
    if (line.find(key) != std::string::npos) return line;
  }
  return "";
}

std::string CliPath() { return FIXMINE_CLI_PATH; }

CommandResult RunCli(const std::string& args) {
  return RunShell(ShellQuote(CliPath()) + " " + args);
}

}  // namespace fixmine::testutil
