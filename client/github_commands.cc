// `fixmine github sync|import|issues` and `fixmine instances stream|export` (docs/github.md).
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>

#include "CLI/CLI.hpp"
#include "client/cli.h"
#include "client/fixmine_client.h"
#include "common/json.h"
#include "fixmine/v1/github.grpc.pb.h"
#include "fmt/format.h"
#include "github/gharchive.h"

namespace fixmine::client {
namespace {

using fixmine::v1::GithubService;
using fixmine::v1::ImportGithubEventsRequest;
using fixmine::v1::Instance;

std::unique_ptr<GithubService::Stub> Connect(const CliContext* ctx) {
  FixmineClient c(ctx->server, ConnectionOf(*ctx));
  return GithubService::NewStub(c.channel());
}

void Prepare(const CliContext* ctx, grpc::ClientContext* cc, int deadline_seconds) {
  if (deadline_seconds > 0) {
    cc->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(deadline_seconds));
  }
  if (!ctx->token.empty()) cc->AddMetadata("authorization", "Bearer " + ctx->token);
}

void Key(std::string* out, std::string_view key, bool first = false) {
  if (!first) out->push_back(',');
  AppendValidJsonString(key, out);
  out->push_back(':');
}

void StrField(std::string* out, std::string_view key, std::string_view value) {
  Key(out, key);
  AppendValidJsonString(value, out);
}

}  // namespace

// One instance as a SWE-bench row (docs/github.md, "Instances"): SWE-bench's fields in its
// order, FAIL_TO_PASS / PASS_TO_PASS as the JSON text "[]" (no tests are run), then fixmine's.
std::string RenderSweInstance(const Instance& i) {
  std::string o = "{";
  Key(&o, "instance_id", true);
  AppendValidJsonString(i.instance_id(), &o);
  StrField(&o, "repo", i.repo());
  StrField(&o, "base_commit", i.base_commit());
  StrField(&o, "patch", i.patch());
  StrField(&o, "test_patch", i.test_patch());
  StrField(&o, "problem_statement", i.problem_statement());
  StrField(&o, "hints_text", i.hints_text());
  StrField(&o, "created_at", i.created_at());
  StrField(&o, "FAIL_TO_PASS", "[]");
  StrField(&o, "PASS_TO_PASS", "[]");
  StrField(&o, "trajectory_id", i.trajectory_id());
  StrField(&o, "merge_commit", i.merge_commit());
  Key(&o, "pull_number");
  o += std::to_string(i.pull_number());
  Key(&o, "issues");
  o.push_back('[');
  for (int k = 0; k < i.issues_size(); ++k) {
    if (k > 0) o.push_back(',');
    o += std::to_string(i.issues(k));
  }
  o.push_back(']');
  Key(&o, "labels");
  o.push_back('[');
  for (int k = 0; k < i.labels_size(); ++k) {
    if (k > 0) o.push_back(',');
    AppendValidJsonString(i.labels(k), &o);
  }
  o.push_back(']');
  Key(&o, "contamination");
  o.push_back('[');
  for (int k = 0; k < i.contamination_size(); ++k) {
    if (k > 0) o.push_back(',');
    o += ToJsonLine(i.contamination(k)).value_or("{}");
  }
  o += "]}";
  return o;
}

