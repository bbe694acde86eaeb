#include "client/cli.h"

#include <cstdlib>
#include <fstream>
#include <ostream>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "client/tls_probe.h"

namespace fixmine::client {

int ReportCallFailure(CliContext* ctx, std::string_view what, const absl::Status& st) {
  *ctx->err << "fixmine " << what << ": " << st.message() << "\n";
  // A TLS handshake that failed reaches here as UNKNOWN ("failed to connect ... Ssl handshake
  // failed").
  bool handshake = st.code() == absl::StatusCode::kUnknown &&
                   absl::StrContains(st.message(), "failed to connect");
  switch (handshake ? absl::StatusCode::kUnavailable : st.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded: {
      // gRPC says "Socket closed" for a plaintext client at a TLS server and one handshake
      // error for every certificate problem: a handshake of our own says which.
      bool tls = ConnectionOf(*ctx).tls;
      std::string why =
          ExplainTlsFailure(ProbeTls(ctx->server, ctx->tls_ca), ctx->server, tls, ctx->tls_ca);
      if (!why.empty()) {
        *ctx->err << "fixmine: " << why << "\n";
      } else {
        *ctx->err << "fixmine: is fixmined running at " << ctx->server
                  << "? (set --server or FIXMINE_SERVER)\n";
      }
      return kExitUnreachable;
    }
    case absl::StatusCode::kInvalidArgument:
      return kExitUsage;
    default:
      return kExitFailed;
  }
}

ConnectionOptions ConnectionOf(const CliContext& ctx) {
  ConnectionOptions o;
  o.token = ctx.token;
  o.tls_ca = ctx.tls_ca;
  o.tls_cert = ctx.tls_cert;
  o.tls_key = ctx.tls_key;
  o.tls = !ctx.tls_ca.empty() || !ctx.tls_cert.empty();
  return o;
}

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CliContext ctx;
  ctx.out = &out;
  ctx.err = &err;
  if (const char* s = std::getenv("FIXMINE_SERVER"); s && *s) ctx.server = s;
  if (const char* t = std::getenv("FIXMINE_TOKEN"); t && *t) ctx.token = t;
  if (const char* c = std::getenv("FIXMINE_TLS_CA"); c && *c) ctx.tls_ca = c;
  if (ctx.server.empty()) ctx.server = "127.0.0.1:50051";
  std::string token_file;  // read by the option's callback into ctx.token

  CLI::App app{"fixmine: mine git histories into code-fix training records", "fixmine"};
  app.require_subcommand(1);
  // Global options may also follow the subcommand: `fixmine repo list --server X`.
  app.fallthrough();
  app.add_option("--server", ctx.server, "fixmined address HOST:PORT (env FIXMINE_SERVER)")
      ->capture_default_str();
  app.add_option("--token", ctx.token, "bearer token for the server (env FIXMINE_TOKEN)");
  app.add_option("--token-file", token_file,
                 "read the bearer token from this file (its first line)")
      ->check(CLI::ExistingFile)
      ->each([&ctx](const std::string& path) {
        std::ifstream f(path);
        std::string line;
        std::getline(f, line);
        ctx.token = std::string(absl::StripAsciiWhitespace(line));
      });
  app.add_option("--tls-ca", ctx.tls_ca,
                 "connect with TLS, trusting this PEM CA bundle (env FIXMINE_TLS_CA)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-cert", ctx.tls_cert, "PEM client certificate for mutual TLS")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", ctx.tls_key, "PEM private key of --tls-cert")
      ->check(CLI::ExistingFile);
  app.add_option("--output", ctx.output, "listing format")
      ->check(CLI::IsMember({"table", "json", "jsonl"}))
      ->capture_default_str();
  RegisterExtractCommand(&app, &ctx);
  RegisterServerCommands(&app, &ctx);
  RegisterTrajectoryCommands(&app, &ctx);
  RegisterDbCommands(&app, &ctx);
  RegisterDatasetCommands(&app, &ctx);

  // CLI11 parses the arguments in reverse order of a vector.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::Success& e) {  // --help and friends
    app.exit(e, out, err);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    err << "fixmine: " << e.what() << "\n";
    err << "Run with --help for usage.\n";
    return kExitUsage;
  }
  return ctx.exit_code;
}

}  // namespace fixmine::client
