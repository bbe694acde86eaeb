// The `fixmine` commands that talk to a fixmined server.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "CLI/CLI.hpp"
#include "client/cli.h"
#include "client/command.h"
#include "client/fixmine_client.h"
#include "client/options.h"
#include "client/printer.h"
#include "client/progress.h"
#include "client/repo_stats.h"
#include "common/record_json.h"
#include "common/time.h"
#include "fmt/format.h"
#include "github/model.h"
#include "google/protobuf/struct.pb.h"
#include "pipeline/benchmarks.h"

namespace fixmine::client {
namespace {

using fixmine::v1::Job;
using fixmine::v1::Repository;

std::string Time(int64_t t) { return t == 0 ? "-" : FormatRfc3339(t); }

std::string StateName(fixmine::v1::JobState s) { return fixmine::v1::JobState_Name(s); }

std::string RepoRow(const Repository& r) {
  return fmt::format("{:<24} {:>9} {:<7} {}", r.name(), r.record_count(),
                     r.remote() ? "remote" : "local", r.source());
}
const char* kRepoHeader = "NAME                       RECORDS KIND    SOURCE";

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
int WatchToEnd(CliContext& ctx, FixmineClient& c, const std::string& id, bool print_events,
               fixmine::v1::JobState expected = fixmine::v1::SUCCEEDED) {
  Job last;
  ProgressPrinter progress(ctx.err, ctx.err == &std::cerr && StderrIsTerminal());
  std::string last_line;
  std::string event;
  auto st = c.WatchJob(id, [&](const Job& j) {
    last = j;
    if (print_events) {
      event.clear();
      if (ctx.print->AppendJsonLine(j, &event)) *ctx.out << event << std::flush;
    }
    if (j.kind() == "github_sync") {
      // One line per change, so that waits stay readable in logs.
      std::string line = fmt::format("{} {:<10} requests {:>6}  not modified {:>6}  objects {:>6}",
                                     j.id(), StateName(j.state()), j.github_requests(),
                                     j.github_not_modified(), j.github_objects());
      if (!j.waiting().empty()) line += "  " + j.waiting();
      if (line != last_line) *ctx.err << line << "\n" << std::flush;
      last_line = line;
      return;
    }
    progress.Update(j);
  });
  progress.Finish();
  if (!st.ok()) return ReportCallFailure(&ctx, "job watch", st);
  if (last.state() != expected) {
    *ctx.err << "fixmine: job " << id << " ended " << StateName(last.state())
             << (last.error().empty() ? "" : ": " + last.error()) << "\n";
    return kExitFailed;
  }
  return kExitOk;
}

void PrintJob(CliContext& ctx, const Job& j) {
  ctx.print->One(j, [&] { return JobTable(j); });
}

void PrintRepo(CliContext& ctx, const Repository& r) {
  ctx.print->One(r, [&] { return RepoTable(r); });
}

// --- repo ---

class RepoAdd : public Command {
 public:
  RepoAdd() : Command("add", "Register a local path or a remote URL") {}
  void AddOptions(CLI::App* cmd) override {
    cmd->add_option("source", source_, "local repository path (under an allowed root) or URL")
        ->required();
    cmd->add_option("--name", name_,
                    "name to register it under (default: folder name; for a URL its host and "
                    "path, as extract --repo-list names it)");
    cmd->add_option("--github", github_,
                    "tie it to its GitHub repository OWNER/REPO (docs/github.md); a "
                    "https://github.com/OWNER/REPO source ties itself");
  }
  int Run(CliContext& ctx) override {
    // Checked before the repository is registered, so a bad value registers nothing.
    if (!github_.empty() && !github::ParseGithubRepo(github_)) {
      *ctx.err << "fixmine repo add: --github \"" << github_
               << "\" is not OWNER/REPO or https://github.com/OWNER/REPO\n";
      return kExitUsage;
    }
    FixmineClient c = Connect(ctx);
    auto r = c.AddRepository(source_, name_);
    if (!r.ok()) return ReportCallFailure(ctx, r.status());
    if (!github_.empty()) {
      auto tied = c.SetGithubRepository(r->name(), github_);
      if (!tied.ok()) return ReportCallFailure(&ctx, "repo add --github", tied.status());
      *r = std::move(*tied);
    }
    PrintRepo(ctx, *r);
    return kExitOk;
  }

