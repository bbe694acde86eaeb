// `fixmine extract`: mines a repository into JSON Lines with no server.
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <unordered_set>

#include "CLI/CLI.hpp"
#include "client/cli.h"
#include "client/shard.h"
#include "client/zstd_writer.h"
#include "common/formats.h"
#include "common/json.h"
#include "common/record_json.h"
#include "common/status.h"
#include "common/time.h"
#include "fmt/format.h"
#include "miner/clone.h"
#include "miner/git_handles.h"
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
  size_t max_record_bytes = size_t{32} << 20;
  bool new_content = false;
  bool quiet = false;
  bool proto_json = false;
  std::string format = "raw";  // export template (docs/formats.md)
  std::string trajectories_out;  // pull-request trajectories as JSON Lines (docs/trajectories.md)
  // Which records get bug-introducing commits by blame (docs/trajectories.md). Off by default
  // here: blame costs about 20x the rest of a record, and extract is the fast path.
  std::string szz = "off";
  // Sharded mode (--repo-list): docs/operations.md "Scaling out".
  std::string repo_list;
  int64_t shard_index = -1;  // -1: from JOB_COMPLETION_INDEX
  int64_t shard_count = 0;
};

// A repository line that names a remote (cloned as a temporary bare mirror) rather than a
// local path.
bool IsRemote(const std::string& source) { return source.find("://") != std::string::npos; }

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

// Receives encoded record bytes in walk order.
using Writer = std::function<absl::Status(std::string_view)>;

// Parses --since/--until into `walk`; false (after a message) on a bad time.
bool ParseWalkTimes(const ExtractArgs& a, miner::WalkOptions* walk, std::ostream& err) {
  walk->revs = a.revs;
  walk->all = a.all;
  walk->max_commits = a.max_commits;
  walk->workers = a.workers;
  for (auto [text, dest] : {std::pair{&a.since, &walk->since}, std::pair{&a.until, &walk->until}}) {
    if (text->empty()) continue;
    auto t = ParseTime(*text);
    if (!t.ok()) {
      err << "fixmine extract: " << t.status().message() << "\n";
      return false;
    }
    *dest = *t;
  }
  return true;
}

// The record settings --content-cap and --new-content ask for, for the repository `name`.
miner::RecordOptions RecordOptionsFor(const ExtractArgs& a, const std::string& name) {
  miner::RecordOptions rec;
  rec.repo_name = name;
  rec.content_cap = a.content_cap;
  rec.max_record_bytes = a.max_record_bytes;
  rec.include_new_content = a.new_content;
  rec.szz.mode = *miner::ParseSzzMode(a.szz);  // checked by CLI11
  return rec;
}

// Called with each record in walk order, before it is written.
using RecordHook = std::function<void(const fixmine::v1::Record&)>;

// Mines the repository at `path` as `name` into `write`, encoded as --format asks. Progress
// goes to ctx->err unless --quiet. `on_record` (may be empty) sees each record first.
absl::Status MineTo(const ExtractArgs& a, const miner::WalkOptions& walk, RecordFormat fmt_kind,
                    const std::string& path, const std::string& name, const Writer& write,
                    CliContext* ctx, miner::WalkStats* stats, const RecordHook& on_record = {}) {
  std::ostream& err = *ctx->err;
  miner::RecordOptions rec = RecordOptionsFor(a, name);

  auto start = std::chrono::steady_clock::now();
  auto last_progress = start;
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  // Records are encoded on the worker threads; this thread only concatenates and writes.
  bool proto_json = a.proto_json;
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
  std::string buf;
  auto sink = [&](fixmine::v1::Record&& r, std::string&& line) -> absl::Status {
    if (on_record) on_record(r);
    if (line.size() >= (64 << 10)) {  // large lines go out as they are, without a copy
      if (!buf.empty()) FIXMINE_RETURN_IF_ERROR(write(buf));
      buf.clear();
      return write(line);
    }
    buf.append(line);
    if (buf.size() > (1 << 20)) {
      FIXMINE_RETURN_IF_ERROR(write(buf));
      buf.clear();
    }
    return absl::OkStatus();
  };
  auto progress = [&](const miner::WalkStats& s) {
    auto now = std::chrono::steady_clock::now();
    if (a.quiet || now - last_progress < std::chrono::seconds(2)) return;
    last_progress = now;
    err << fmt::format("extract: {}: {} records, {} commits walked, {:.1f} s\n", name, s.records,
                       s.commits_walked, seconds());
  };
  absl::Status st = miner::MineEncoded(path, walk, rec, encode, sink, stats, progress);
  if (!buf.empty()) {
    absl::Status wst = write(buf);
    if (st.ok()) st = wst;
  }
  if (!st.ok()) return st;
  for (const auto& e : stats->errors) err << "fixmine extract: " << name << ": skipped: " << e << "\n";
  if (!a.quiet) {
    err << fmt::format(
        "extract: {}: {} records ({} files, {} unavailable) from {} commits walked; {} merges, "
        "{} skipped; {:.2f} s\n",
        name, stats->records, stats->files, stats->unavailable_files, stats->commits_walked,
        stats->merges_skipped + stats->merge_resolutions, stats->commits_skipped, seconds());
  }
  return absl::OkStatus();
}

