// `fixmine trajectories stream|get`: pull-request trajectories from a server (docs/api.md,
// docs/trajectories.md).
#include <memory>

#include "CLI/CLI.hpp"
#include "client/cli.h"
#include "client/command.h"
#include "client/fixmine_client.h"
#include "client/options.h"
#include "client/printer.h"
#include "common/trajectory_format.h"
#include "fmt/format.h"

namespace fixmine::client {
namespace {

// Checks a trajectory --format before any call: prints "fixmine COMMAND: ..." and returns
// whether it is chat (false for raw) or the exit code of a bad value.
absl::StatusOr<bool> CheckFormat(CliContext& ctx, const std::string& format) {
  auto chat = ParseTrajectoryFormat(format);
  if (!chat.ok()) *ctx.err << "fixmine " << ctx.command << ": " << chat.status().message() << "\n";
  return chat;
}

class TrajectoriesStream : public Command {
 public:
  TrajectoriesStream()
      : Command("stream",
                "Stream matching trajectories as JSON Lines (resume with --resume-token)") {}
  void AddOptions(CLI::App* cmd) override {
    cmd->add_option("--filter", filter_,
                    "trajectory filter (docs/filters.md, \"Trajectory filters\")");
    paging_.Add(cmd, "trajectories", "stream");
    cmd->add_option("--format", format_, "raw or chat (docs/formats.md)")->capture_default_str();
  }
  int Run(CliContext& ctx) override {
    if (!CheckFormat(ctx, format_).ok()) return kExitUsage;
    fixmine::v1::StreamTrajectoriesRequest req;
    req.set_filter(filter_);
    req.set_resume_token(paging_.resume_token);
    req.set_limit(paging_.limit);
    req.set_format(format_);
    StreamTally tally{paging_.resume_token};
    std::string buf;
    absl::Status st = Connect(ctx).StreamTrajectories(
        req, [&](const fixmine::v1::StreamTrajectoriesResponse& resp) {
          buf.clear();
          for (const auto& t : resp.trajectories()) ctx.print->AppendJsonLine(t, &buf);
          AppendRows(resp.rendered(), &buf);
          ctx.out->write(buf.data(), static_cast<std::streamsize>(buf.size()));
          ctx.out->flush();
          tally.count += resp.trajectory_count();
          tally.last_token = resp.resume_token();
          return true;
        });
    bool limited = paging_.limit > 0 && tally.count >= paging_.limit;
    if (int code = tally.Finish(ctx, st, limited); code != kExitOk) return code;
    *ctx.err << fmt::format("trajectories stream: {} trajectories\n", tally.count);
    return kExitOk;
  }

 private:
  std::string filter_;
  Paging paging_;
  std::string format_ = "raw";
};

class TrajectoriesGet : public Command {
 public:
  TrajectoriesGet() : Command("get", "Print one trajectory as JSON") {}
  void AddOptions(CLI::App* cmd) override {
    cmd->add_option("id", id_, "trajectory id")->required();
    cmd->add_option("--format", format_, "raw or chat (docs/formats.md)")->capture_default_str();
  }
  int Run(CliContext& ctx) override {
    auto chat = CheckFormat(ctx, format_);
    if (!chat.ok()) return kExitUsage;
    fixmine::v1::GetTrajectoryRequest req;
    req.set_id(id_);
    req.set_format(format_);
    auto resp = Connect(ctx).GetTrajectory(req);
    if (!resp.ok()) return ReportCallFailure(ctx, resp.status());
    if (*chat) {
      *ctx.out << resp->rendered() << "\n";
    } else {
      ctx.print->Json(resp->trajectory());
    }
    return kExitOk;
  }

 private:
  std::string id_;
  std::string format_ = "raw";
};

}  // namespace

std::unique_ptr<Command> NewTrajectoriesStreamCommand() {
  return std::make_unique<TrajectoriesStream>();
}
std::unique_ptr<Command> NewTrajectoriesGetCommand() { return std::make_unique<TrajectoriesGet>(); }

}  // namespace fixmine::client