 private:
  std::string source_, name_, github_;
};

class RepoList : public Command {
 public:
  RepoList() : Command("list", "List repositories") {}
  int Run(CliContext& ctx) override {
    auto r = Connect(ctx).ListRepositories();
    if (!r.ok()) return ReportCallFailure(ctx, r.status());
    ctx.print->List<Repository>(*r, kRepoHeader, RepoRow);
    return kExitOk;
  }
};

class RepoShow : public Command {
 public:
  RepoShow() : Command("show", "Show one repository") {}
  void AddOptions(CLI::App* cmd) override {
    cmd->add_option("name", name_, "repository name")->required();
  }
  int Run(CliContext& ctx) override {
    auto r = Connect(ctx).GetRepository(name_);
    if (!r.ok()) return ReportCallFailure(ctx, r.status());
    PrintRepo(ctx, *r);
    return kExitOk;
  }

 private:
  std::string name_;
};

class RepoRm : public Command {
 public:
  RepoRm() : Command("rm", "Remove a repository and its records") {}
  void AddOptions(CLI::App* cmd) override {
    cmd->add_option("name", name_, "repository name")->required();
  }
  int Run(CliContext& ctx) override {
    auto n = Connect(ctx).RemoveRepository(name_);
    if (!n.ok()) return ReportCallFailure(ctx, n.status());
    *ctx.out << fmt::format("removed {} ({} records)\n", name_, *n);
    return kExitOk;
  }

 private:
  std::string name_;
};

// Client-side over the record stream (docs/operations.md, "Repository statistics").
class RepoStatsCommand : public Command {
 public:
  RepoStatsCommand()
      : Command("stats",
                "Churn, contributors and file ownership of a repository, from its records") {}
  void AddOptions(CLI::App* cmd) override {
    cmd->add_option("name", name_, "repository name")->required();
    cmd->add_option("--filter", filter_,
                    "only records matching this filter too (docs/filters.md), e.g. "
                    "\"NOT is_bot\"");
    cmd->add_option("--top", top_,
                    "contributors and files to list, most commits / churn first (0: all)")
        ->check(CLI::NonNegativeNumber);
  }
  int Run(CliContext& ctx) override {
    FixmineClient c = Connect(ctx);
    // NOT_FOUND for an unknown name, rather than empty statistics.
    if (auto r = c.GetRepository(name_); !r.ok()) return ReportCallFailure(ctx, r.status());
    fixmine::v1::StreamRecordsRequest req;
    std::string filter = fmt::format("repo = \"{}\"", name_);
    if (!filter_.empty()) filter += fmt::format(" AND ({})", filter_);
    req.set_filter(filter);
    req.set_include_contaminated(true);
    RepoStatsBuilder builder(name_);
    absl::Status st = c.StreamRecords(req, [&](const fixmine::v1::StreamRecordsResponse& resp) {
      for (const auto& r : resp.records()) builder.Add(r);
      return true;
    });
    if (!st.ok()) return ReportCallFailure(ctx, st);
    RepoStats s = builder.Finish();
    ctx.print->One(RepoStatsToStruct(s, top_), [&] { return RepoStatsTable(s, top_); });
    return kExitOk;
  }