int RunExtract(const ExtractArgs& a, CliContext* ctx) {
  std::ostream& err = *ctx->err;
  miner::WalkOptions walk;
  if (!ParseWalkTimes(a, &walk, err)) return kExitUsage;
  auto format = ParseRecordFormat(a.format);
  if (!format.ok()) {
    err << "fixmine extract: " << format.status().message() << "\n";
    return kExitUsage;
  }

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
  Writer write = [out](std::string_view data) -> absl::Status {
    out->write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!*out) return absl::DataLossError("writing records failed (disk full?)");
    return absl::OkStatus();
  };
  // Trajectories first: the walk then fills each step record's trajectory fields.
  std::string name = a.name.empty() ? DefaultRepoName(a.repo) : a.name;
  miner::RecordOptions rec = RecordOptionsFor(a, name);
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
        miner::FindTrajectories(a.repo, walk, rec, /*with_files=*/false, &trajectories, &tstats);
    if (!tst.ok()) {
      err << "fixmine extract: " << tst.message() << "\n";
      bool usage = tst.code() == absl::StatusCode::kNotFound ||
                   tst.code() == absl::StatusCode::kInvalidArgument;
      return usage ? kExitUsage : kExitFailed;
    }
    walk.annotate = [&trajectories](fixmine::v1::Record* r) { trajectories.Annotate(r); };
  }
  RecordHook on_record;
  if (traj_file) {
    on_record = [&fix_commits](const fixmine::v1::Record& r) {
      if (!r.trajectory_id().empty() && r.labels().is_fix()) fix_commits.insert(r.commit());
    };
  }
  miner::WalkStats stats;
  absl::Status st = MineTo(a, walk, *format, a.repo, name, write, ctx, &stats, on_record);
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
    // Combined diffs are rendered one trajectory at a time and dropped once written.
    miner::RepoPtr git_repo;
    if (absl::Status os = miner::OpenRepository(a.repo, &git_repo); !os.ok()) {
      err << "fixmine extract: " << os.message() << "\n";
      return kExitFailed;
    }
    for (fixmine::v1::Trajectory& t : trajectories.trajectories) {
      for (const std::string& c : t.step_commits()) {
        if (fix_commits.count(c)) t.set_any_fix(true);
      }
      if (absl::Status fs = miner::FillTrajectoryFiles(git_repo.get(), rec, &t); !fs.ok()) {
        err << "fixmine extract: trajectory " << t.id() << " written without its diff: "
            << fs.message() << "\n";
      }
      ++by_steps[t.step_count()];
      auto text = ToJsonLine(t);
      if (!text.ok()) {
        err << "fixmine extract: " << text.status().message() << "\n";
        return kExitFailed;
      }
      *traj_file << *text << "\n";
      t.clear_files();
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
  if (!stats.walk_error.empty()) err << "fixmine extract: walk stopped early: " << stats.walk_error << "\n";
  return stats.walk_error.empty() ? kExitOk : kExitFailed;
}

