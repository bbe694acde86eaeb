#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "client/fixmine_client.h"

namespace CLI {
class App;
}

namespace fixmine::client {

// Exit codes of the `fixmine` CLI (STYLE.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

// State shared by every command of one CLI run: global options and the output streams.
struct CliContext {
  std::ostream* out = nullptr;  // data
  std::ostream* err = nullptr;  // diagnostics and progress
  std::string server;           // --server, FIXMINE_SERVER, or 127.0.0.1:50051
  std::string token;            // --token, FIXMINE_TOKEN, or --token-file
  std::string tls_ca;           // --tls-ca (FIXMINE_TLS_CA): use TLS, trusting this CA
  std::string tls_cert;         // --tls-cert / --tls-key: client certificate for mutual TLS
  std::string tls_key;
  std::string output = "table";  // --output table|json|jsonl
  int exit_code = kExitOk;
};

// The connection settings of `ctx` (token and TLS) for FixmineClient.
ConnectionOptions ConnectionOf(const CliContext& ctx);

// Prints "fixmine WHAT: MESSAGE" for a failed server call (plus a hint when the server is
// unreachable) and returns its exit code: 3 unreachable or deadline exceeded, 2 invalid
// argument, 1 anything else.
int ReportCallFailure(CliContext* ctx, std::string_view what, const absl::Status& st);

// Runs the CLI with `args` (without the program name), writing data to `out` and diagnostics to
// `err`. Returns the exit code. Thread-compatible: each call uses its own state.
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// Registers `fixmine extract` on `app`; its callback sets ctx->exit_code.
void RegisterExtractCommand(CLI::App* app, CliContext* ctx);

// Registers the commands that talk to a fixmined server (repo, mine, job, records, stats,
// health). Defined in server_commands.cc.
void RegisterServerCommands(CLI::App* app, CliContext* ctx);

// Registers `trajectories stream|get`. Defined in trajectory_commands.cc.
void RegisterTrajectoryCommands(CLI::App* app, CliContext* ctx);
// Registers `db backup|compact|verify` (RPCs) and `db restore` (offline). Defined in
// db_commands.cc.
void RegisterDbCommands(CLI::App* app, CliContext* ctx);
// Registers `dataset signatures|buckets|clusters|filter|card` (offline stages of a sharded run).
// Defined in dataset_command.cc.
void RegisterDatasetCommands(CLI::App* app, CliContext* ctx);

// Registers `github sync|import|issues` and `instances stream|export`; `watch` follows a job
// to its end (the shared progress display) and returns the exit code. Defined in
// github_commands.cc.
void RegisterGithubCommands(
    CLI::App* app, CliContext* ctx,
    const std::function<int(CliContext*, FixmineClient&, const std::string&)>& watch);

// Registers `records export` and `records session create|read` under the `records` command.
// Defined in data_commands.cc.
void RegisterDataCommands(CLI::App* records, CliContext* ctx);

}  // namespace fixmine::client
