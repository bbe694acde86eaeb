#include "client/cli.h"

#include <cstdlib>
#include <ostream>

#include "CLI/CLI.hpp"

namespace fixmine::client {

int ReportCallFailure(CliContext* ctx, std::string_view what, const absl::Status& st) {
  *ctx->err << "fixmine " << what << ": " << st.message() << "\n";
  switch (st.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      *ctx->err << "fixmine: is fixmined running at " << ctx->server
                << "? (set --server or FIXMINE_SERVER)\n";
      return kExitUnreachable;
    case absl::StatusCode::kInvalidArgument:
      return kExitUsage;
    default:
      return kExitFailed;
  }
}


int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CliContext ctx;
  ctx.out = &out;
  ctx.err = &err;
  if (const char* s = std::getenv("FIXMINE_SERVER"); s && *s) ctx.server = s;
  if (const char* t = std::getenv("FIXMINE_TOKEN"); t && *t) ctx.token = t;
  if (ctx.server.empty()) ctx.server = "127.0.0.1:50051";

  CLI::App app{"fixmine: mine git histories into code-fix training records", "fixmine"};
  app.require_subcommand(1);
  // Global options may also follow the subcommand: `fixmine repo list --server X`.
  app.fallthrough();
  app.add_option("--server", ctx.server, "fixmined address HOST:PORT (env FIXMINE_SERVER)")
      ->capture_default_str();
  app.add_option("--token", ctx.token, "bearer token for the server (env FIXMINE_TOKEN)");
  app.add_option("--output", ctx.output, "listing format")
      ->check(CLI::IsMember({"table", "json", "jsonl"}))
      ->capture_default_str();
  RegisterExtractCommand(&app, &ctx);
  RegisterServerCommands(&app, &ctx);
  RegisterTrajectoryCommands(&app, &ctx);

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