 private:
  std::string name_, filter_;
  int top_ = 20;
};

// --- mine ---

class Mine : public Command {
 public:
  Mine() : Command("mine", "Start a mining job for a repository") {}
  void AddOptions(CLI::App* cmd) override {
    cmd->add_option("name", name_, "repository name")->required();
    cmd->add_flag("--wait", wait_, "wait for the job to end, with progress on stderr");
    cmd->add_option("--rev", revs_,
                    "revision to walk (repeatable): a branch, tag, hex id, range (v1..v2), or a "
                    "ref glob such as 'refs/pull/*/head' (the only way to walk hidden refs)");
    auto* refs_opt =
        cmd->add_option("--refs", refs_,
                        "without --rev, which refs to walk: default (the default branch, HEAD; "
                        "the default), branches (every branch), all (every branch and tag); "
                        "never refs/pull/* or other hidden refs")
            ->check(CLI::IsMember({"default", "branches", "all"}));
    auto* all_refs_opt =
        cmd->add_flag("--all-refs", all_refs_, "walk every branch and tag (--refs all)");
    refs_opt->excludes(all_refs_opt);
    cmd->add_option("--max-commits", max_commits_, "stop after this many new records")
        ->check(CLI::NonNegativeNumber);
    cmd->add_flag("--fetch", fetch_, "fetch a remote repository's mirror first");
  }
  int Run(CliContext& ctx) override {
    FixmineClient c = Connect(ctx);
    fixmine::v1::StartMiningRequest req;
    req.set_repo(name_);
    for (const auto& r : revs_) req.add_revs(r);
    req.set_refs(all_refs_ ? "all" : refs_);
    req.set_max_commits(max_commits_);
    req.set_fetch(fetch_);
    auto job = c.StartMining(req);
    if (!job.ok()) return ReportCallFailure(ctx, job.status());
    if (!wait_) {
      PrintJob(ctx, *job);
      return kExitOk;
    }
    *ctx.err << "fixmine: job " << job->id() << " started\n";
    return WatchAndShowJob(ctx, c, job->id());
  }

 private:
  std::string name_;
  bool wait_ = false;
  std::vector<std::string> revs_;
  int64_t max_commits_ = 0;
  bool fetch_ = false;
  std::string refs_;
  bool all_refs_ = false;
};

// --- job ---

class JobList : public Command {
 public:
  JobList() : Command("list", "List jobs, newest first") {}
  void AddOptions(CLI::App* cmd) override {
    cmd->add_option("--repo", repo_, "only this repository's jobs");
  }
  int Run(CliContext& ctx) override {
    auto r = Connect(ctx).ListJobs(repo_);
    if (!r.ok()) return ReportCallFailure(ctx, r.status());
    ctx.print->List<Job>(*r, kJobHeader, JobRow);
    return kExitOk;
  }

 private:
  std::string repo_;
};

// A command on one job, named by its id.
class JobCommand : public Command {
 public:
  using Command::Command;
  void AddOptions(CLI::App* cmd) override { cmd->add_option("id", id_, "job id")->required(); }

 protected:
  std::string id_;
};

class JobShow : public JobCommand {
 public:
  JobShow() : JobCommand("show", "Show one job") {}
  int Run(CliContext& ctx) override {
    auto r = Connect(ctx).GetJob(id_);
    if (!r.ok()) return ReportCallFailure(ctx, r.status());
    PrintJob(ctx, *r);
    return kExitOk;
  }
};

class JobWatch : public JobCommand {
 public:
  JobWatch() : JobCommand("watch", "Follow a job's progress until it ends (JSON Lines)") {}
  int Run(CliContext& ctx) override {
    FixmineClient c = Connect(ctx);
    return WatchToEnd(ctx, c, id_, true);
  }
};

class JobCancel : public JobCommand {
 public:
  JobCancel()
      : JobCommand("cancel",
                   "Cancel a job (records written so far stay); it shows CANCELLING until its "
                   "worker has stopped, then CANCELLED") {}
  void AddOptions(CLI::App* cmd) override {
    JobCommand::AddOptions(cmd);
    cmd->add_flag("--wait", wait_,
                  "wait until the job is CANCELLED (the reply may say CANCELLING while its "
                  "worker stops); exit 1 when it ended otherwise");
  }
  int Run(CliContext& ctx) override {
    FixmineClient c = Connect(ctx);
    auto r = c.CancelJob(id_);
    if (!r.ok()) return ReportCallFailure(ctx, r.status());
    int code = kExitOk;
    if (wait_ && r->state() == fixmine::v1::CANCELLING) {
      code = WatchToEnd(ctx, c, id_, false, fixmine::v1::CANCELLED);
      auto final_job = c.GetJob(id_);
      if (final_job.ok()) r = std::move(final_job);
    } else if (wait_ && r->state() != fixmine::v1::CANCELLED) {
      *ctx.err << "fixmine: job " << id_ << " had already ended " << StateName(r->state()) << "\n";
      code = kExitFailed;
    }
    PrintJob(ctx, *r);
    return code;
  }

