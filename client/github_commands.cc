// `fixmine github sync|import|issues` and `fixmine instances stream|export` (docs/github.md).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>

#include "CLI/CLI.hpp"
#include "client/cli.h"
#include "client/command.h"
#include "client/fixmine_client.h"
#include "client/options.h"
#include "client/printer.h"
#include "common/json.h"
#include "fmt/format.h"
#include "github/gharchive.h"

namespace fixmine::client {
namespace {

using fixmine::v1::ImportGithubEventsRequest;
using fixmine::v1::Instance;

void Key(std::string* out, std::string_view key, bool first = false) {
  if (!first) out->push_back(',');
  AppendValidJsonString(key, out);
  out->push_back(':');
}

void StrField(std::string* out, std::string_view key, std::string_view value) {
  Key(out, key);
  AppendValidJsonString(value, out);
}

// One instance as a SWE-bench row (docs/github.md, "Instances"): SWE-bench's fields in its
// order, FAIL_TO_PASS / PASS_TO_PASS as the JSON text "[]" (no tests are run), then fixmine's.
// Appends it and a newline to `o`; false (after `print` reported it) when a contamination
// label cannot be rendered.
bool AppendSweInstance(const Instance& i, Printer& print, std::string* out) {
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
    std::string label;
    if (!print.AppendJsonLine(i.contamination(k), &label)) return false;
    label.pop_back();  // its newline
    o += label;
  }
  o += "]}\n";
  out->append(o);
  return true;
}

// Streams instances as SWE-bench rows to `out`; returns the exit code and the number written.
int StreamInstances(CliContext& ctx, const std::string& filter, const Paging& paging,
                    std::ostream& out, int64_t* count) {
  fixmine::v1::StreamInstancesRequest req;
  req.set_filter(filter);
  req.set_limit(paging.limit);
  req.set_resume_token(paging.resume_token);
  StreamTally tally{paging.resume_token};
  std::string row;
  absl::Status st =
      Connect(ctx).StreamInstances(req, [&](const fixmine::v1::StreamInstancesResponse& resp) {
        for (const Instance& i : resp.instances()) {
          row.clear();
          if (AppendSweInstance(i, *ctx.print, &row)) out << row;
          ++tally.count;
        }
        tally.last_token = resp.resume_token();
        return true;
      });
  *count = tally.count;
  return tally.Finish(ctx, st, paging.limit > 0 && tally.count >= paging.limit);
}

// Reads GH Archive dumps into import batches and sends them (docs/github.md).
class GithubImport : public Command {
 public:
  GithubImport()
      : Command("import",
                "Import GH Archive hourly dumps (YYYY-MM-DD-H.json.gz files or folders of them): "
                "issues, pull requests and comments of tied repositories; then waits for the "
                "link jobs") {}
  void AddOptions(CLI::App* cmd) override {
    cmd->add_option("files", inputs_, "dump files or folders")->required();
  }
  int Run(CliContext& ctx) override {
    std::vector<std::string> files = DumpFiles();
    FixmineClient c = Connect(ctx);
    ImportGithubEventsRequest batch;
    size_t batch_bytes = 0;
    int64_t stored = 0, unmatched = 0;
    std::vector<std::string> link_jobs;
    auto send = [&](bool link) -> absl::Status {
      batch.set_link(link);
      auto resp = c.ImportGithubEvents(batch);
      if (!resp.ok()) return resp.status();
      stored += resp->stored();
      unmatched += resp->unmatched();
      link_jobs.assign(resp->link_jobs().begin(), resp->link_jobs().end());
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
            if (batch.items_size() >= 1000 || batch_bytes >= (size_t{2} << 20)) {
              return send(false);
            }
            return absl::OkStatus();
          },
          &stats);
      if (!st.ok()) return ReportCallFailure(ctx, st);
    }
    if (absl::Status st = send(true); !st.ok()) return ReportCallFailure(ctx, st);
    *ctx.out << fmt::format(
        "imported {} files: {} lines, {} events, {} bad lines; {} objects stored, {} of untied "
        "repositories left out; {} link jobs\n",
        files.size(), stats.lines, stats.events, stats.bad_lines, stored, unmatched,
        link_jobs.size());
    ctx.out->flush();
    // The link passes run as jobs on the server; the import ends when they have.
    for (const std::string& id : link_jobs) {
      if (int rc = WatchAndShowJob(ctx, c, id); rc != kExitOk) return rc;
    }
    return kExitOk;
  }

 private:
  // Folders give their *.json.gz / *.json files, in name order (GH Archive's hour order).
  std::vector<std::string> DumpFiles() const {
    std::vector<std::string> files;
    for (const std::string& in : inputs_) {
      std::error_code ec;
      if (!std::filesystem::is_directory(in, ec)) {
        files.push_back(in);
        continue;
      }
      std::vector<std::string> found;
      for (const auto& e : std::filesystem::directory_iterator(in, ec)) {
        std::string name = e.path().filename().string();
        if (e.is_regular_file() && (name.ends_with(".json.gz") || name.ends_with(".json"))) {
          found.push_back(e.path().string());
        }
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    }
    return files;
  }

  std::vector<std::string> inputs_;
};

