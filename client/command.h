#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "client/cli.h"
#include "client/printer.h"

namespace CLI {
class App;
}

namespace fixmine::client {

// One `fixmine` command, in the manner of RocksDB's ldb commands: its name, its one-line help,
// the options it adds, and Run. The commands are registered from one table (client/cli.cc,
// kCommands) under their group ("repo", "records session"); docs/architecture.md, "Client".
// The options write into the command object, which lives for the whole CLI run.
class Command {
 public:
  Command(std::string name, std::string help) : name_(std::move(name)), help_(std::move(help)) {}
  virtual ~Command() = default;
  Command(const Command&) = delete;
  Command& operator=(const Command&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  // Adds the command's own options and option groups (client/options.h) to `cmd`.
  virtual void AddOptions(CLI::App* cmd) { (void)cmd; }
  // Runs the command once its arguments are parsed; returns the exit code (kExitOk ...).
  // Data goes to ctx.out through ctx.print, diagnostics to ctx.err.
  virtual int Run(CliContext& ctx) = 0;

 private:
  std::string name_;
  std::string help_;
};

// Makes one command; the rows of the command table hold these.
using CommandFactory = std::unique_ptr<Command> (*)();

// The command factories, one per command, defined in the files named.
// extract_command.cc
std::unique_ptr<Command> NewExtractCommand();
// server_commands.cc: repositories, mining, jobs, records stream|get, benchmarks, stats, health.
std::unique_ptr<Command> NewRepoAddCommand();
std::unique_ptr<Command> NewRepoListCommand();
std::unique_ptr<Command> NewRepoShowCommand();
std::unique_ptr<Command> NewRepoRmCommand();
std::unique_ptr<Command> NewRepoStatsCommand();
std::unique_ptr<Command> NewMineCommand();
std::unique_ptr<Command> NewJobListCommand();
std::unique_ptr<Command> NewJobShowCommand();
std::unique_ptr<Command> NewJobWatchCommand();
std::unique_ptr<Command> NewJobCancelCommand();
std::unique_ptr<Command> NewRecordsStreamCommand();
std::unique_ptr<Command> NewRecordsGetCommand();
std::unique_ptr<Command> NewBenchAddCommand();
std::unique_ptr<Command> NewBenchListCommand();
std::unique_ptr<Command> NewBenchRmCommand();
std::unique_ptr<Command> NewStatsCommand();
std::unique_ptr<Command> NewHealthCommand();
// data_commands.cc: records count|export|session create|session read.
std::unique_ptr<Command> NewRecordsCountCommand();
std::unique_ptr<Command> NewRecordsExportCommand();
std::unique_ptr<Command> NewSessionCreateCommand();
std::unique_ptr<Command> NewSessionReadCommand();
// trajectory_commands.cc
std::unique_ptr<Command> NewTrajectoriesStreamCommand();
std::unique_ptr<Command> NewTrajectoriesGetCommand();
// db_commands.cc
std::unique_ptr<Command> NewDbBackupCommand();
std::unique_ptr<Command> NewDbCompactCommand();
std::unique_ptr<Command> NewDbVerifyCommand();
std::unique_ptr<Command> NewDbRestoreCommand();
// github_commands.cc
std::unique_ptr<Command> NewGithubSyncCommand();
std::unique_ptr<Command> NewGithubImportCommand();
std::unique_ptr<Command> NewGithubIssuesCommand();
std::unique_ptr<Command> NewInstancesStreamCommand();
std::unique_ptr<Command> NewInstancesExportCommand();
// dataset_command.cc: the global stages of a sharded run.
std::unique_ptr<Command> NewDatasetSignaturesCommand();
std::unique_ptr<Command> NewDatasetBucketsCommand();
std::unique_ptr<Command> NewDatasetClustersCommand();
std::unique_ptr<Command> NewDatasetFilterCommand();
std::unique_ptr<Command> NewDatasetCardCommand();

// Follows job `id` to its end with progress on stderr (client/progress.h), then prints the
// job as --output says; returns 0 when it ended SUCCEEDED, 1 when it ended otherwise, the
// call's exit code when the watch failed. Defined in server_commands.cc (`mine --wait`,
// `github sync --wait`, `github import`).
int WatchAndShowJob(CliContext& ctx, FixmineClient& client, const std::string& id);

}  // namespace fixmine::client
