// `fixmine db backup|compact|verify|restore`: store maintenance (docs/operations.md).
#include <filesystem>
#include <memory>
#include <ostream>

#include "CLI/CLI.hpp"
#include "client/cli.h"
#include "client/fixmine_client.h"
#include "common/json.h"
#include "fmt/format.h"
#include "storage/maintenance.h"

namespace fixmine::client {
namespace {

template <typename T>
void Print(CliContext* ctx, const T& msg, const std::string& table) {
  if (ctx->output == "jsonl") {
    *ctx->out << ToJsonLine(msg).value_or("{}") << "\n";
  } else if (ctx->output == "json") {
    *ctx->out << ToPrettyJson(msg).value_or("{}") << "\n";
  } else {
    *ctx->out << table;
  }
}

struct RestoreArgs {
  std::string backup;
  std::string data_dir;
  bool force = false;
};

int RunRestore(const RestoreArgs& a, CliContext* ctx) {
  std::string store_dir = (std::filesystem::path(a.data_dir) / "store").string();
  auto records = storage::RestoreStore(a.backup, store_dir, a.force);
  if (!records.ok()) {
    *ctx->err << "fixmine db restore: " << records.status().message() << "\n";
    switch (records.status().code()) {
      case absl::StatusCode::kInvalidArgument:
      case absl::StatusCode::kFailedPrecondition:
        return kExitUsage;
      default:
        return kExitFailed;
    }
  }
  *ctx->out << fmt::format("restored {} records into {}\n", *records, store_dir);
  return kExitOk;
}

}  // namespace

void RegisterDbCommands(CLI::App* app, CliContext* ctx) {
  CLI::App* db = app->add_subcommand("db", "Store maintenance: backup, restore, compact, verify");
  db->require_subcommand(1);

  auto backup_dir = std::make_shared<std::string>();
  CLI::App* backup = db->add_subcommand(
      "backup", "Write a consistent backup of the live store into a new folder on the server");
  backup
      ->add_option("dir", *backup_dir,
                   "absolute path on the server's filesystem; must not exist yet")
      ->required();
  backup->callback([=] {
    FixmineClient c(ctx->server, ConnectionOf(*ctx));
    auto r = c.BackupStore(*backup_dir);
    if (!r.ok()) {
      ctx->exit_code = ReportCallFailure(ctx, "db backup", r.status());
      return;
    }
    Print(ctx, *r,
          fmt::format("backup {}: {} records, {} files, {} bytes, sequence {}\n", r->dir(),
                      r->records(), r->files(), r->bytes(), r->sequence()));
  });

  db->add_subcommand("compact", "Compact the store (reclaims space of removed records)")
      ->callback([=] {
        FixmineClient c(ctx->server, ConnectionOf(*ctx));
        auto r = c.CompactStore();
        if (!r.ok()) {
          ctx->exit_code = ReportCallFailure(ctx, "db compact", r.status());
          return;
        }
        Print(ctx, *r,
              fmt::format("compacted: {} bytes before, {} after\n", r->bytes_before(),
                          r->bytes_after()));
      });

  db->add_subcommand("verify",
                     "Check block checksums and that indexes and counters match the records "
                     "(exit 1 on problems)")
      ->callback([=] {
        FixmineClient c(ctx->server, ConnectionOf(*ctx));
        auto r = c.VerifyStore();
        if (!r.ok()) {
          ctx->exit_code = ReportCallFailure(ctx, "db verify", r.status());
          return;
        }
        std::string table = fmt::format(
            "records:       {}\nids:           {}\ntime_entries:  {}\nlang_entries:  {}\n"
            "counted_total: {}\nrepositories:  {}\njobs:          {}\nproblems:      {}\n",
            r->records(), r->ids(), r->time_entries(), r->lang_entries(), r->counted_total(),
            r->repositories(), r->jobs(), r->problems_size());
        for (const auto& p : r->problems()) table += "  " + p + "\n";
        Print(ctx, *r, table);
        if (r->problems_size() > 0) {
          *ctx->err << fmt::format("fixmine db verify: {} problems found\n", r->problems_size());
          ctx->exit_code = kExitFailed;
        }
      });

  auto restore_args = std::make_shared<RestoreArgs>();
  CLI::App* restore = db->add_subcommand(
      "restore", "Offline: replace DATA_DIR/store with a backup (stop fixmined first)");
  restore->add_option("backup_dir", restore_args->backup, "a folder written by `db backup`")
      ->required();
  restore->add_option("--data-dir", restore_args->data_dir, "the fixmined --data-dir to restore")
      ->required();
  restore->add_flag("--force", restore_args->force, "replace a store that is there already");
  restore->callback([=] { ctx->exit_code = RunRestore(*restore_args, ctx); });
}

}  // namespace fixmine::client
