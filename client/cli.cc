#include "client/cli.h"

#include <cstdlib>
#include <iterator>
#include <memory>
#include <ostream>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "client/command.h"
#include "client/options.h"
#include "client/printer.h"
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

FixmineClient Connect(const CliContext& ctx) {
  return FixmineClient(ctx.server, ConnectionOf(ctx));
}

int ReportCallFailure(CliContext& ctx, const absl::Status& st) {
  return ReportCallFailure(&ctx, ctx.command, st);
}

namespace {

// A group of commands ("repo", "records session"): it only holds its subcommands, one of which
// must be given.
struct CommandGroup {
  std::string_view path;
  std::string_view help;
  std::string_view footer;
};

const CommandGroup kGroups[] = {
    {"github", "GitHub issues, pull requests and comments (docs/github.md)", ""},
    {"instances",
     "SWE-style task instances: merged pull requests that resolve issues (docs/github.md)", ""},
    {"repo", "Register and inspect repositories", ""},
    {"job", "Inspect and control mining jobs", ""},
    {"records", "Read stored records", ""},
    {"records session", "Parallel read sessions: split matching records into disjoint streams", ""},
    {"bench", "Benchmarks whose text marks records contaminated", ""},
    {"trajectories", "Read stored pull-request trajectories", ""},
    {"db", "Store maintenance: backup, restore, compact, verify", ""},
    {"dataset",
     "Global stages of a sharded run: dedup across all map shards, splits and the dataset card "
     "(offline, no server; docs/scale-out.md)",
     "Order: fixmine extract --repo-list ... --out DIR/map (N tasks), then signatures (N), "
     "buckets (B), clusters (1), filter (N), card (1). Every task writes a .done marker and is "
     "skipped when it exists; deploy/slurm/fixmine-dataset.sh submits them all."},
};

// Every command, under its group ("" for the top level), in the order `--help` lists them.
struct CommandRow {
  std::string_view group;
  CommandFactory make;
};

const CommandRow kCommands[] = {
    {"", NewExtractCommand},
    {"github", NewGithubSyncCommand},
    {"github", NewGithubImportCommand},
    {"github", NewGithubIssuesCommand},
    {"instances", NewInstancesStreamCommand},
    {"instances", NewInstancesExportCommand},
    {"repo", NewRepoAddCommand},
    {"repo", NewRepoListCommand},
    {"repo", NewRepoShowCommand},
    {"repo", NewRepoRmCommand},
    {"repo", NewRepoStatsCommand},
    {"", NewMineCommand},
    {"job", NewJobListCommand},
    {"job", NewJobShowCommand},
    {"job", NewJobWatchCommand},
    {"job", NewJobCancelCommand},
    {"records", NewRecordsStreamCommand},
    {"records", NewRecordsCountCommand},
    {"records", NewRecordsExportCommand},
    {"records session", NewSessionCreateCommand},
    {"records session", NewSessionReadCommand},
    {"records", NewRecordsGetCommand},
    {"bench", NewBenchAddCommand},
    {"bench", NewBenchListCommand},
    {"bench", NewBenchRmCommand},
    {"", NewStatsCommand},
    {"", NewHealthCommand},
    {"trajectories", NewTrajectoriesStreamCommand},
    {"trajectories", NewTrajectoriesGetCommand},
    {"db", NewDbBackupCommand},
    {"db", NewDbCompactCommand},
    {"db", NewDbVerifyCommand},
    {"db", NewDbRestoreCommand},
    {"dataset", NewDatasetSignaturesCommand},
    {"dataset", NewDatasetBucketsCommand},
    {"dataset", NewDatasetClustersCommand},
    {"dataset", NewDatasetFilterCommand},
    {"dataset", NewDatasetCardCommand},
};

// The CLI11 app of group `path` under `root`, made (with its parents) on first use.
CLI::App* GroupApp(CLI::App* root, std::string_view path) {
  if (path.empty()) return root;
  size_t space = path.rfind(' ');
  CLI::App* parent = GroupApp(root, space == std::string_view::npos ? "" : path.substr(0, space));
  std::string name(space == std::string_view::npos ? path : path.substr(space + 1));
  for (CLI::App* sub : parent->get_subcommands({})) {
    if (sub->get_name() == name) return sub;
  }
  for (const CommandGroup& g : kGroups) {
    if (g.path != path) continue;
    CLI::App* app = parent->add_subcommand(name, std::string(g.help));
    app->require_subcommand(1);
    if (!g.footer.empty()) app->footer(std::string(g.footer));
    return app;
  }
  return nullptr;  // unreachable: every group of kCommands is in kGroups
}

}  // namespace

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CliContext ctx;
  ctx.out = &out;
  ctx.err = &err;
  if (const char* s = std::getenv("FIXMINE_SERVER"); s && *s) ctx.server = s;
  if (const char* t = std::getenv("FIXMINE_TOKEN"); t && *t) ctx.token = t;
  if (const char* c = std::getenv("FIXMINE_TLS_CA"); c && *c) ctx.tls_ca = c;
  if (ctx.server.empty()) ctx.server = "127.0.0.1:50051";

  CLI::App app{"fixmine: mine git histories into code-fix training records", "fixmine"};
  app.require_subcommand(1);
  // Global options may also follow the subcommand: `fixmine repo list --server X`.
  app.fallthrough();
  AddConnectionOptions(&app, &ctx);
  AddOutputOption(&app, &ctx);
  std::vector<std::unique_ptr<Command>> commands;
  commands.reserve(std::size(kCommands));
  for (const CommandRow& row : kCommands) {
    Command* cmd = commands.emplace_back(row.make()).get();
    CLI::App* group = GroupApp(&app, row.group);
    CLI::App* sub = group->add_subcommand(cmd->name(), cmd->help());
    cmd->AddOptions(sub);
    std::string path = row.group.empty() ? cmd->name() : std::string(row.group) + " " + cmd->name();
    sub->callback([&ctx, cmd, path] {
      ctx.command = path;
      Printer printer(ctx);
      ctx.print = &printer;
      int code = cmd->Run(ctx);
      // A message that could not be rendered was left out: the output is incomplete.
      if (printer.failed() && code == kExitOk) code = kExitFailed;
      ctx.print = nullptr;
      ctx.exit_code = code;
    });
  }

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