namespace {

// Streams instances, calling `row` with each; returns the exit code.
int StreamInstances(CliContext* ctx, const std::string& what, const std::string& filter,
                    int64_t limit, const std::string& resume,
                    const std::function<void(const Instance&)>& row, int64_t* count) {
  auto stub = Connect(ctx);
  fixmine::v1::StreamInstancesRequest req;
  req.set_filter(filter);
  req.set_limit(limit);
  req.set_resume_token(resume);
  grpc::ClientContext cc;
  Prepare(ctx, &cc, 0);
  auto reader = stub->StreamInstances(&cc, req);
  fixmine::v1::StreamInstancesResponse resp;
  std::string last_token = resume;
  while (reader->Read(&resp)) {
    for (const Instance& i : resp.instances()) {
      row(i);
      ++*count;
    }
    last_token = resp.resume_token();
  }
  absl::Status st = FromGrpc(reader->Finish());
  if ((!st.ok() || (limit > 0 && *count >= limit)) && !last_token.empty()) {
    *ctx->err << "resume_token: " << last_token << "\n";
  }
  if (!st.ok()) return ReportCallFailure(ctx, what, st);
  return kExitOk;
}

using WatchFn = std::function<int(CliContext*, FixmineClient&, const std::string&)>;

int RunImport(CliContext* ctx, const std::vector<std::string>& inputs, const WatchFn& watch) {
  // Folders give their *.json.gz / *.json files, in name order (GH Archive's hour order).
  std::vector<std::string> files;
  for (const std::string& in : inputs) {
    std::error_code ec;
    if (std::filesystem::is_directory(in, ec)) {
      std::vector<std::string> found;
      for (const auto& e : std::filesystem::directory_iterator(in, ec)) {
        std::string name = e.path().filename().string();
        if (e.is_regular_file() && (name.ends_with(".json.gz") || name.ends_with(".json"))) {
          found.push_back(e.path().string());
        }
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(in);
    }
  }
  auto stub = Connect(ctx);
  ImportGithubEventsRequest batch;
  size_t batch_bytes = 0;
  int64_t stored = 0, unmatched = 0;
  std::vector<std::string> link_jobs;
  auto send = [&](bool link) -> absl::Status {
    batch.set_link(link);
    fixmine::v1::ImportGithubEventsResponse resp;
    grpc::ClientContext cc;
    Prepare(ctx, &cc, 600);
    absl::Status st = FromGrpc(stub->ImportGithubEvents(&cc, batch, &resp));
    if (!st.ok()) return st;
    stored += resp.stored();
    unmatched += resp.unmatched();
    link_jobs.assign(resp.link_jobs().begin(), resp.link_jobs().end());
    batch.Clear();
    batch_bytes = 0;
    return absl::OkStatus();
  };
  github::GhArchiveStats stats;
  for (const std::string& f : files) {
    absl::Status st = github::ReadGhArchive(
        f,
        [&](ImportGithubEventsRequest::Item item) -> absl::Status {
          batch_bytes += item.ByteSizeLong();
          *batch.add_items() = std::move(item);
          if (batch.items_size() >= 1000 || batch_bytes >= (size_t{2} << 20)) return send(false);
          return absl::OkStatus();
        },
        &stats);
    if (!st.ok()) return ReportCallFailure(ctx, "github import", st);
  }
  if (absl::Status st = send(true); !st.ok()) return ReportCallFailure(ctx, "github import", st);
  *ctx->out << fmt::format(
      "imported {} files: {} lines, {} events, {} bad lines; {} objects stored, {} of untied "
      "repositories left out; {} link jobs\n",
      files.size(), stats.lines, stats.events, stats.bad_lines, stored, unmatched,
      link_jobs.size());
  ctx->out->flush();
  // The link passes run as jobs on the server; the import ends when they have.
  FixmineClient c(ctx->server, ConnectionOf(*ctx));
  for (const std::string& id : link_jobs) {
    if (int rc = watch(ctx, c, id); rc != kExitOk) return rc;
  }
  return kExitOk;
}

}  // namespace

void RegisterGithubCommands(
    CLI::App* app, CliContext* ctx,
    const std::function<int(CliContext*, FixmineClient&, const std::string&)>& watch) {
  CLI::App* gh =
      app->add_subcommand("github", "GitHub issues, pull requests and comments (docs/github.md)");
  gh->require_subcommand(1);
  {
    auto name = std::make_shared<std::string>();
    auto wait = std::make_shared<bool>(false);
    CLI::App* sync = gh->add_subcommand(
        "sync",
        "Start a sync job of a repository's issues, pull requests and comments from the "
        "GitHub API (fixmined --github-api-url), then link them to records");
    sync->add_option("name", *name, "registered repository name (tied with --github)")->required();
    sync->add_flag("--wait", *wait, "wait for the job to end, with progress (and waits) on stderr");
    sync->callback([=] {
      auto stub = Connect(ctx);
      fixmine::v1::SyncGithubRequest req;
      req.set_repo(*name);
      fixmine::v1::SyncGithubResponse resp;
      grpc::ClientContext cc;
      Prepare(ctx, &cc, 30);
      absl::Status st = FromGrpc(stub->SyncGithub(&cc, req, &resp));
      if (!st.ok()) {
        ctx->exit_code = ReportCallFailure(ctx, "github sync", st);
        return;
      }
      if (!*wait) {
        *ctx->out << ToJsonLine(resp.job()).value_or("{}") << "\n";
        return;
      }
      *ctx->err << "fixmine: job " << resp.job().id() << " started\n";
      FixmineClient c(ctx->server, ConnectionOf(*ctx));
      ctx->exit_code = watch(ctx, c, resp.job().id());
    });
  }
  {
    auto files = std::make_shared<std::vector<std::string>>();
    CLI::App* imp = gh->add_subcommand(
        "import",
        "Import GH Archive hourly dumps (YYYY-MM-DD-H.json.gz files or folders of "
        "them): issues, pull requests and comments of tied repositories; then waits for "
        "the link jobs");
    imp->add_option("files", *files, "dump files or folders")->required();
    imp->callback([=] { ctx->exit_code = RunImport(ctx, *files, watch); });
  }
  {
    auto name = std::make_shared<std::string>();
    auto limit = std::make_shared<int64_t>(0);
    auto filter = std::make_shared<std::string>();
    auto resume = std::make_shared<std::string>();
    CLI::App* issues =
        gh->add_subcommand("issues", "Print a repository's stored issues as JSON Lines");
    issues->add_option("name", *name, "registered repository name")->required();
    issues->add_option("--filter", *filter, "issue filter (docs/filters.md, \"Issue filters\")");
    issues->add_option("--limit", *limit, "stop after this many")->check(CLI::NonNegativeNumber);
    issues->add_option("--resume-token", *resume, "continue after a previous listing's issues");
    issues->callback([=] {
      auto stub = Connect(ctx);
      fixmine::v1::StreamIssuesRequest req;
      req.set_repo(*name);
      req.set_limit(*limit);
      req.set_filter(*filter);
      req.set_resume_token(*resume);
      grpc::ClientContext cc;
      Prepare(ctx, &cc, 0);
      auto reader = stub->StreamIssues(&cc, req);
      fixmine::v1::StreamIssuesResponse resp;
      std::string last_token = *resume;
      int64_t count = 0;
      while (reader->Read(&resp)) {
        for (const auto& i : resp.issues()) *ctx->out << ToJsonLine(i).value_or("{}") << "\n";
        count += resp.issues_size();
        last_token = resp.resume_token();
      }
      absl::Status st = FromGrpc(reader->Finish());
      if ((!st.ok() || (*limit > 0 && count >= *limit)) && !last_token.empty()) {
        *ctx->err << "resume_token: " << last_token << "\n";
      }
      if (!st.ok()) ctx->exit_code = ReportCallFailure(ctx, "github issues", st);
    });
  }

  CLI::App* inst =
      app->add_subcommand("instances",
                          "SWE-style task instances: merged pull requests that resolve issues "
                          "(docs/github.md)");
  inst->require_subcommand(1);
  {
    struct Args {
      std::string filter;
      int64_t limit = 0;
      std::string resume_token;
    };
    auto a = std::make_shared<Args>();
    CLI::App* stream =
        inst->add_subcommand("stream", "Stream instances as JSON Lines (swe fields)");
    stream->add_option("--filter", a->filter,
                       "instance filter (docs/filters.md, \"Instance filters\")");
    stream->add_option("--limit", a->limit, "stop after this many instances")
        ->check(CLI::NonNegativeNumber);
    stream->add_option("--resume-token", a->resume_token,
                       "continue after the instances a previous stream printed");
    stream->callback([=] {
      int64_t count = 0;
      ctx->exit_code = StreamInstances(
          ctx, "instances stream", a->filter, a->limit, a->resume_token,
          [&](const Instance& i) { *ctx->out << RenderSweInstance(i) << "\n"; }, &count);
      if (ctx->exit_code == kExitOk)
        *ctx->err << fmt::format("instances stream: {} instances\n", count);
    });
  }
  {
    struct Args {
      std::string format = "swe";
      std::string out;
      std::string filter;
    };
    auto a = std::make_shared<Args>();
    CLI::App* exp =
        inst->add_subcommand("export", "Write instances to DIR/instances.jsonl (SWE-bench rows)");
    exp->add_option("--format", a->format, "swe (the only format)")
        ->check(CLI::IsMember({"swe"}))
        ->capture_default_str();
    exp->add_option("--out", a->out, "folder to write (created when missing)")->required();
    exp->add_option("--filter", a->filter, "instance filter");
    exp->callback([=] {
      std::error_code ec;
      std::filesystem::create_directories(a->out, ec);
      if (ec) {
        *ctx->err << "fixmine instances export: creating \"" << a->out << "\": " << ec.message()
                  << "\n";
        ctx->exit_code = kExitFailed;
        return;
      }
      std::filesystem::path final_path = std::filesystem::path(a->out) / "instances.jsonl";
      std::filesystem::path tmp = final_path;
      tmp += ".tmp";
      std::ofstream f(tmp, std::ios::trunc | std::ios::binary);
      int64_t count = 0;
      ctx->exit_code = StreamInstances(
          ctx, "instances export", a->filter, 0, "",
          [&](const Instance& i) { f << RenderSweInstance(i) << "\n"; }, &count);
      f.close();
      if (ctx->exit_code != kExitOk || !f) {
        std::filesystem::remove(tmp, ec);
        if (ctx->exit_code == kExitOk) ctx->exit_code = kExitFailed;
        return;
      }
      std::filesystem::rename(tmp, final_path, ec);
      *ctx->out << fmt::format("wrote {} instances to {}\n", count, final_path.string());
    });
  }
}

}  // namespace fixmine::client