// Writes `text` to `path` through a temporary sibling and a rename, so readers never see a
// partial file.
absl::Status WriteFileAtomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    f.flush();
    if (!f) return absl::InternalError(fmt::format("writing \"{}\" failed", tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::InternalError(fmt::format("renaming \"{}\": {}", tmp, ec.message()));
  return absl::OkStatus();
}

int RunShard(const ExtractArgs& a, CliContext* ctx) {
  std::ostream& err = *ctx->err;
  if (!a.repo.empty()) {
    err << "fixmine extract: give either a repository or --repo-list, not both\n";
    return kExitUsage;
  }
  if (!a.name.empty()) {
    err << "fixmine extract: --name does not apply to --repo-list (each repository is named "
           "after its folder)\n";
    return kExitUsage;
  }
  if (a.out_path.empty() || a.out_path == "-") {
    err << "fixmine extract: --repo-list needs --out DIR (the folder for the shard's files)\n";
    return kExitUsage;
  }
  if (a.shard_count < 1) {
    err << "fixmine extract: --repo-list needs --shard-count N (1 or more)\n";
    return kExitUsage;
  }
  int64_t index = a.shard_index;
  if (index < 0) {  // a Kubernetes Indexed Job says which pod this is
    const char* env = std::getenv("JOB_COMPLETION_INDEX");
    if (env == nullptr || *env == '\0') {
      err << "fixmine extract: --repo-list needs --shard-index I (or the environment variable "
             "JOB_COMPLETION_INDEX)\n";
      return kExitUsage;
    }
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(env, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0) {
      err << fmt::format("fixmine extract: JOB_COMPLETION_INDEX \"{}\" is not a shard index\n",
                         env);
      return kExitUsage;
    }
    index = v;
  }
  if (index >= a.shard_count) {
    err << fmt::format("fixmine extract: shard index {} must be below the shard count {}\n",
                       index, a.shard_count);
    return kExitUsage;
  }
  miner::WalkOptions walk;
  if (!ParseWalkTimes(a, &walk, err)) return kExitUsage;
  auto format = ParseRecordFormat(a.format);
  if (!format.ok()) {
    err << "fixmine extract: " << format.status().message() << "\n";
    return kExitUsage;
  }
  auto list = ReadRepoList(a.repo_list);
  if (!list.ok()) {
    err << "fixmine extract: " << list.status().message() << "\n";
    return kExitUsage;
  }

  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(a.out_path, ec);
  if (ec) {
    err << fmt::format("fixmine extract: creating \"{}\": {}\n", a.out_path, ec.message());
    return kExitFailed;
  }
  std::string stem = fmt::format("train-{}-of-{}", index, a.shard_count);
  fs::path dir(a.out_path);
  fs::path data_path = dir / (stem + ".jsonl.zst");
  fs::path done_path = dir / (stem + ".done");
  if (fs::exists(done_path, ec)) {
    err << fmt::format("fixmine extract: shard {} of {} is complete ({} exists); skipping\n",
                       index, a.shard_count, done_path.string());
    return kExitOk;
  }

  std::vector<std::string> mine;
  for (const std::string& r : *list) {
    if (static_cast<int64_t>(ShardOf(r, static_cast<uint64_t>(a.shard_count))) == index) {
      mine.push_back(r);
    }
  }
  std::string tmp_path = (dir / ("." + stem + ".jsonl.zst.tmp")).string();
  fs::path mirrors = dir / ("." + stem + ".mirrors");
  ZstdFileWriter zst;
  if (absl::Status st = zst.Open(tmp_path); !st.ok()) {
    err << "fixmine extract: " << st.message() << "\n";
    return kExitFailed;
  }
  Writer write = [&zst](std::string_view data) { return zst.Write(data); };
  int64_t records = 0, commits = 0, skipped = 0;
  auto fail = [&](const std::string& repo, const std::string& why) {
    err << fmt::format(
        "fixmine extract: shard {} of {}: repository \"{}\": {}; the shard is not marked "
        "complete, so a rerun mines it again\n",
        index, a.shard_count, repo, why);
    (void)zst.Close();
    fs::remove(tmp_path, ec);
    fs::remove_all(mirrors, ec);
    return kExitFailed;
  };
  for (size_t i = 0; i < mine.size(); ++i) {
    const std::string& source = mine[i];
    std::string name = DefaultRepoName(source);
    std::string path = source;
    if (IsRemote(source)) {  // a bare mirror for the walk, removed after it
      path = (mirrors / fmt::format("{}-{}.git", i, name)).string();
      fs::create_directories(mirrors, ec);
      if (absl::Status st = miner::CloneMirror(source, path); !st.ok()) {
        return fail(source, std::string(st.message()));
      }
    }
    miner::WalkStats stats;
    absl::Status st = MineTo(a, walk, *format, path, name, write, ctx, &stats);
    if (IsRemote(source)) fs::remove_all(path, ec);
    if (!st.ok()) return fail(source, std::string(st.message()));
    if (!stats.walk_error.empty()) return fail(source, "walk stopped early: " + stats.walk_error);
    records += stats.records;
    commits += stats.commits_walked;
    skipped += stats.commits_skipped;
  }
  fs::remove_all(mirrors, ec);
  if (absl::Status st = zst.Close(); !st.ok()) {
    err << "fixmine extract: " << st.message() << "\n";
    fs::remove(tmp_path, ec);
    return kExitFailed;
  }
  fs::rename(tmp_path, data_path, ec);
  if (ec) {
    err << fmt::format("fixmine extract: renaming \"{}\": {}\n", tmp_path, ec.message());
    return kExitFailed;
  }
  std::string done = fmt::format(
      "{{\"shard_index\":{},\"shard_count\":{},\"repos\":{},\"records\":{},\"commits\":{},"
      "\"commits_skipped\":{},\"file\":\"{}\",\"finished_at\":\"{}\"}}\n",
      index, a.shard_count, mine.size(), records, commits, skipped,
      data_path.filename().string(), FormatRfc3339(std::time(nullptr)));
  if (absl::Status st = WriteFileAtomically(done_path.string(), done); !st.ok()) {
    err << "fixmine extract: " << st.message() << "\n";
    return kExitFailed;
  }
  err << fmt::format("extract: shard {} of {}: {} repositories, {} records from {} commits -> {}\n",
                     index, a.shard_count, mine.size(), records, commits, data_path.string());
  return kExitOk;
}

}  // namespace