 private:
  bool wait_ = false;
};

// --- records ---

// SIGINT/SIGTERM during `records stream` stop it cleanly with a resume token.
std::atomic<bool> g_interrupted{false};
extern "C" void OnInterrupt(int) { g_interrupted = true; }

// Cancels the live call of a stream once SIGINT or SIGTERM has arrived: installs the handlers
// and a watcher thread for its lifetime.
class InterruptWatch {
 public:
  InterruptWatch() {
    g_interrupted = false;
    old_int_ = std::signal(SIGINT, OnInterrupt);
    old_term_ = std::signal(SIGTERM, OnInterrupt);
    watcher_ = std::thread([this] {
      while (!stop_) {
        if (g_interrupted) {
          std::lock_guard<std::mutex> l(mu_);
          if (live_) live_->TryCancel();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
  }
  ~InterruptWatch() {
    stop_ = true;
    watcher_.join();
    std::signal(SIGINT, old_int_);
    std::signal(SIGTERM, old_term_);
  }
  InterruptWatch(const InterruptWatch&) = delete;
  InterruptWatch& operator=(const InterruptWatch&) = delete;

  // The context hook of FixmineClient::StreamRecords.
  void SetLive(grpc::ClientContext* cc) {
    std::lock_guard<std::mutex> l(mu_);
    live_ = cc;
  }
  static bool interrupted() { return g_interrupted.load(); }

 private:
  std::mutex mu_;
  grpc::ClientContext* live_ = nullptr;
  std::atomic<bool> stop_{false};
  void (*old_int_)(int) = nullptr;
  void (*old_term_)(int) = nullptr;
  std::thread watcher_;
};

class RecordsStream : public Command {
 public:
  RecordsStream()
      : Command("stream", "Stream matching records as JSON Lines (resume with --resume-token)") {}
  void AddOptions(CLI::App* cmd) override {
    selection_.Add(cmd, "stream");
    paging_.Add(cmd, "records", "stream");
    cmd->add_option("--format", format_,
                    "template: raw, commitpack, chat, sharegpt, swe, datatrove (docs/formats.md)")
        ->capture_default_str();
    sample_.Add(cmd);
  }
  int Run(CliContext& ctx) override {
    if (!CheckFormatAndSample(ctx, format_, sample_)) return kExitUsage;
    FixmineClient c = Connect(ctx);
    fixmine::v1::StreamRecordsRequest req;
    selection_.Fill(&req);
    req.set_resume_token(paging_.resume_token);
    req.set_limit(paging_.limit);
    req.set_format(format_);
    sample_.Fill(&req);
    StreamTally tally{paging_.resume_token};
    std::string buf;
    absl::Status st;
    {
      InterruptWatch watch;
      st = c.StreamRecords(
          req,
          [&](const fixmine::v1::StreamRecordsResponse& resp) {
            buf.clear();
            for (const auto& r : resp.records()) AppendRecordJsonLine(r, &buf);
            AppendRows(resp.rendered(), &buf);  // --format other than raw
            ctx.out->write(buf.data(), static_cast<std::streamsize>(buf.size()));
            ctx.out->flush();
            tally.count += resp.record_count() > 0 ? resp.record_count() : resp.records_size();
            tally.last_token = resp.resume_token();
            return !InterruptWatch::interrupted();
          },
          [&](grpc::ClientContext* cc) { watch.SetLive(cc); });
    }
    bool interrupted =
        InterruptWatch::interrupted() || (!st.ok() && st.code() == absl::StatusCode::kCancelled);
    bool limited = paging_.limit > 0 && tally.count >= paging_.limit;
    int code =
        tally.Finish(ctx, interrupted ? absl::OkStatus() : st, interrupted || limited || !st.ok());
    if (code != kExitOk) return code;
    *ctx.err << fmt::format("records stream: {} records{}\n", tally.count,
                            interrupted ? " (interrupted)" : "");
    return interrupted ? kExitFailed : kExitOk;
  }

 private:
  RecordSelection selection_;
  Paging paging_;
  std::string format_ = "raw";
  Sampling sample_;
};

class RecordsGet : public Command {
 public:
  RecordsGet() : Command("get", "Print one record as JSON") {}
  void AddOptions(CLI::App* cmd) override { cmd->add_option("id", id_, "record id")->required(); }
  int Run(CliContext& ctx) override {
    auto r = Connect(ctx).GetRecord(id_);
    if (!r.ok()) return ReportCallFailure(ctx, r.status());
    ctx.print->Json(*r);
    return kExitOk;
  }

 private:
  std::string id_;
};

// --- bench (decontamination, docs/curation.md) ---

class BenchAdd : public Command {
 public:
  BenchAdd()
      : Command("add",
                "Add (or replace) a benchmark: each plain file is one item; each line of a "
                ".jsonl file is one item (its --field)") {}
  void AddOptions(CLI::App* cmd) override {
    cmd->add_option("name", name_, "benchmark name")->required();
    cmd->add_option("files", files_, "item files (plain text or .jsonl)")->required();
    cmd->add_option("--field", field_, "field holding the text in .jsonl lines")
        ->capture_default_str();
    cmd->add_option("--ngram", ngram_, "n-gram size in tokens, 5 to 50")->capture_default_str();
  }
  int Run(CliContext& ctx) override {
    fixmine::v1::AddBenchmarkRequest req;
    req.set_name(name_);
    req.set_ngram(ngram_);
    // The same reading as `fixmine extract --bench` (pipeline/benchmarks.h).
    auto items = pipeline::ReadBenchmarkItems(files_, field_);
    if (!items.ok()) {
      *ctx.err << "fixmine bench add: " << items.status().message() << "\n";
      return kExitUsage;
    }
    for (auto& item : *items) *req.add_items() = std::move(item);
    auto n = Connect(ctx).AddBenchmark(req);
    if (!n.ok()) return ReportCallFailure(ctx, n.status());
    *ctx.out << fmt::format(
        "added {} ({} items); stored records are re-checked in the background\n", name_, *n);
    return kExitOk;
  }

 private:
  std::string name_;
  std::vector<std::string> files_;
  std::string field_ = "canonical_solution";
  int ngram_ = 13;
};

class BenchList : public Command {
 public:
  BenchList() : Command("list", "List benchmarks") {}
  int Run(CliContext& ctx) override {
    auto r = Connect(ctx).ListBenchmarks();
    if (!r.ok()) return ReportCallFailure(ctx, r.status());
    ctx.print->One(*r, [&] {
      std::string t = fmt::format("{:<24} {:>6} {:>8}\n", "NAME", "NGRAM", "ITEMS");
      for (const auto& b : r->benchmarks()) {
        t += fmt::format("{:<24} {:>6} {:>8}\n", b.name(), b.ngram(), b.item_count());
      }
      return t;
    });
    return kExitOk;
  }
};

class BenchRm : public Command {
 public:
  BenchRm() : Command("rm", "Remove a benchmark (its labels are cleared in the background)") {}
  void AddOptions(CLI::App* cmd) override {
    cmd->add_option("name", name_, "benchmark name")->required();
  }
  int Run(CliContext& ctx) override {
    absl::Status st = Connect(ctx).RemoveBenchmark(name_);
    if (!st.ok()) return ReportCallFailure(ctx, st);
    *ctx.out << fmt::format("removed {}\n", name_);
    return kExitOk;
  }

 private:
  std::string name_;
};

// --- stats, health ---

// Curation counts (docs/curation.md): a sorted key list, one line each.
template <typename Map>
std::string CurationLines(const Map& m, const std::string& indent) {
  std::vector<std::string> keys;
  keys.reserve(m.size());
  for (const auto& [k, v] : m) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  std::string out;
  for (const auto& k : keys) out += fmt::format("{}{:<44} {:>9}\n", indent, k, m.at(k));
  return out;
}

std::string StatsTable(const fixmine::v1::GetStatsResponse& s) {
  std::string t = fmt::format(
      "repositories: {}\nrecords:      {}\njobs:         {} ({} active)\nstore_bytes:  {}\n",
      s.repositories(), s.records(), s.jobs(), s.active_jobs(), s.store_bytes());
  for (const auto& r : s.per_repository()) {
    t += fmt::format("  {:<24} {:>9} records{}\n", r.repo(), r.records(),
                     r.license().empty() ? "" : "  license " + r.license());
    t += CurationLines(r.curation(), "    ");
  }
  if (!s.curation().empty()) {
    t += "curation (all repositories):\n" + CurationLines(s.curation(), "  ");
  }
  return t;
}

class Stats : public Command {
 public:
  Stats() : Command("stats", "Store-wide and per-repository counts") {}
  int Run(CliContext& ctx) override {
    auto s = Connect(ctx).GetStats();
    if (!s.ok()) return ReportCallFailure(ctx, s.status());
    ctx.print->One(*s, [&] { return StatsTable(*s); });
    return kExitOk;
  }
};

class Health : public Command {
 public:
  Health()
      : Command("health",
                "Check that the server is serving (exit 0), serving reads only because its store "
                "refuses writes after a disk error (exit 1), or not (exit 3)") {}
  int Run(CliContext& ctx) override {
    FixmineClient c = Connect(ctx);
    c.set_deadline_seconds(5);
    absl::Status st = c.Health();
    if (!st.ok()) {
      *ctx.err << "fixmine health: " << ctx.server << ": " << st.message() << "\n";
      return kExitUnreachable;
    }
    // Serving, but the store may be fenced after a disk error (docs/reliability.md): reads go
    // on, writes are refused until an operator acts.
    absl::Status writes = c.StoreWritesHealth();
    if (writes.code() == absl::StatusCode::kFailedPrecondition) {
      *ctx.out << "SERVING (read-only)\n";
      *ctx.err << "fixmine health: " << ctx.server << ": " << writes.message() << "\n";
      return kExitFailed;
    }
    if (!writes.ok()) {
      *ctx.err << "fixmine health: " << ctx.server << ": " << writes.message() << "\n";
      return kExitUnreachable;
    }
    *ctx.out << "SERVING\n";
    return kExitOk;
  }
};

}  // namespace

int WatchAndShowJob(CliContext& ctx, FixmineClient& client, const std::string& id) {
  int rc = WatchToEnd(ctx, client, id, false);
  if (rc == kExitOk || rc == kExitFailed) {
    auto final_job = client.GetJob(id);
    if (final_job.ok()) PrintJob(ctx, *final_job);
  }
  return rc;
}

std::unique_ptr<Command> NewRepoAddCommand() { return std::make_unique<RepoAdd>(); }
std::unique_ptr<Command> NewRepoListCommand() { return std::make_unique<RepoList>(); }
std::unique_ptr<Command> NewRepoShowCommand() { return std::make_unique<RepoShow>(); }
std::unique_ptr<Command> NewRepoRmCommand() { return std::make_unique<RepoRm>(); }
std::unique_ptr<Command> NewRepoStatsCommand() { return std::make_unique<RepoStatsCommand>(); }
std::unique_ptr<Command> NewMineCommand() { return std::make_unique<Mine>(); }
std::unique_ptr<Command> NewJobListCommand() { return std::make_unique<JobList>(); }
std::unique_ptr<Command> NewJobShowCommand() { return std::make_unique<JobShow>(); }
std::unique_ptr<Command> NewJobWatchCommand() { return std::make_unique<JobWatch>(); }
std::unique_ptr<Command> NewJobCancelCommand() { return std::make_unique<JobCancel>(); }
std::unique_ptr<Command> NewRecordsStreamCommand() { return std::make_unique<RecordsStream>(); }
std::unique_ptr<Command> NewRecordsGetCommand() { return std::make_unique<RecordsGet>(); }
std::unique_ptr<Command> NewBenchAddCommand() { return std::make_unique<BenchAdd>(); }
std::unique_ptr<Command> NewBenchListCommand() { return std::make_unique<BenchList>(); }
std::unique_ptr<Command> NewBenchRmCommand() { return std::make_unique<BenchRm>(); }
std::unique_ptr<Command> NewStatsCommand() { return std::make_unique<Stats>(); }
std::unique_ptr<Command> NewHealthCommand() { return std::make_unique<Health>(); }

}  // namespace fixmine::client