class GithubSync : public Command {
 public:
  GithubSync()
      : Command("sync",
                "Start a sync job of a repository's issues, pull requests and comments from the "
                "GitHub API (fixmined --github-api-url), then link them to records") {}
  void AddOptions(CLI::App* cmd) override {
    cmd->add_option("name", name_, "registered repository name (tied with --github)")->required();
    cmd->add_flag("--wait", wait_, "wait for the job to end, with progress (and waits) on stderr");
  }
  int Run(CliContext& ctx) override {
    FixmineClient c = Connect(ctx);
    auto job = c.SyncGithub(name_);
    if (!job.ok()) return ReportCallFailure(ctx, job.status());
    if (!wait_) {
      std::string line;
      if (ctx.print->AppendJsonLine(*job, &line)) *ctx.out << line;
      return kExitOk;
    }
    *ctx.err << "fixmine: job " << job->id() << " started\n";
    return WatchAndShowJob(ctx, c, job->id());
  }

 private:
  std::string name_;
  bool wait_ = false;
};

class GithubIssues : public Command {
 public:
  GithubIssues() : Command("issues", "Print a repository's stored issues as JSON Lines") {}
  void AddOptions(CLI::App* cmd) override {
    cmd->add_option("name", name_, "registered repository name")->required();
    cmd->add_option("--filter", filter_, "issue filter (docs/filters.md, \"Issue filters\")");
    paging_.Add(cmd, "issues", "listing");
  }
  int Run(CliContext& ctx) override {
    fixmine::v1::StreamIssuesRequest req;
    req.set_repo(name_);
    req.set_limit(paging_.limit);
    req.set_filter(filter_);
    req.set_resume_token(paging_.resume_token);
    StreamTally tally{paging_.resume_token};
    std::string buf;
    absl::Status st =
        Connect(ctx).StreamIssues(req, [&](const fixmine::v1::StreamIssuesResponse& resp) {
          buf.clear();
          for (const auto& i : resp.issues()) ctx.print->AppendJsonLine(i, &buf);
          *ctx.out << buf;
          tally.count += resp.issues_size();
          tally.last_token = resp.resume_token();
          return true;
        });
    return tally.Finish(ctx, st, paging_.limit > 0 && tally.count >= paging_.limit);
  }

 private:
  std::string name_;
  std::string filter_;
  Paging paging_;
};

class InstancesStream : public Command {
 public:
  InstancesStream() : Command("stream", "Stream instances as JSON Lines (swe fields)") {}
  void AddOptions(CLI::App* cmd) override {
    cmd->add_option("--filter", filter_, "instance filter (docs/filters.md, \"Instance filters\")");
    paging_.Add(cmd, "instances", "stream");
  }
  int Run(CliContext& ctx) override {
    int64_t count = 0;
    int code = StreamInstances(ctx, filter_, paging_, *ctx.out, &count);
    if (code == kExitOk) *ctx.err << fmt::format("instances stream: {} instances\n", count);
    return code;
  }

 private:
  std::string filter_;
  Paging paging_;
};

class InstancesExport : public Command {
 public:
  InstancesExport()
      : Command("export", "Write instances to DIR/instances.jsonl (SWE-bench rows)") {}
  void AddOptions(CLI::App* cmd) override {
    cmd->add_option("--format", format_, "swe (the only format)")
        ->check(CLI::IsMember({"swe"}))
        ->capture_default_str();
    cmd->add_option("--out", out_, "folder to write (created when missing)")->required();
    cmd->add_option("--filter", filter_, "instance filter");
  }
  int Run(CliContext& ctx) override {
    std::error_code ec;
    std::filesystem::create_directories(out_, ec);
    if (ec) {
      *ctx.err << "fixmine instances export: creating \"" << out_ << "\": " << ec.message() << "\n";
      return kExitFailed;
    }
    std::filesystem::path final_path = std::filesystem::path(out_) / "instances.jsonl";
    std::filesystem::path tmp = final_path;
    tmp += ".tmp";
    std::ofstream f(tmp, std::ios::trunc | std::ios::binary);
    int64_t count = 0;
    int code = StreamInstances(ctx, filter_, Paging(), f, &count);
    f.close();
    // A row that could not be rendered leaves the file incomplete: it is not kept either.
    if (code != kExitOk || !f || ctx.print->failed()) {
      std::filesystem::remove(tmp, ec);
      return code == kExitOk ? kExitFailed : code;
    }
    std::filesystem::rename(tmp, final_path, ec);
    *ctx.out << fmt::format("wrote {} instances to {}\n", count, final_path.string());
    return kExitOk;
  }

 private:
  std::string format_ = "swe";
  std::string out_;
  std::string filter_;
};

}  // namespace

std::unique_ptr<Command> NewGithubSyncCommand() { return std::make_unique<GithubSync>(); }
std::unique_ptr<Command> NewGithubImportCommand() { return std::make_unique<GithubImport>(); }
std::unique_ptr<Command> NewGithubIssuesCommand() { return std::make_unique<GithubIssues>(); }
std::unique_ptr<Command> NewInstancesStreamCommand() { return std::make_unique<InstancesStream>(); }
std::unique_ptr<Command> NewInstancesExportCommand() { return std::make_unique<InstancesExport>(); }

}  // namespace fixmine::client
