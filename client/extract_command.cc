// `fixmine extract`: mines a repository into JSON Lines with no server.
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <unordered_set>

#include "CLI/CLI.hpp"
#include "client/cli.h"
#include "common/formats.h"
#include "common/json.h"
#include "common/record_json.h"
#include "common/time.h"
#include "fmt/format.h"
#include "miner/trajectory.h"
#include "miner/walk.h"

namespace fixmine::client {
namespace {

struct ExtractArgs {
  std::string repo;
  std::string name;
  std::vector<std::string> revs;
  bool all = false;
  std::string since, until;
  int64_t max_commits = 0;
  std::string out_path;
  int workers = 0;
  size_t content_cap = 1 << 20;
  bool new_content = false;
  bool quiet = false;
  bool proto_json = false;
  std::string format = "raw";  // export template (docs/formats.md)
  std::string trajectories_out;  // pull-request trajectories as JSON Lines (docs/trajectories.md)
  std::string szz = "fixes";   // which records get bug-introducing commits
};

std::string DefaultRepoName(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  size_t slash = p.rfind('/');
  std::string base = slash == std::string::npos ? p : p.substr(slash + 1);
  if (base == ".git") {  // "repo/.git" names "repo"
    std::string parent = slash == std::string::npos ? "" : p.substr(0, slash);
    size_t s2 = parent.rfind('/');
    base = s2 == std::string::npos ? parent : parent.substr(s2 + 1);
  }
  if (base.size() > 4 && base.ends_with(".git")) base.resize(base.size() - 4);
  if (base.empty() || base == ".") base = "repo";
  return base;
}

int RunExtract(const ExtractArgs& a, CliContext* ctx) {
  std::ostream& err = *ctx->err;
  miner::WalkOptions walk;
  walk.revs = a.revs;
  walk.all = a.all;
  walk.max_commits = a.max_commits;
  walk.workers = a.workers;
  for (auto [text, dest] : {std::pair{&a.since, &walk.since}, std::pair{&a.until, &walk.until}}) {
    if (text->empty()) continue;
    auto t = ParseTime(*text);
    if (!t.ok()) {
      err << "fixmine extract: " << t.status().message() << "\n";
      return kExitUsage;
    }
    *dest = *t;
  }
  miner::RecordOptions rec;
  rec.repo_name = a.name.empty() ? DefaultRepoName(a.repo) : a.name;
  rec.content_cap = a.content_cap;
  rec.include_new_content = a.new_content;
  rec.szz.mode = *miner::ParseSzzMode(a.szz);  // checked by CLI11

  std::unique_ptr<std::ofstream> file;
  std::ostream* out = ctx->out;
  if (!a.out_path.empty() && a.out_path != "-") {
    file = std::make_unique<std::ofstream>(a.out_path, std::ios::binary | std::ios::trunc);
    if (!*file) {
      err << fmt::format("fixmine extract: cannot write \"{}\"\n", a.out_path);
      return kExitFailed;
    }
    out = file.get();
  }

  auto start = std::chrono::steady_clock::now();
  auto last_progress = start;
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  // Records are encoded on the worker threads; this thread only concatenates and writes.
  bool proto_json = a.proto_json;
  auto format = ParseRecordFormat(a.format);
  if (!format.ok()) {
    err << "fixmine extract: " << format.status().message() << "\n";
    return kExitUsage;
  }
  RecordFormat fmt_kind = *format;
  auto encode = [proto_json, fmt_kind](const fixmine::v1::Record& r,
                                       std::string* line) -> absl::Status {
    if (fmt_kind != RecordFormat::kRaw) {  // rows of the template, one per line (maybe none)
      std::vector<std::string> rows;
      absl::Status st = RenderRecord(r, fmt_kind, &rows);
      if (!st.ok()) return st;
      line->clear();
      for (const auto& row : rows) {
        line->append(row);
        line->push_back('\n');
      }
      return absl::OkStatus();
    }
    if (proto_json || !AppendRecordJson(r, line)) {  // not UTF-8: protobuf's own printer
      auto text = ToJsonLine(r);
      if (!text.ok()) return text.status();
      *line = std::move(*text);
    }
    line->push_back('\n');
    return absl::OkStatus();
  };
  // Trajectories first: the walk then fills each step record's trajectory fields.
  miner::TrajectorySet trajectories;
  miner::TrajectoryStats tstats;
  std::unique_ptr<std::ofstream> traj_file;
  std::unordered_set<std::string> fix_commits;  // step commits labelled is_fix
  if (!a.trajectories_out.empty()) {
    traj_file = std::make_unique<std::ofstream>(a.trajectories_out, std::ios::binary | std::ios::trunc);
    if (!*traj_file) {
      err << fmt::format("fixmine extract: cannot write \"{}\"\n", a.trajectories_out);
      return kExitFailed;
    }
    absl::Status tst =
        miner::FindTrajectories(a.repo, walk, rec, /*with_files=*/true, &trajectories, &tstats);
    if (!tst.ok()) {
      err << "fixmine extract: " << tst.message() << "\n";
      bool usage = tst.code() == absl::StatusCode::kNotFound ||
                   tst.code() == absl::StatusCode::kInvalidArgument;
      return usage ? kExitUsage : kExitFailed;
    }
    walk.annotate = [&trajectories](fixmine::v1::Record* r) { trajectories.Annotate(r); };
  }
  std::string buf;
  auto sink = [&](fixmine::v1::Record&& r, std::string&& line) -> absl::Status {
    if (traj_file && !r.trajectory_id().empty() && r.labels().is_fix()) {
      fix_commits.insert(r.commit());
    }
    if (line.size() >= (64 << 10)) {  // large lines go out as they are, without a copy
      if (!buf.empty()) out->write(buf.data(), static_cast<std::streamsize>(buf.size()));
      buf.clear();
      out->write(line.data(), static_cast<std::streamsize>(line.size()));
      if (!*out) return absl::DataLossError("writing records failed (disk full?)");
      return absl::OkStatus();
    }
    buf.append(line);
    if (buf.size() > (1 << 20)) {
      out->write(buf.data(), static_cast<std::streamsize>(buf.size()));
      buf.clear();
      if (!*out) return absl::DataLossError("writing records failed (disk full?)");
    }
    return absl::OkStatus();
  };
  auto progress = [&](const miner::WalkStats& s) {
    auto now = std::chrono::steady_clock::now();
    if (a.quiet || now - last_progress < std::chrono::seconds(2)) return;
    last_progress = now;
    err << fmt::format("extract: {} records, {} commits walked, {:.1f} s\n", s.records,
                       s.commits_walked, seconds());
  };
  miner::WalkStats stats;
  absl::Status st = miner::MineEncoded(a.repo, walk, rec, encode, sink, &stats, progress);
  out->write(buf.data(), static_cast<std::streamsize>(buf.size()));
  out->flush();
  if (!st.ok()) {
    err << "fixmine extract: " << st.message() << "\n";
    bool usage = st.code() == absl::StatusCode::kNotFound ||
                 st.code() == absl::StatusCode::kInvalidArgument;
    return usage ? kExitUsage : kExitFailed;
  }
  if (!*out) {
    err << "fixmine extract: writing records failed\n";
    return kExitFailed;
  }
  if (traj_file) {
    std::map<int64_t, int64_t> by_steps;
    for (fixmine::v1::Trajectory& t : trajectories.trajectories) {
      for (const std::string& c : t.step_commits()) {
        if (fix_commits.count(c)) t.set_any_fix(true);
      }
      ++by_steps[t.step_count()];
      auto text = ToJsonLine(t);
      if (!text.ok()) {
        err << "fixmine extract: " << text.status().message() << "\n";
        return kExitFailed;
      }
      *traj_file << *text << "\n";
    }
    traj_file->flush();
    if (!*traj_file) {
      err << "fixmine extract: writing trajectories failed\n";
      return kExitFailed;
    }
    for (const auto& e : tstats.errors) err << "fixmine extract: trajectory skipped: " << e << "\n";
    if (!a.quiet) {
      std::string dist;
      for (auto [steps, n] : by_steps) dist += fmt::format(" {}:{}", steps, n);
      err << fmt::format(
          "extract: {} trajectories ({} squash) from {} merges ({} octopus); {} branches "
          "without steps, {} only nested, {} nested steps, {} skipped; steps:count{}\n",
          trajectories.trajectories.size(), tstats.squashes, tstats.merges,
          tstats.octopus_merges, tstats.branches_without_steps, tstats.branches_all_nested,
          tstats.nested_steps,
          tstats.skipped, dist);
    }
  }
  for (const auto& e : stats.errors) err << "fixmine extract: skipped: " << e << "\n";
  if (!stats.walk_error.empty()) err << "fixmine extract: walk stopped early: " << stats.walk_error << "\n";
  if (!a.quiet) {
    err << fmt::format(
        "extract: {} records ({} files, {} unavailable) from {} commits walked; {} merges, "
        "{} skipped; {:.2f} s\n",
        stats.records, stats.files, stats.unavailable_files, stats.commits_walked,
        stats.merges_skipped + stats.merge_resolutions, stats.commits_skipped, seconds());
  }
  return stats.walk_error.empty() ? kExitOk : kExitFailed;
}

}  // namespace

void RegisterExtractCommand(CLI::App* app, CliContext* ctx) {
  auto args = std::make_shared<ExtractArgs>();
  CLI::App* cmd = app->add_subcommand(
      "extract", "Mine a local repository into JSON Lines records, offline (no server)");
  cmd->add_option("repo", args->repo, "path to the repository (bare or with a work tree)")
      ->required();
  cmd->add_option("--rev", args->revs,
                  "revision or range to walk (repeatable; default HEAD), e.g. main, v1..v2, ^old");
  cmd->add_flag("--all", args->all, "walk every branch and tag (all refs) plus HEAD");
  cmd->add_option("--since", args->since,
                  "only commits committed at or after this time (RFC 3339, YYYY-MM-DD, @unix)");
  cmd->add_option("--until", args->until, "only commits committed at or before this time");
  cmd->add_option("--max-commits", args->max_commits, "stop after this many records")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--out", args->out_path, "write JSON Lines here instead of stdout");
  cmd->add_option("--name", args->name, "repository name stored in records (default: folder name)");
  cmd->add_option("--workers", args->workers, "threads building records (default: one per core)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--content-cap", args->content_cap,
                  "bytes of each file's pre-image to keep (default 1 MiB)")
      ->capture_default_str();
  cmd->add_flag("--new-content", args->new_content, "also include each file's post-image");
  cmd->add_option("--szz", args->szz,
                  "bug-introducing commits (SZZ blame) for: fixes, all or off "
                  "(docs/trajectories.md)")
      ->check(CLI::IsMember({"fixes", "all", "off"}))
      ->capture_default_str();
  cmd->add_flag("-q,--quiet", args->quiet, "no progress or summary on stderr");
  cmd->add_option("--format", args->format,
                  "template: raw, commitpack, chat, sharegpt, swe, datatrove (docs/formats.md)")
      ->capture_default_str();
  cmd->add_option("--trajectories-out", args->trajectories_out,
                  "also write the pull-request trajectories as JSON Lines here "
                  "(docs/trajectories.md)");
  // Same bytes through protobuf's JSON printer (slower); kept to check the fast writer.
  cmd->add_flag("--proto-json", args->proto_json, "")->group("");
  cmd->callback([args, ctx] { ctx->exit_code = RunExtract(*args, ctx); });
}

}  // namespace fixmine::client
