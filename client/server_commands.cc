// The `fixmine` commands that talk to a fixmined server.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "client/cli.h"
#include "client/fixmine_client.h"
#include "client/progress.h"
#include "client/repo_stats.h"
#include "common/formats.h"
#include "common/json.h"
#include "common/record_json.h"
#include "common/sampling.h"
#include "common/time.h"
#include "fixmine/v1/github.grpc.pb.h"
#include "fmt/format.h"
#include "github/model.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "pipeline/benchmarks.h"

namespace fixmine::client {
namespace {

using fixmine::v1::Job;
using fixmine::v1::Repository;

int Fail(CliContext* ctx, std::string_view what, const absl::Status& st) {
  return ReportCallFailure(ctx, what, st);
}

std::string Time(int64_t t) { return t == 0 ? "-" : FormatRfc3339(t); }

std::string StateName(fixmine::v1::JobState s) { return fixmine::v1::JobState_Name(s); }

// Prints messages as --output asks: JSON array, JSON Lines, or a table through `row`.
template <typename T>
void PrintList(CliContext* ctx, const std::vector<T>& items, const std::string& header,
               const std::function<std::string(const T&)>& row) {
  std::ostream& out = *ctx->out;
  if (ctx->output == "jsonl") {
    for (const auto& it : items) out << ToJsonLine(it).value_or("{}") << "\n";
  } else if (ctx->output == "json") {
    out << "[";
    for (size_t i = 0; i < items.size(); ++i) {
      out << (i ? ",\n" : "\n") << ToPrettyJson(items[i]).value_or("{}");
    }
    out << (items.empty() ? "]\n" : "\n]\n");
  } else {
    out << header << "\n";
    for (const auto& it : items) out << row(it) << "\n";
  }
}

template <typename T>
void PrintOne(CliContext* ctx, const T& item, const std::function<std::string(const T&)>& table) {
  if (ctx->output == "jsonl") {
    *ctx->out << ToJsonLine(item).value_or("{}") << "\n";
  } else if (ctx->output == "json") {
    *ctx->out << ToPrettyJson(item).value_or("{}") << "\n";
  } else {
    *ctx->out << table(item);
  }
}

std::string RepoRow(const Repository& r) {
  return fmt::format("{:<24} {:>9} {:<7} {}", r.name(), r.record_count(),
                     r.remote() ? "remote" : "local", r.source());
}
const char* kRepoHeader = "NAME                       RECORDS KIND    SOURCE";

// Ties registered repository `name` to GitHub repository `github` (SetGithubRepository).
absl::StatusOr<Repository> TieGithub(CliContext* ctx, FixmineClient& c, const std::string& name,
                                     const std::string& github) {
  auto stub = fixmine::v1::GithubService::NewStub(c.channel());
  fixmine::v1::SetGithubRepositoryRequest req;
  req.set_repo(name);
  req.set_github(github);
  fixmine::v1::SetGithubRepositoryResponse resp;
  grpc::ClientContext cc;
  cc.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!ctx->token.empty()) cc.AddMetadata("authorization", "Bearer " + ctx->token);
  absl::Status st = FromGrpc(stub->SetGithubRepository(&cc, req, &resp));
  if (!st.ok()) return st;
  return resp.repository();
}

std::string RepoTable(const Repository& r) {
  std::string s = fmt::format(
      "name:        {}\nsource:      {}\nlocal_path:  {}\nkind:        {}\nrecords:     {}\n"
      "license:     {}\ncreated_at:  {}\nlast_job_id: {}\n",
      r.name(), r.source(), r.local_path(), r.remote() ? "remote" : "local", r.record_count(),
      r.license().empty() ? "-" : r.license(), Time(r.created_at()),
      r.last_job_id().empty() ? "-" : r.last_job_id());
  // Bounded: a mirror mined with --refs all can have thousands of tips (--output json lists
  // them all).
  if (!r.github().empty()) s += fmt::format("github:      {}\n", r.github());
  constexpr int kWatermarksShown = 3;
  if (r.watermarks_size() > 0) {
    s += fmt::format("watermarks:  {} tip{}", r.watermarks_size(),
                     r.watermarks_size() == 1 ? "" : "s");
    for (int i = 0; i < std::min(r.watermarks_size(), kWatermarksShown); ++i) {
      s += (i == 0 ? ": " : ", ") + r.watermarks(i).substr(0, 12);
    }
    if (r.watermarks_size() > kWatermarksShown) s += ", ... (--output json lists all)";
    s += "\n";
  }
  return s;
}

std::string JobRow(const Job& j) {
  return fmt::format("{:<22} {:<20} {:<10} {:>9} {:>9} {:>7}  {}", j.id(),
                     j.kind().empty() ? j.repo() : "(" + j.kind() + ")", StateName(j.state()),
                     j.commits_walked(), j.records_written(), j.commits_skipped(),
                     Time(j.created_at()));
}
const char* kJobHeader =
    "ID                     REPO                 STATE         WALKED   RECORDS SKIPPED  CREATED";

std::string JobTable(const Job& j) {
  std::string s = fmt::format(
      "id:                {}\nrepo:              {}\nstate:             {}\ncommits_walked:    {}\n"
      "records_written:   {}\nalready_present:   {}\nmerges_skipped:    {}\n"
      "commits_skipped:   {}\nunavailable_files: {}\ncreated_at:        {}\n"
      "started_at:        {}\nfinished_at:       {}\nattempts:          {}\n",
      j.id(), j.repo(), StateName(j.state()), j.commits_walked(), j.records_written(),
      j.already_present(), j.merges_skipped(), j.commits_skipped(), j.unavailable_files(),
      Time(j.created_at()), Time(j.started_at()), Time(j.finished_at()), j.attempts());
  if (!j.refs().empty()) s += fmt::format("refs:              {}\n", j.refs());
  if (!j.phase().empty()) {
    s += fmt::format("phase:             {} {}/{}\n", j.phase(), j.phase_done(), j.phase_total());
  }
  for (const auto& r : j.revs()) s += fmt::format("rev:               {}\n", r);
  if (!j.kind().empty()) s += fmt::format("kind:              {}\n", j.kind());
  if (j.kind() == "github_sync") {
    s += fmt::format(
        "github_requests:   {}\ngithub_not_mod:    {}\ngithub_objects:    {}\n"
        "github_waits:      {}\n",
        j.github_requests(), j.github_not_modified(), j.github_objects(), j.github_waits());
    if (!j.waiting().empty()) s += fmt::format("waiting:           {}\n", j.waiting());
  }
  if (!j.error().empty()) s += fmt::format("error:             {}\n", j.error());
  // How the job's mining worker process ended, and its sandbox (docs/security.md).
  if (!j.worker_end().empty()) s += fmt::format("worker_end:        {}\n", j.worker_end());
  if (!j.worker_sandbox().empty()) {
    s += fmt::format("worker_sandbox:    {}\n", j.worker_sandbox());
  }
  for (const auto& e : j.skipped_errors()) s += fmt::format("skipped:           {}\n", e);
  return s;
}

// Watches a job with progress on stderr (a bar on a terminal, one line per update, at most
// every 2 s, elsewhere: client/progress.h); returns the exit code: 0 when it ends as
// `expected`, else 1.
int WatchToEnd(CliContext* ctx, FixmineClient& c, const std::string& id, bool print_events,
               fixmine::v1::JobState expected = fixmine::v1::SUCCEEDED) {
  Job last;
  ProgressPrinter progress(ctx->err, ctx->err == &std::cerr && StderrIsTerminal());
  std::string last_line;
  auto st = c.WatchJob(id, [&](const Job& j) {
    last = j;
    if (print_events) {
      *ctx->out << ToJsonLine(j).value_or("{}") << "\n";
      ctx->out->flush();
    }
    if (j.kind() == "github_sync") {
      // One line per change, so that waits stay readable in logs.
      std::string line = fmt::format("{} {:<10} requests {:>6}  not modified {:>6}  objects {:>6}",
                                     j.id(), StateName(j.state()), j.github_requests(),
                                     j.github_not_modified(), j.github_objects());
      if (!j.waiting().empty()) line += "  " + j.waiting();
      if (line != last_line) *ctx->err << line << "\n" << std::flush;
      last_line = line;
      return;
    }
    progress.Update(j);
  });
  progress.Finish();
  if (!st.ok()) return Fail(ctx, "job watch", st);
  if (last.state() != expected) {
    *ctx->err << "fixmine: job " << id << " ended " << StateName(last.state())
              << (last.error().empty() ? "" : ": " + last.error()) << "\n";
    return kExitFailed;
  }
  return kExitOk;
}

// SIGINT/SIGTERM during `records stream` stop it cleanly with a resume token.
std::atomic<bool> g_interrupted{false};
extern "C" void OnInterrupt(int) { g_interrupted = true; }

struct StreamArgs {
  std::string filter;
  std::string preset;  // curation preset (docs/curation.md); empty for none
  bool include_contaminated = false;
  std::string resume_token;
  int64_t limit = 0;
  std::string format = "raw";
  double sample = 0;
  bool sample_given = false;
  uint64_t seed = 0;
};

int RunStream(CliContext* ctx, const StreamArgs& a) {
  if (auto f = ParseRecordFormat(a.format); !f.ok()) {
    *ctx->err << "fixmine records stream: " << f.status().message() << "\n";
    return kExitUsage;
  }
  if (a.sample_given) {
    if (absl::Status st = ValidateSampleRate(a.sample); !st.ok()) {
      *ctx->err << "fixmine records stream: --sample: " << st.message() << "\n";
      return kExitUsage;
    }
  }
  FixmineClient c(ctx->server, ConnectionOf(*ctx));
  fixmine::v1::StreamRecordsRequest req;
  req.set_filter(a.filter);
  req.set_preset(a.preset);
  req.set_include_contaminated(a.include_contaminated);
  req.set_resume_token(a.resume_token);
  req.set_limit(a.limit);
  req.set_format(a.format);
  if (a.sample_given) req.set_sample_rate(a.sample);
  req.set_sample_seed(a.seed);
  std::string last_token = a.resume_token;
  int64_t count = 0;
  g_interrupted = false;
  auto old_int = std::signal(SIGINT, OnInterrupt);
  auto old_term = std::signal(SIGTERM, OnInterrupt);
  std::mutex mu;
  grpc::ClientContext* live = nullptr;
  std::atomic<bool> stop_watch{false};
  std::thread watcher([&] {
    while (!stop_watch) {
      if (g_interrupted) {
        std::lock_guard<std::mutex> l(mu);
        if (live) live->TryCancel();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  std::string buf;
  absl::Status st = c.StreamRecords(
      req,
      [&](const fixmine::v1::StreamRecordsResponse& resp) {
        buf.clear();
        for (const auto& r : resp.records()) AppendRecordJsonLine(r, &buf);
        for (const auto& row : resp.rendered()) {  // --format other than raw
          buf += row;
          buf.push_back('\n');
        }
        ctx->out->write(buf.data(), static_cast<std::streamsize>(buf.size()));
        ctx->out->flush();
        count += resp.record_count() > 0 ? resp.record_count() : resp.records_size();
        last_token = resp.resume_token();
        return !g_interrupted.load();
      },
      [&](grpc::ClientContext* cc) {
        std::lock_guard<std::mutex> l(mu);
        live = cc;
      });
  stop_watch = true;
  watcher.join();
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
  bool interrupted =
      g_interrupted.load() || (!st.ok() && st.code() == absl::StatusCode::kCancelled);
  bool limited = a.limit > 0 && count >= a.limit;
  if ((interrupted || limited || !st.ok()) && !last_token.empty()) {
    *ctx->err << "resume_token: " << last_token << "\n";
  }
  if (!st.ok() && !interrupted) return Fail(ctx, "records stream", st);
  *ctx->err << fmt::format("records stream: {} records{}\n", count,
                           interrupted ? " (interrupted)" : "");
  return interrupted ? kExitFailed : kExitOk;
}

}  // namespace

void RegisterServerCommands(CLI::App* app, CliContext* ctx) {
  RegisterGithubCommands(app, ctx, [](CliContext* c, FixmineClient& client, const std::string& id) {
    int rc = WatchToEnd(c, client, id, false);
    if (rc == kExitOk || rc == kExitFailed) {
      auto final_job = client.GetJob(id);
      if (final_job.ok()) PrintOne<Job>(c, *final_job, JobTable);
    }
    return rc;
  });
  // --- repo ---
  CLI::App* repo = app->add_subcommand("repo", "Register and inspect repositories");
  repo->require_subcommand(1);
  {
    auto source = std::make_shared<std::string>();
    auto name = std::make_shared<std::string>();
    CLI::App* add = repo->add_subcommand("add", "Register a local path or a remote URL");
    add->add_option("source", *source, "local repository path (under an allowed root) or URL")
        ->required();
    add->add_option("--name", *name,
                    "name to register it under (default: folder name; for a URL its host and "
                    "path, as extract --repo-list names it)");
    auto github = std::make_shared<std::string>();
    add->add_option("--github", *github,
                    "tie it to its GitHub repository OWNER/REPO (docs/github.md); a "
                    "https://github.com/OWNER/REPO source ties itself");
    add->callback([=] {
      // Checked before the repository is registered, so a bad value registers nothing.
      if (!github->empty() && !github::ParseGithubRepo(*github)) {
        *ctx->err << "fixmine repo add: --github \"" << *github
                  << "\" is not OWNER/REPO or https://github.com/OWNER/REPO\n";
        ctx->exit_code = kExitUsage;
        return;
      }
      FixmineClient c(ctx->server, ConnectionOf(*ctx));
      auto r = c.AddRepository(*source, *name);
      if (!r.ok()) {
        ctx->exit_code = Fail(ctx, "repo add", r.status());
        return;
      }
      if (!github->empty()) {
        auto tied = TieGithub(ctx, c, r->name(), *github);
        if (!tied.ok()) {
          ctx->exit_code = Fail(ctx, "repo add --github", tied.status());
          return;
        }
        *r = std::move(*tied);
      }
      PrintOne<Repository>(ctx, *r, RepoTable);
    });
  }
  repo->add_subcommand("list", "List repositories")->callback([=] {
    FixmineClient c(ctx->server, ConnectionOf(*ctx));
    auto r = c.ListRepositories();
    if (!r.ok()) {
      ctx->exit_code = Fail(ctx, "repo list", r.status());
      return;
    }
    PrintList<Repository>(ctx, *r, kRepoHeader, RepoRow);
  });
  {
    auto name = std::make_shared<std::string>();
    CLI::App* show = repo->add_subcommand("show", "Show one repository");
    show->add_option("name", *name, "repository name")->required();
    show->callback([=] {
      FixmineClient c(ctx->server, ConnectionOf(*ctx));
      auto r = c.GetRepository(*name);
      if (!r.ok()) {
        ctx->exit_code = Fail(ctx, "repo show", r.status());
        return;
      }
      PrintOne<Repository>(ctx, *r, RepoTable);
    });
  }
  {
    auto name = std::make_shared<std::string>();
    CLI::App* rm = repo->add_subcommand("rm", "Remove a repository and its records");
    rm->add_option("name", *name, "repository name")->required();
    rm->callback([=] {
      FixmineClient c(ctx->server, ConnectionOf(*ctx));
      auto n = c.RemoveRepository(*name);
      if (!n.ok()) {
        ctx->exit_code = Fail(ctx, "repo rm", n.status());
        return;
      }
      *ctx->out << fmt::format("removed {} ({} records)\n", *name, *n);
    });
  }

  {
    // Client-side over the record stream (docs/operations.md, "Repository statistics").
    struct StatsArgs {
      std::string name;
      std::string filter;
      int top = 20;
    };
    auto a = std::make_shared<StatsArgs>();
    CLI::App* stats = repo->add_subcommand(
        "stats", "Churn, contributors and file ownership of a repository, from its records");
    stats->add_option("name", a->name, "repository name")->required();
    stats->add_option("--filter", a->filter,
                      "only records matching this filter too (docs/filters.md), e.g. "
                      "\"NOT is_bot\"");
    stats
        ->add_option("--top", a->top,
                     "contributors and files to list, most commits / churn first (0: all)")
        ->check(CLI::NonNegativeNumber);
    stats->callback([=] {
      FixmineClient c(ctx->server, ConnectionOf(*ctx));
      // NOT_FOUND for an unknown name, rather than empty statistics.
      if (auto r = c.GetRepository(a->name); !r.ok()) {
        ctx->exit_code = Fail(ctx, "repo stats", r.status());
        return;
      }
      fixmine::v1::StreamRecordsRequest req;
      std::string filter = fmt::format("repo = \"{}\"", a->name);
      if (!a->filter.empty()) filter += fmt::format(" AND ({})", a->filter);
      req.set_filter(filter);
      req.set_include_contaminated(true);
      RepoStatsBuilder builder(a->name);
      absl::Status st = c.StreamRecords(req, [&](const fixmine::v1::StreamRecordsResponse& resp) {
        for (const auto& r : resp.records()) builder.Add(r);
        return true;
      });
      if (!st.ok()) {
        ctx->exit_code = Fail(ctx, "repo stats", st);
        return;
      }
      RepoStats s = builder.Finish();
      PrintOne<google::protobuf::Struct>(
          ctx, RepoStatsToStruct(s, a->top),
          [&](const google::protobuf::Struct&) { return RepoStatsTable(s, a->top); });
    });
  }

  // --- mine ---
  {
    struct MineArgs {
      std::string name;
      bool wait = false;
      std::vector<std::string> revs;
      int64_t max_commits = 0;
      bool fetch = false;
      std::string refs;
      bool all_refs = false;
    };
    auto a = std::make_shared<MineArgs>();
    CLI::App* mine = app->add_subcommand("mine", "Start a mining job for a repository");
    mine->add_option("name", a->name, "repository name")->required();
    mine->add_flag("--wait", a->wait, "wait for the job to end, with progress on stderr");
    mine->add_option("--rev", a->revs,
                     "revision to walk (repeatable): a branch, tag, hex id, range (v1..v2), or a "
                     "ref glob such as 'refs/pull/*/head' (the only way to walk hidden refs)");
    auto* refs_opt =
        mine->add_option("--refs", a->refs,
                         "without --rev, which refs to walk: default (the default branch, HEAD; "
                         "the default), branches (every branch), all (every branch and tag); "
                         "never refs/pull/* or other hidden refs")
            ->check(CLI::IsMember({"default", "branches", "all"}));
    auto* all_refs_opt =
        mine->add_flag("--all-refs", a->all_refs, "walk every branch and tag (--refs all)");
    refs_opt->excludes(all_refs_opt);
    mine->add_option("--max-commits", a->max_commits, "stop after this many new records")
        ->check(CLI::NonNegativeNumber);
    mine->add_flag("--fetch", a->fetch, "fetch a remote repository's mirror first");
    mine->callback([=] {
      FixmineClient c(ctx->server, ConnectionOf(*ctx));
      fixmine::v1::StartMiningRequest req;
      req.set_repo(a->name);
      for (const auto& r : a->revs) req.add_revs(r);
      req.set_refs(a->all_refs ? "all" : a->refs);
      req.set_max_commits(a->max_commits);
      req.set_fetch(a->fetch);
      auto job = c.StartMining(req);
      if (!job.ok()) {
        ctx->exit_code = Fail(ctx, "mine", job.status());
        return;
      }
      if (!a->wait) {
        PrintOne<Job>(ctx, *job, JobTable);
        return;
      }
      *ctx->err << "fixmine: job " << job->id() << " started\n";
      ctx->exit_code = WatchToEnd(ctx, c, job->id(), false);
      if (ctx->exit_code == kExitOk || ctx->exit_code == kExitFailed) {
        auto final_job = c.GetJob(job->id());
        if (final_job.ok()) PrintOne<Job>(ctx, *final_job, JobTable);
      }
    });
  }

  // --- job ---
  CLI::App* job = app->add_subcommand("job", "Inspect and control mining jobs");
  job->require_subcommand(1);
  {
    auto repo_name = std::make_shared<std::string>();
    CLI::App* list = job->add_subcommand("list", "List jobs, newest first");
    list->add_option("--repo", *repo_name, "only this repository's jobs");
    list->callback([=] {
      FixmineClient c(ctx->server, ConnectionOf(*ctx));
      auto r = c.ListJobs(*repo_name);
      if (!r.ok()) {
        ctx->exit_code = Fail(ctx, "job list", r.status());
        return;
      }
      PrintList<Job>(ctx, *r, kJobHeader, JobRow);
    });
  }
  for (const char* verb : {"show", "watch", "cancel"}) {
    auto id = std::make_shared<std::string>();
    auto wait = std::make_shared<bool>(false);
    std::string v = verb;
    std::string help = v == "show"    ? "Show one job"
                       : v == "watch" ? "Follow a job's progress until it ends (JSON Lines)"
                                      : "Cancel a job (records written so far stay); it shows "
                                        "CANCELLING until its worker has stopped, then "
                                        "CANCELLED";
    CLI::App* cmd = job->add_subcommand(v, help);
    cmd->add_option("id", *id, "job id")->required();
    if (v == "cancel") {
      cmd->add_flag("--wait", *wait,
                    "wait until the job is CANCELLED (the reply may say CANCELLING while its "
                    "worker stops); exit 1 when it ended otherwise");
    }
    cmd->callback([=] {
      FixmineClient c(ctx->server, ConnectionOf(*ctx));
      if (v == "watch") {
        ctx->exit_code = WatchToEnd(ctx, c, *id, true);
        return;
      }
      auto r = v == "show" ? c.GetJob(*id) : c.CancelJob(*id);
      if (!r.ok()) {
        ctx->exit_code = Fail(ctx, "job " + v, r.status());
        return;
      }
      if (v == "cancel" && *wait && r->state() == fixmine::v1::CANCELLING) {
        ctx->exit_code = WatchToEnd(ctx, c, *id, false, fixmine::v1::CANCELLED);
        auto final_job = c.GetJob(*id);
        if (final_job.ok()) r = std::move(final_job);
      } else if (v == "cancel" && *wait && r->state() != fixmine::v1::CANCELLED) {
        *ctx->err << "fixmine: job " << *id << " had already ended " << StateName(r->state())
                  << "\n";
        ctx->exit_code = kExitFailed;
      }
      PrintOne<Job>(ctx, *r, JobTable);
    });
  }

  // --- records ---
  CLI::App* records = app->add_subcommand("records", "Read stored records");
  records->require_subcommand(1);
  // `records count` is registered with the other data commands (RegisterDataCommands).
  {
    auto a = std::make_shared<StreamArgs>();
    CLI::App* stream = records->add_subcommand(
        "stream", "Stream matching records as JSON Lines (resume with --resume-token)");
    stream->add_option("--filter", a->filter, "filter expression (docs/filters.md)");
    stream->add_option("--preset", a->preset,
                       "curation preset ANDed with the filter: default, commitpackft "
                       "(docs/curation.md)");
    stream->add_flag("--include-contaminated", a->include_contaminated,
                     "also stream records labelled contaminated by a benchmark "
                     "(docs/curation.md)");
    stream->add_option("--resume-token", a->resume_token,
                       "continue after the records a previous stream printed");
    stream->add_option("--limit", a->limit, "stop after this many records")
        ->check(CLI::NonNegativeNumber);
    stream
        ->add_option("--format", a->format,
                     "template: raw, commitpack, chat, sharegpt, swe, datatrove (docs/formats.md)")
        ->capture_default_str();
    stream->add_option_function<double>(
        "--sample",
        [a](double rate) {
          a->sample = rate;
          a->sample_given = true;
        },
        "keep a deterministic sample of this share of the records, 0 < RATE <= 1");
    stream->add_option("--seed", a->seed, "seed of --sample (default 0)");
    stream->callback([=] { ctx->exit_code = RunStream(ctx, *a); });
  }
  RegisterDataCommands(records, ctx);
  {
    auto id = std::make_shared<std::string>();
    CLI::App* get = records->add_subcommand("get", "Print one record as JSON");
    get->add_option("id", *id, "record id")->required();
    get->callback([=] {
      FixmineClient c(ctx->server, ConnectionOf(*ctx));
      auto r = c.GetRecord(*id);
      if (!r.ok()) {
        ctx->exit_code = Fail(ctx, "records get", r.status());
        return;
      }
      if (ctx->output == "json") {
        *ctx->out << ToPrettyJson(*r).value_or("{}") << "\n";
      } else {
        *ctx->out << ToJsonLine(*r).value_or("{}") << "\n";
      }
    });
  }

  // --- bench (decontamination, docs/curation.md) ---
  CLI::App* bench =
      app->add_subcommand("bench", "Benchmarks whose text marks records contaminated");
  bench->require_subcommand(1);
  {
    struct BenchAddArgs {
      std::string name;
      std::vector<std::string> files;
      std::string field = "canonical_solution";
      int ngram = 13;
    };
    auto a = std::make_shared<BenchAddArgs>();
    CLI::App* add = bench->add_subcommand(
        "add",
        "Add (or replace) a benchmark: each plain file is one item; each line of a "
        ".jsonl file is one item (its --field)");
    add->add_option("name", a->name, "benchmark name")->required();
    add->add_option("files", a->files, "item files (plain text or .jsonl)")->required();
    add->add_option("--field", a->field, "field holding the text in .jsonl lines")
        ->capture_default_str();
    add->add_option("--ngram", a->ngram, "n-gram size in tokens, 5 to 50")->capture_default_str();
    add->callback([=] {
      fixmine::v1::AddBenchmarkRequest req;
      req.set_name(a->name);
      req.set_ngram(a->ngram);
      // The same reading as `fixmine extract --bench` (pipeline/benchmarks.h).
      auto items = pipeline::ReadBenchmarkItems(a->files, a->field);
      if (!items.ok()) {
        *ctx->err << "fixmine bench add: " << items.status().message() << "\n";
        ctx->exit_code = kExitUsage;
        return;
      }
      for (auto& item : *items) *req.add_items() = std::move(item);
      FixmineClient c(ctx->server, ConnectionOf(*ctx));
      auto n = c.AddBenchmark(req);
      if (!n.ok()) {
        ctx->exit_code = Fail(ctx, "bench add", n.status());
        return;
      }
      *ctx->out << fmt::format(
          "added {} ({} items); stored records are re-checked in the "
          "background\n",
          a->name, *n);
    });
  }
  bench->add_subcommand("list", "List benchmarks")->callback([=] {
    FixmineClient c(ctx->server, ConnectionOf(*ctx));
    auto r = c.ListBenchmarks();
    if (!r.ok()) {
      ctx->exit_code = Fail(ctx, "bench list", r.status());
      return;
    }
    if (ctx->output == "json" || ctx->output == "jsonl") {
      *ctx->out << (ctx->output == "json" ? ToPrettyJson(*r) : ToJsonLine(*r)).value_or("{}")
                << "\n";
      return;
    }
    *ctx->out << fmt::format("{:<24} {:>6} {:>8}\n", "NAME", "NGRAM", "ITEMS");
    for (const auto& b : r->benchmarks()) {
      *ctx->out << fmt::format("{:<24} {:>6} {:>8}\n", b.name(), b.ngram(), b.item_count());
    }
  });
  {
    auto name = std::make_shared<std::string>();
    CLI::App* rm = bench->add_subcommand("rm",
                                         "Remove a benchmark (its labels are cleared in "
                                         "the background)");
    rm->add_option("name", *name, "benchmark name")->required();
    rm->callback([=] {
      FixmineClient c(ctx->server, ConnectionOf(*ctx));
      absl::Status st = c.RemoveBenchmark(*name);
      if (!st.ok()) {
        ctx->exit_code = Fail(ctx, "bench rm", st);
        return;
      }
      *ctx->out << fmt::format("removed {}\n", *name);
    });
  }

  // --- stats, health ---
  app->add_subcommand("stats", "Store-wide and per-repository counts")->callback([=] {
    FixmineClient c(ctx->server, ConnectionOf(*ctx));
    auto s = c.GetStats();
    if (!s.ok()) {
      ctx->exit_code = Fail(ctx, "stats", s.status());
      return;
    }
    PrintOne<fixmine::v1::GetStatsResponse>(ctx, *s, [](const auto& s) {
      std::string t = fmt::format(
          "repositories: {}\nrecords:      {}\njobs:         {} ({} active)\nstore_bytes:  {}\n",
          s.repositories(), s.records(), s.jobs(), s.active_jobs(), s.store_bytes());
      // Curation counts (docs/curation.md): a sorted key list, then one column per repository.
      auto curation = [](const auto& m, const std::string& indent) {
        std::vector<std::string> keys;
        for (const auto& [k, v] : m) keys.push_back(k);
        std::sort(keys.begin(), keys.end());
        std::string out;
        for (const auto& k : keys) out += fmt::format("{}{:<44} {:>9}\n", indent, k, m.at(k));
        return out;
      };
      for (const auto& r : s.per_repository()) {
        t += fmt::format("  {:<24} {:>9} records{}\n", r.repo(), r.records(),
                         r.license().empty() ? "" : "  license " + r.license());
        t += curation(r.curation(), "    ");
      }
      if (!s.curation().empty())
        t += "curation (all repositories):\n" + curation(s.curation(), "  ");
      return t;
    });
  });
  app->add_subcommand("health",
                      "Check that the server is serving (exit 0), serving reads only because "
                      "its store refuses writes after a disk error (exit 1), or not (exit 3)")
      ->callback([=] {
        FixmineClient c(ctx->server, ConnectionOf(*ctx));
        c.set_deadline_seconds(5);
        absl::Status st = c.Health();
        if (!st.ok()) {
          *ctx->err << "fixmine health: " << ctx->server << ": " << st.message() << "\n";
          ctx->exit_code = kExitUnreachable;
          return;
        }
        // Serving, but the store may be fenced after a disk error (docs/reliability.md):
        // reads go on, writes are refused until an operator acts.
        absl::Status writes = c.StoreWritesHealth();
        if (writes.code() == absl::StatusCode::kFailedPrecondition) {
          *ctx->out << "SERVING (read-only)\n";
          *ctx->err << "fixmine health: " << ctx->server << ": " << writes.message() << "\n";
          ctx->exit_code = 1;
          return;
        }
        if (!writes.ok()) {
          *ctx->err << "fixmine health: " << ctx->server << ": " << writes.message() << "\n";
          ctx->exit_code = kExitUnreachable;
          return;
        }
        *ctx->out << "SERVING\n";
      });
}

}  // namespace fixmine::client
