// `fixmine db backup|compact|verify|restore`: store maintenance (docs/operations.md).
#include <filesystem>
#include <memory>
#include <ostream>

#include "CLI/CLI.hpp"
#include "client/cli.h"
#include "client/command.h"
#include "client/fixmine_client.h"
#include "client/printer.h"
#include "fmt/format.h"
#include "storage/maintenance.h"

namespace fixmine::client {
namespace {

class DbBackup : public Command {
 public:
  DbBackup()
      : Command("backup",
                "Write a consistent backup of the live store into a new folder on the server") {}
  void AddOptions(CLI::App* cmd) override {
    cmd->add_option("dir", dir_, "absolute path on the server's filesystem; must not exist yet")
        ->required();
  }
  int Run(CliContext& ctx) override {
    auto r = Connect(ctx).BackupStore(dir_);
    if (!r.ok()) return ReportCallFailure(ctx, r.status());
    ctx.print->One(*r, [&] {
      return fmt::format("backup {}: {} records, {} files, {} bytes, sequence {}\n", r->dir(),
                         r->records(), r->files(), r->bytes(), r->sequence());
    });
    return kExitOk;
  }

 private:
  std::string dir_;
};

class DbCompact : public Command {
 public:
  DbCompact() : Command("compact", "Compact the store (reclaims space of removed records)") {}
  int Run(CliContext& ctx) override {
    auto r = Connect(ctx).CompactStore();
    if (!r.ok()) return ReportCallFailure(ctx, r.status());
    ctx.print->One(*r, [&] {
      return fmt::format("compacted: {} bytes before, {} after\n", r->bytes_before(),
                         r->bytes_after());
    });
    return kExitOk;
  }
};

class DbVerify : public Command {
 public:
  DbVerify()
      : Command("verify",
                "Check block checksums and that indexes and counters match the records (exit 1 "
                "on problems)") {}
  int Run(CliContext& ctx) override {
    auto r = Connect(ctx).VerifyStore();
    if (!r.ok()) return ReportCallFailure(ctx, r.status());
    ctx.print->One(*r, [&] {
      std::string table = fmt::format(
          "records:       {}\nids:           {}\ntime_entries:  {}\nlang_entries:  {}\n"
          "counted_total: {}\nrepositories:  {}\njobs:          {}\nproblems:      {}\n",
          r->records(), r->ids(), r->time_entries(), r->lang_entries(), r->counted_total(),
          r->repositories(), r->jobs(), r->problems_size());
      for (const auto& p : r->problems()) table += "  " + p + "\n";
      return table;
    });
    if (r->problems_size() > 0) {
      *ctx.err << fmt::format("fixmine db verify: {} problems found\n", r->problems_size());
      return kExitFailed;
    }
    return kExitOk;
  }
};

class DbRestore : public Command {
 public:
  DbRestore()
      : Command("restore", "Offline: replace DATA_DIR/store with a backup (stop fixmined first)") {}
  void AddOptions(CLI::App* cmd) override {
    cmd->add_option("backup_dir", backup_, "a folder written by `db backup`")->required();
    cmd->add_option("--data-dir", data_dir_, "the fixmined --data-dir to restore")->required();
    cmd->add_flag("--force", force_, "replace a store that is there already");
  }
  int Run(CliContext& ctx) override {
    std::string store_dir = (std::filesystem::path(data_dir_) / "store").string();
    auto records = storage::RestoreStore(backup_, store_dir, force_);
    if (!records.ok()) {
      *ctx.err << "fixmine db restore: " << records.status().message() << "\n";
      switch (records.status().code()) {
        case absl::StatusCode::kInvalidArgument:
        case absl::StatusCode::kFailedPrecondition:
          return kExitUsage;
        default:
          return kExitFailed;
      }
    }
    *ctx.out << fmt::format("restored {} records into {}\n", *records, store_dir);
    return kExitOk;
  }

 private:
  std::string backup_;
  std::string data_dir_;
  bool force_ = false;
};

}  // namespace

std::unique_ptr<Command> NewDbBackupCommand() { return std::make_unique<DbBackup>(); }
std::unique_ptr<Command> NewDbCompactCommand() { return std::make_unique<DbCompact>(); }
std::unique_ptr<Command> NewDbVerifyCommand() { return std::make_unique<DbVerify>(); }
std::unique_ptr<Command> NewDbRestoreCommand() { return std::make_unique<DbRestore>(); }

}  // namespace fixmine::client
