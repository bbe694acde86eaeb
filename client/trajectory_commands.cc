// `fixmine trajectories stream|get`: pull-request trajectories from a server (docs/api.md,
// docs/trajectories.md).
#include <grpcpp/grpcpp.h>

#include <memory>

#include "CLI/CLI.hpp"
#include "client/cli.h"
#include "client/fixmine_client.h"
#include "common/json.h"
#include "common/trajectory_format.h"
#include "fixmine/v1/trajectories.grpc.pb.h"
#include "fmt/format.h"

namespace fixmine::client {
namespace {

using fixmine::v1::TrajectoryService;

// A stub on the same channel the other commands use (TLS per --tls-ca/--tls-cert).
std::unique_ptr<TrajectoryService::Stub> Connect(const CliContext* ctx) {
  FixmineClient c(ctx->server, ConnectionOf(*ctx));
  return TrajectoryService::NewStub(c.channel());
}

void Prepare(const CliContext* ctx, grpc::ClientContext* cc, bool deadline) {
  if (deadline) cc->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!ctx->token.empty()) cc->AddMetadata("authorization", "Bearer " + ctx->token);
}

struct StreamArgs {
  std::string filter;
  std::string resume_token;
  int64_t limit = 0;
  std::string format = "raw";
};

int RunStream(CliContext* ctx, const StreamArgs& a) {
  if (auto f = ParseTrajectoryFormat(a.format); !f.ok()) {
    *ctx->err << "fixmine trajectories stream: " << f.status().message() << "\n";
    return kExitUsage;
  }
  auto stub = Connect(ctx);
  fixmine::v1::StreamTrajectoriesRequest req;
  req.set_filter(a.filter);
  req.set_resume_token(a.resume_token);
  req.set_limit(a.limit);
  req.set_format(a.format);
  grpc::ClientContext cc;
  Prepare(ctx, &cc, false);
  auto reader = stub->StreamTrajectories(&cc, req);
  fixmine::v1::StreamTrajectoriesResponse resp;
  std::string last_token = a.resume_token;
  int64_t count = 0;
  std::string buf;
  while (reader->Read(&resp)) {
    buf.clear();
    for (const auto& t : resp.trajectories()) {
      buf += ToJsonLine(t).value_or("{}");
      buf.push_back('\n');
    }
    for (const auto& row : resp.rendered()) {
      buf += row;
      buf.push_back('\n');
    }
    ctx->out->write(buf.data(), static_cast<std::streamsize>(buf.size()));
    ctx->out->flush();
    count += resp.trajectory_count();
    last_token = resp.resume_token();
  }
  absl::Status st = FromGrpc(reader->Finish());
  bool limited = a.limit > 0 && count >= a.limit;
  if ((limited || !st.ok()) && !last_token.empty()) {
    *ctx->err << "resume_token: " << last_token << "\n";
  }
  if (!st.ok()) return ReportCallFailure(ctx, "trajectories stream", st);
  *ctx->err << fmt::format("trajectories stream: {} trajectories\n", count);
  return kExitOk;
}

int RunGet(CliContext* ctx, const std::string& id, const std::string& format) {
  auto chat = ParseTrajectoryFormat(format);
  if (!chat.ok()) {
    *ctx->err << "fixmine trajectories get: " << chat.status().message() << "\n";
    return kExitUsage;
  }
  auto stub = Connect(ctx);
  fixmine::v1::GetTrajectoryRequest req;
  req.set_id(id);
  req.set_format(format);
  fixmine::v1::GetTrajectoryResponse resp;
  grpc::ClientContext cc;
  Prepare(ctx, &cc, true);
  absl::Status st = FromGrpc(stub->GetTrajectory(&cc, req, &resp));
  if (!st.ok()) return ReportCallFailure(ctx, "trajectories get", st);
  if (*chat) {
    *ctx->out << resp.rendered() << "\n";
  } else if (ctx->output == "json") {
    *ctx->out << ToPrettyJson(resp.trajectory()).value_or("{}") << "\n";
  } else {
    *ctx->out << ToJsonLine(resp.trajectory()).value_or("{}") << "\n";
  }
  return kExitOk;
}

}  // namespace

void RegisterTrajectoryCommands(CLI::App* app, CliContext* ctx) {
  CLI::App* traj = app->add_subcommand("trajectories", "Read stored pull-request trajectories");
  traj->require_subcommand(1);
  {
    auto a = std::make_shared<StreamArgs>();
    CLI::App* stream = traj->add_subcommand(
        "stream", "Stream matching trajectories as JSON Lines (resume with --resume-token)");
    stream->add_option("--filter", a->filter,
                       "trajectory filter (docs/filters.md, \"Trajectory filters\")");
    stream->add_option("--resume-token", a->resume_token,
                       "continue after the trajectories a previous stream printed");
    stream->add_option("--limit", a->limit, "stop after this many trajectories")
        ->check(CLI::NonNegativeNumber);
    stream->add_option("--format", a->format, "raw or chat (docs/formats.md)")
        ->capture_default_str();
    stream->callback([=] { ctx->exit_code = RunStream(ctx, *a); });
  }
  {
    auto id = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("raw");
    CLI::App* get = traj->add_subcommand("get", "Print one trajectory as JSON");
    get->add_option("id", *id, "trajectory id")->required();
    get->add_option("--format", *format, "raw or chat (docs/formats.md)")->capture_default_str();
    get->callback([=] { ctx->exit_code = RunGet(ctx, *id, *format); });
  }
}

}  // namespace fixmine::client