void RegisterExtractCommand(CLI::App* app, CliContext* ctx) {
  auto args = std::make_shared<ExtractArgs>();
  CLI::App* cmd = app->add_subcommand(
      "extract", "Mine a local repository into JSON Lines records, offline (no server)");
  cmd->add_option("repo", args->repo,
                  "path to the repository (bare or with a work tree); or use --repo-list");
  cmd->add_option("--repo-list", args->repo_list,
                  "file of repositories (paths or URLs), one a line: mine this shard's share "
                  "into --out DIR/train-I-of-N.jsonl.zst (docs/operations.md)");
  cmd->add_option("--shard-index", args->shard_index,
                  "this shard, 0 to N-1 (default: $JOB_COMPLETION_INDEX)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--shard-count", args->shard_count, "number of shards N")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--rev", args->revs,
                  "revision or range to walk (repeatable; default HEAD), e.g. main, v1..v2, ^old");
  cmd->add_flag("--all", args->all, "walk every branch and tag (all refs) plus HEAD");
  cmd->add_option("--since", args->since,
                  "only commits committed at or after this time (RFC 3339, YYYY-MM-DD, @unix)");
  cmd->add_option("--until", args->until, "only commits committed at or before this time");
  cmd->add_option("--max-commits", args->max_commits, "stop after this many records")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--out", args->out_path,
                  "write JSON Lines here instead of stdout (with --repo-list: the folder)");
  cmd->add_option("--name", args->name, "repository name stored in records (default: folder name)");
  cmd->add_option("--workers", args->workers, "threads building records (default: one per core)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--content-cap", args->content_cap,
                  "bytes of each file's pre-image to keep (default 1 MiB)")
      ->capture_default_str();
  cmd->add_flag("--new-content", args->new_content, "also include each file's post-image");
  cmd->add_option("--max-record-bytes", args->max_record_bytes,
                  "records larger than this shed file contents, then patches, largest first "
                  "(0: no budget)")
      ->capture_default_str();
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
  cmd->callback([args, ctx] {
    if (!args->repo_list.empty()) {
      ctx->exit_code = RunShard(*args, ctx);
    } else if (args->repo.empty()) {
      *ctx->err << "fixmine extract: name a repository, or --repo-list FILE\n";
      ctx->exit_code = kExitUsage;
    } else {
      ctx->exit_code = RunExtract(*args, ctx);
    }
  });
}

}  // namespace fixmine::client
