#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "client/fixmine_client.h"

namespace fixmine::client {

class Printer;

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
  // The running command's path ("repo add"), for messages; set before Command::Run.
  std::string command;
  // The --output printer of the running command; set before Command::Run (client/printer.h).
  Printer* print = nullptr;
  int exit_code = kExitOk;
};

// The connection settings of `ctx` (token and TLS) for FixmineClient.
ConnectionOptions ConnectionOf(const CliContext& ctx);

// A client of the server `ctx` names, with its token and TLS settings. Connects lazily.
FixmineClient Connect(const CliContext& ctx);

// Prints "fixmine WHAT: MESSAGE" for a failed server call (plus a hint when the server is
// unreachable) and returns its exit code: 3 unreachable or deadline exceeded, 2 invalid
// argument, 1 anything else.
int ReportCallFailure(CliContext* ctx, std::string_view what, const absl::Status& st);
// The same with WHAT the running command's path.
int ReportCallFailure(CliContext& ctx, const absl::Status& st);

// Runs the CLI with `args` (without the program name), writing data to `out` and diagnostics to
// `err`. Returns the exit code. Thread-compatible: each call uses its own state.
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace fixmine::client
