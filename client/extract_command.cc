// `fixmine extract`: mines a repository, or this shard's share of a repository list, into JSON
// Lines with no server. The mining sequence is pipeline::MineRepository's; this file holds the
// command's spec (flags and their defaults) and its sinks (files).
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
#include <thread>
#include <tuple>

#include "CLI/CLI.hpp"
#include "client/cli.h"
#include "client/command.h"
#include "client/shard.h"
#include "client/zstd_writer.h"
#include "common/formats.h"
#include "common/json.h"
#include "common/record_json.h"
#include "common/status.h"
#include "common/time.h"
#include "curation/curate.h"
#include "curation/decontam.h"
#include "curation/quality.h"
#include "fmt/format.h"
#include "miner/walk.h"
#include "pipeline/benchmarks.h"
#include "pipeline/mine_repository.h"
#include "pipeline/repo_identity.h"
#include "pipeline/worker.h"

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
  std::string format = "raw";    // export template (docs/formats.md)
  std::string trajectories_out;  // pull-request trajectories as JSON Lines (docs/trajectories.md)
  // Curation policies (docs/curation.md); empty: the mode's default (pipeline::kFidelityPolicies
  // for one repository, pipeline::kServerPolicies for --repo-list).
  std::string email_policy;
  std::string secrets;
  // Which records get bug-introducing commits by blame (docs/trajectories.md). Off by default
  // for one repository: blame costs about 20x the rest of a record, and extract is the fast
  // path.
  std::string szz;
  std::string trajectories;
  std::vector<std::string> bots;
  // Only records the preset keeps are written (docs/curation.md "Presets"); empty: all.
  std::string preset;
  // Benchmarks, "NAME=FILE" (repeatable), read as `fixmine bench add` reads its files.
  std::vector<std::string> bench;
  std::string bench_field = "canonical_solution";
  int bench_ngram = curation::kDefaultNgram;
  bool include_contaminated = false;
  // Sharded mode (--repo-list): docs/operations.md "Scaling out".
  std::string repo_list;
  int64_t shard_index = -1;  // -1: from JOB_COMPLETION_INDEX
  int64_t shard_count = 0;
  bool strict = false;  // a repository that fails fails the shard
  int retries = 2;      // further clone attempts of a remote after a transient failure
};

// The policies of one run, resolved from the flags and the mode's defaults.
struct Policies {
  miner::RecordOptions record;  // without repo_name
  bool trajectories = false;
  std::string preset;
  bool include_contaminated = false;
  std::shared_ptr<const curation::NgramIndex> bench;  // null: no benchmark
};

// Resolves the policy flags of `a` over `defaults`; false (after a message) on a bad value.
bool ResolvePolicies(const ExtractArgs& a, const pipeline::PolicyDefaults& defaults, Policies* p,
                     std::ostream& err) {
  auto pick = [](const std::string& flag, std::string_view def) {
    return flag.empty() ? std::string(def) : flag;
  };
  miner::RecordOptions& rec = p->record;
  rec.content_cap = a.content_cap;
  rec.max_record_bytes = a.max_record_bytes;
  rec.include_new_content = a.new_content;
  rec.szz.mode = *miner::ParseSzzMode(pick(a.szz, defaults.szz));  // checked by CLI11
  rec.curation.email = *curation::ParseEmailPolicy(pick(a.email_policy, defaults.email_policy));
  rec.curation.secrets = *curation::ParseSecretsPolicy(pick(a.secrets, defaults.secrets));
  rec.curation.extra_bots = a.bots;
  p->trajectories = pick(a.trajectories, defaults.trajectories) == "on";
  p->preset = a.preset;
  p->include_contaminated = a.include_contaminated;
  if (!a.preset.empty() && !curation::IsPreset(a.preset)) {
    err << fmt::format("fixmine extract: preset \"{}\" is unknown; known presets: {}, {}\n",
                       a.preset, curation::kPresetDefault, curation::kPresetCommitPackFt);
    return false;
  }
  if (a.bench.empty()) return true;
  if (a.bench_ngram < 5 || a.bench_ngram > 50) {
    err << fmt::format("fixmine extract: --bench-ngram {} is out of range; use 5 to 50\n",
                       a.bench_ngram);
    return false;
  }
  std::map<std::string, std::vector<std::string>> files;  // benchmark -> its files
  for (const std::string& spec : a.bench) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      err << fmt::format("fixmine extract: --bench \"{}\" is not NAME=FILE\n", spec);
      return false;
    }
    files[spec.substr(0, eq)].push_back(spec.substr(eq + 1));
  }
  auto index = std::make_shared<curation::NgramIndex>();
  for (const auto& [name, paths] : files) {
    auto items = pipeline::ReadBenchmarkItems(paths, a.bench_field);
    if (!items.ok()) {
      err << "fixmine extract: --bench " << name << ": " << items.status().message() << "\n";
      return false;
    }
    if (items->empty()) {
      err << fmt::format("fixmine extract: benchmark \"{}\" has no items\n", name);
      return false;
    }
    fixmine::v1::Benchmark b;
    b.set_name(name);
    b.set_ngram(a.bench_ngram);
    for (auto& item : *items) *b.add_items() = std::move(item);
    pipeline::IndexBenchmark(b, index.get());
  }
  p->bench = std::move(index);
  return true;
}

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

// The pipeline spec of one repository at `path` named `name`.
pipeline::MiningSpec SpecFor(const miner::WalkOptions& walk, const Policies& p,
                             const std::string& path, const std::string& name) {
  pipeline::MiningSpec spec;
  spec.path = path;
  spec.walk = walk;
  spec.record = p.record;
  spec.record.repo_name = name;
  spec.trajectories = p.trajectories;
  spec.fixed_by_from_walk = true;  // no store to link fixes to their bugs
  if (p.bench != nullptr) {
    spec.decontaminate = [index = p.bench](fixmine::v1::Record* r) { index->Check(r); };
  }
  return spec;
}

// Receives encoded bytes in order.
using Writer = std::function<absl::Status(std::string_view)>;

// Counters of what a FileSink wrote and left out.
struct FileCounts {
  int64_t records = 0;         // records written
  int64_t contaminated = 0;    // left out: contaminated by a benchmark
  int64_t preset_dropped = 0;  // left out: dropped by --preset
  int64_t trajectories = 0;
};

// extract's sink: records encoded on the worker threads as --format asks, those the preset
// drops or a benchmark contaminates left out (and counted), the rest written in walk order;
// trajectories as JSON Lines to `trajectories` (may be empty: then not written).
class FileSink : public pipeline::MiningSink {
 public:
  FileSink(const ExtractArgs& a, const Policies& p, RecordFormat format, std::string name,
           Writer records, Writer trajectories, std::ostream* err)
      : a_(a),
        p_(p),
        format_(format),
        name_(std::move(name)),
        write_(std::move(records)),
        write_trajectories_(std::move(trajectories)),
        err_(*err) {}

  bool Encodes() const override { return true; }

  absl::Status Encode(const fixmine::v1::Record& r, std::string* line) override {
    if (!Keep(r)) return absl::OkStatus();
    if (format_ != RecordFormat::kRaw) {  // rows of the template, one per line (maybe none)
      std::vector<std::string> rows;
      FIXMINE_RETURN_IF_ERROR(RenderRecord(r, format_, &rows));
      line->clear();
      for (const auto& row : rows) {
        line->append(row);
        line->push_back('\n');
      }
      return absl::OkStatus();
    }
    if (a_.proto_json || !AppendRecordJson(r, line)) {  // not UTF-8: protobuf's own printer
      auto text = ToJsonLine(r);
      if (!text.ok()) return text.status();
      *line = std::move(*text);
    }
    line->push_back('\n');
    return absl::OkStatus();
  }

  absl::Status Put(fixmine::v1::Record&& r, std::string&& line, const miner::WalkStats&) override {
    if (!Keep(r)) {
      ++(r.contamination_size() > 0 && !p_.include_contaminated ? counts_.contaminated
                                                                : counts_.preset_dropped);
      return absl::OkStatus();
    }
    ++counts_.records;
    if (line.size() >= (64 << 10)) {  // large lines go out as they are, without a copy
      if (!buf_.empty()) FIXMINE_RETURN_IF_ERROR(Write(buf_));
      buf_.clear();
      return Write(line);
    }
    buf_.append(line);
    if (buf_.size() > (1 << 20)) {
      FIXMINE_RETURN_IF_ERROR(Write(buf_));
      buf_.clear();
    }
    return absl::OkStatus();
  }

  void Progress(const miner::WalkStats& s) override {
    auto now = std::chrono::steady_clock::now();
    if (a_.quiet || now - last_progress_ < std::chrono::seconds(2)) return;
    last_progress_ = now;
    err_ << fmt::format("extract: {}: {} records, {} commits walked, {:.1f} s\n", name_, s.records,
                        s.commits_walked, Seconds());
  }

  absl::Status FlushRecords(const miner::WalkStats&) override {
    if (buf_.empty()) return absl::OkStatus();
    absl::Status st = Write(buf_);
    buf_.clear();
    return st;
  }

  absl::Status PutTrajectories(std::vector<fixmine::v1::Trajectory>* group) override {
    if (!write_trajectories_) return absl::OkStatus();
    std::string text;
    for (fixmine::v1::Trajectory& t : *group) {
      auto line = ToJsonLine(t);
      if (!line.ok()) return line.status();
      text.append(*line);
      text.push_back('\n');
      ++counts_.trajectories;
    }
    absl::Status st = write_trajectories_(text);
    if (!st.ok()) write_failed_ = true;
    return st;
  }

  void Warn(const std::string& message) override {
    err_ << "fixmine extract: " << name_ << ": " << message << "\n";
  }

  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  const FileCounts& counts() const { return counts_; }
  // True when writing an output file failed (not the repository's fault).
  bool write_failed() const { return write_failed_; }

 private:
  bool Keep(const fixmine::v1::Record& r) const {
    if (r.contamination_size() > 0 && !p_.include_contaminated) return false;
    return p_.preset.empty() || curation::PassesPreset(r, p_.preset);
  }
  absl::Status Write(std::string_view data) {
    absl::Status st = write_(data);
    if (!st.ok()) write_failed_ = true;
    return st;
  }

  const ExtractArgs& a_;
  const Policies& p_;
  RecordFormat format_;
  std::string name_;
  Writer write_;
  Writer write_trajectories_;
  std::ostream& err_;
  std::string buf_;
  FileCounts counts_;
  bool write_failed_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_progress_ = start_;
};

// The summary lines of one mined repository on stderr (unless --quiet); skipped commits always.
void Report(const ExtractArgs& a, const std::string& name, const pipeline::MiningResult& r,
            const FileSink& sink, std::ostream& err) {
  const miner::WalkStats& s = r.stats;
  for (const auto& e : s.errors) err << "fixmine extract: " << name << ": skipped: " << e << "\n";
  for (const auto& e : r.trajectory_stats.errors) {
    err << "fixmine extract: " << name << ": trajectory skipped: " << e << "\n";
  }
  if (a.quiet) return;
  const FileCounts& c = sink.counts();
  std::string left_out;
  if (c.contaminated > 0) left_out += fmt::format("; {} contaminated left out", c.contaminated);
  if (c.preset_dropped > 0) {
    left_out += fmt::format("; {} dropped by preset {}", c.preset_dropped, a.preset);
  }
  err << fmt::format(
      "extract: {}: {} records ({} files, {} unavailable) from {} commits walked; {} merges, "
      "{} skipped{}; {:.2f} s\n",
      name, c.records, s.files, s.unavailable_files, s.commits_walked,
      s.merges_skipped + s.merge_resolutions, s.commits_skipped, left_out, sink.Seconds());
  if (r.trajectories > 0 || r.trajectory_stats.merges > 0) {
    const miner::TrajectoryStats& t = r.trajectory_stats;
    std::string dist;
    for (auto [steps, n] : r.trajectories_by_steps) dist += fmt::format(" {}:{}", steps, n);
    err << fmt::format(
        "extract: {}: {} trajectories ({} squash) from {} merges ({} octopus); {} branches "
        "without steps, {} only nested, {} nested steps, {} skipped; steps:count{}\n",
        name, r.trajectories, t.squashes, t.merges, t.octopus_merges, t.branches_without_steps,
        t.branches_all_nested, t.nested_steps, t.skipped, dist);
  }
}

bool IsUsageError(const absl::Status& st) {
  return st.code() == absl::StatusCode::kNotFound ||
         st.code() == absl::StatusCode::kInvalidArgument;
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
  Policies policies;
  if (!ResolvePolicies(a, pipeline::kFidelityPolicies, &policies, err)) return kExitUsage;
  if (!a.trajectories_out.empty()) {
    if (a.trajectories == "off") {
      err << "fixmine extract: --trajectories-out needs the trajectory pass; drop "
             "--trajectories off\n";
      return kExitUsage;
    }
    policies.trajectories = true;
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
  std::unique_ptr<std::ofstream> traj_file;
  Writer write_trajectories;
  if (!a.trajectories_out.empty()) {
    traj_file =
        std::make_unique<std::ofstream>(a.trajectories_out, std::ios::binary | std::ios::trunc);
    if (!*traj_file) {
      err << fmt::format("fixmine extract: cannot write \"{}\"\n", a.trajectories_out);
      return kExitFailed;
    }
    write_trajectories = [f = traj_file.get()](std::string_view data) -> absl::Status {
      f->write(data.data(), static_cast<std::streamsize>(data.size()));
      if (!*f) return absl::DataLossError("writing trajectories failed (disk full?)");
      return absl::OkStatus();
    };
  }
  std::string name = a.name;
  if (name.empty()) name = pipeline::DefaultRepositoryName(a.repo);
  if (name.empty()) name = "repo";
  FileSink sink(a, policies, *format, name, write, write_trajectories, &err);
  pipeline::MiningResult result;
  absl::Status st = pipeline::MineRepository(SpecFor(walk, policies, a.repo, name), &sink, &result);
  out->flush();
  if (!st.ok()) {
    err << "fixmine extract: " << st.message() << "\n";
    return IsUsageError(st) && !sink.write_failed() ? kExitUsage : kExitFailed;
  }
  if (!*out) {
    err << "fixmine extract: writing records failed\n";
    return kExitFailed;
  }
  if (traj_file) {
    traj_file->flush();
    if (!*traj_file) {
      err << "fixmine extract: writing trajectories failed\n";
      return kExitFailed;
    }
  }
  Report(a, name, result, sink, err);
  if (!result.stats.walk_error.empty()) {
    err << "fixmine extract: walk stopped early: " << result.stats.walk_error << "\n";
  }
  return result.stats.walk_error.empty() ? kExitOk : kExitFailed;
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

// A clone failure worth another try: libgit2's network and transport errors come as INTERNAL
// (or UNKNOWN); a missing repository, the size and time limits and bad URLs do not.
bool Transient(const absl::Status& st) {
  return st.code() == absl::StatusCode::kInternal || st.code() == absl::StatusCode::kUnknown ||
         st.code() == absl::StatusCode::kUnavailable;
}

// What one repository of a shard gave.
struct RepoOutcome {
  RepoEntry entry;
  std::string error;  // empty: mined whole
  int64_t records = 0, commits = 0, commits_skipped = 0, contaminated = 0, preset_dropped = 0,
          trajectories = 0;
  int attempts = 0;
};

std::string Quote(std::string_view s) {
  std::string out;
  AppendValidJsonString(s, &out);
  return out;
}

int RunShard(const ExtractArgs& a, CliContext* ctx) {
  std::ostream& err = *ctx->err;
  if (!a.repo.empty()) {
    err << "fixmine extract: give either a repository or --repo-list, not both\n";
    return kExitUsage;
  }
  if (!a.name.empty()) {
    err << "fixmine extract: --name does not apply to --repo-list (write \"SOURCE NAME\" on a "
           "line to name a repository)\n";
    return kExitUsage;
  }
  if (!a.trajectories_out.empty()) {
    err << "fixmine extract: --trajectories-out does not apply to --repo-list (each shard writes "
           "train-I-of-N.trajectories.jsonl.zst; --trajectories off turns it off)\n";
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
  // A Slurm array task or a Kubernetes Indexed Job pod says which shard it is.
  auto resolved = ResolveShardIndex(a.shard_index);
  if (!resolved.ok()) {
    err << "fixmine extract: --repo-list: " << resolved.status().message() << "\n";
    return kExitUsage;
  }
  int64_t index = *resolved;
  if (index >= a.shard_count) {
    err << fmt::format("fixmine extract: shard index {} must be below the shard count {}\n", index,
                       a.shard_count);
    return kExitUsage;
  }
  miner::WalkOptions walk;
  if (!ParseWalkTimes(a, &walk, err)) return kExitUsage;
  auto format = ParseRecordFormat(a.format);
  if (!format.ok()) {
    err << "fixmine extract: " << format.status().message() << "\n";
    return kExitUsage;
  }
  Policies policies;
  if (!ResolvePolicies(a, pipeline::kServerPolicies, &policies, err)) return kExitUsage;
  auto lines = ReadRepoList(a.repo_list);
  if (!lines.ok()) {
    err << "fixmine extract: " << lines.status().message() << "\n";
    return kExitUsage;
  }
  auto list = ResolveRepoList(*lines);
  if (!list.ok()) {
    err << "fixmine extract: " << a.repo_list << ": " << list.status().message() << "\n";
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
  fs::path traj_path = dir / (stem + ".trajectories.jsonl.zst");
  fs::path done_path = dir / (stem + ".done");
  if (fs::exists(done_path, ec)) {
    err << fmt::format("fixmine extract: shard {} of {} is complete ({} exists); skipping\n", index,
                       a.shard_count, done_path.string());
    return kExitOk;
  }

  std::vector<RepoEntry> mine;
  for (const RepoEntry& r : *list) {
    if (static_cast<int64_t>(ShardOf(r.source, static_cast<uint64_t>(a.shard_count))) == index) {
      mine.push_back(r);
    }
  }
  std::string tmp_path = (dir / ("." + stem + ".jsonl.zst.tmp")).string();
  std::string traj_tmp_path = (dir / ("." + stem + ".trajectories.jsonl.zst.tmp")).string();
  fs::path mirrors = dir / ("." + stem + ".mirrors");
  ZstdFileWriter zst;
  ZstdFileWriter traj_zst;
  auto discard = [&] {
    (void)zst.Close();
    (void)traj_zst.Close();
    fs::remove(tmp_path, ec);
    fs::remove(traj_tmp_path, ec);
    fs::remove_all(mirrors, ec);
  };
  if (absl::Status st = zst.Open(tmp_path); !st.ok()) {
    err << "fixmine extract: " << st.message() << "\n";
    return kExitFailed;
  }
  if (policies.trajectories) {
    if (absl::Status st = traj_zst.Open(traj_tmp_path); !st.ok()) {
      err << "fixmine extract: " << st.message() << "\n";
      discard();
      return kExitFailed;
    }
  }
  Writer write = [&zst](std::string_view data) { return zst.Write(data); };
  Writer write_trajectories;
  if (policies.trajectories) {
    write_trajectories = [&traj_zst](std::string_view data) { return traj_zst.Write(data); };
  }
  std::vector<RepoOutcome> outcomes;
  for (size_t i = 0; i < mine.size(); ++i) {
    RepoOutcome& o = outcomes.emplace_back();
    o.entry = mine[i];
    const std::string& source = o.entry.source;
    const std::string& name = o.entry.name;
    pipeline::MiningSpec spec = SpecFor(walk, policies, source, name);
    bool remote = pipeline::IsRemoteSource(source);
    if (remote) {  // a bare mirror for the walk, removed after it
      spec.url = source;
      spec.path = (mirrors / fmt::format("{}.git", i)).string();
    }
    FileSink sink(a, policies, *format, name, write, write_trajectories, &err);
    pipeline::MiningResult result;
    absl::Status st;
    for (int attempt = 0;; ++attempt) {
      ++o.attempts;
      // In a sandboxed worker process, as fixmined's jobs (docs/security.md, "The mining
      // worker"): a repository that hangs or crashes libgit2 fails its own entry only.
      pipeline::WorkerRun run;
      st = pipeline::MineInWorker(spec, pipeline::WorkerOptions(), &sink, &result, &run);
      if (!run.landlocked && !run.sandbox.empty() && !a.quiet) {
        err << fmt::format("fixmine extract: {}: mining worker ran without Landlock: {}\n", source,
                           run.sandbox);
      }
      // Only a failure before the walk is retried: nothing of the repository was written yet.
      if (st.ok() || result.walked || !remote || !Transient(st) || attempt >= a.retries) break;
      int delay = 1 << attempt;  // 1, 2, 4, ... seconds
      err << fmt::format("fixmine extract: {}: {}; retrying in {} s ({} of {})\n", source,
                         std::string(st.message()), delay, attempt + 1, a.retries);
      std::this_thread::sleep_for(std::chrono::seconds(delay));
    }
    if (remote) fs::remove_all(spec.path, ec);
    if (sink.write_failed()) {
      err << fmt::format(
          "fixmine extract: shard {} of {}: writing the shard's files failed: {}; the shard is "
          "not marked complete, so a rerun mines it again\n",
          index, a.shard_count, std::string(st.message()));
      discard();
      return kExitFailed;
    }
    if (st.ok()) Report(a, name, result, sink, err);
    if (!st.ok()) {
      o.error = std::string(st.message());
    } else if (!result.stats.walk_error.empty()) {
      o.error = "walk stopped early: " + result.stats.walk_error;
    }
    const FileCounts& c = sink.counts();
    o.records = c.records;
    o.contaminated = c.contaminated;
    o.preset_dropped = c.preset_dropped;
    o.trajectories = c.trajectories;
    o.commits = result.stats.commits_walked;
    o.commits_skipped = result.stats.commits_skipped;
    if (!o.error.empty()) {
      err << fmt::format("fixmine extract: shard {} of {}: repository \"{}\": {}\n", index,
                         a.shard_count, source, o.error);
      if (a.strict) {
        err << "fixmine extract: --strict: the shard is not marked complete, so a rerun mines "
               "it again\n";
        discard();
        return kExitFailed;
      }
    }
  }
  fs::remove_all(mirrors, ec);
  for (auto [w, tmp, final_path] : {std::tuple{&zst, &tmp_path, &data_path},
                                    std::tuple{&traj_zst, &traj_tmp_path, &traj_path}}) {
    if (w == &traj_zst && !policies.trajectories) continue;
    if (absl::Status st = w->Close(); !st.ok()) {
      err << "fixmine extract: " << st.message() << "\n";
      discard();
      return kExitFailed;
    }
    fs::rename(*tmp, *final_path, ec);
    if (ec) {
      err << fmt::format("fixmine extract: renaming \"{}\": {}\n", *tmp, ec.message());
      return kExitFailed;
    }
  }
  int64_t records = 0, commits = 0, skipped = 0, contaminated = 0, dropped = 0, trajectories = 0;
  std::string repos_json, failed_json;
  for (const RepoOutcome& o : outcomes) {
    records += o.records;
    commits += o.commits;
    skipped += o.commits_skipped;
    contaminated += o.contaminated;
    dropped += o.preset_dropped;
    trajectories += o.trajectories;
    if (!repos_json.empty()) repos_json += ",";
    repos_json += fmt::format(
        "{{\"repo\":{},\"source\":{},\"records\":{},\"commits\":{},\"commits_skipped\":{},"
        "\"contaminated\":{},\"dropped_by_preset\":{},\"trajectories\":{},\"attempts\":{},"
        "\"ok\":{}}}",
        Quote(o.entry.name), Quote(o.entry.source), o.records, o.commits, o.commits_skipped,
        o.contaminated, o.preset_dropped, o.trajectories, o.attempts,
        o.error.empty() ? "true" : "false");
    if (o.error.empty()) continue;
    if (!failed_json.empty()) failed_json += ",";
    failed_json += fmt::format("{{\"repo\":{},\"source\":{},\"error\":{}}}", Quote(o.entry.name),
                               Quote(o.entry.source), Quote(o.error));
  }
  std::string traj_file_json =
      policies.trajectories ? Quote(traj_path.filename().string()) : std::string("null");
  std::string done = fmt::format(
      "{{\"shard_index\":{},\"shard_count\":{},\"repos\":{},\"records\":{},\"commits\":{},"
      "\"commits_skipped\":{},\"contaminated\":{},\"dropped_by_preset\":{},\"trajectories\":{},"
      "\"file\":{},\"trajectories_file\":{},\"failed\":[{}],\"per_repo\":[{}],"
      "\"finished_at\":\"{}\"}}\n",
      index, a.shard_count, mine.size(), records, commits, skipped, contaminated, dropped,
      trajectories, Quote(data_path.filename().string()), traj_file_json, failed_json, repos_json,
      FormatRfc3339(std::time(nullptr)));
  if (absl::Status st = WriteFileAtomically(done_path.string(), done); !st.ok()) {
    err << "fixmine extract: " << st.message() << "\n";
    return kExitFailed;
  }
  size_t failures = 0;
  for (const RepoOutcome& o : outcomes) failures += !o.error.empty();
  err << fmt::format(
      "extract: shard {} of {}: {} repositories ({} failed), {} records from {} commits, {} "
      "contaminated left out -> {}\n",
      index, a.shard_count, mine.size(), failures, records, commits, contaminated,
      data_path.string());
  return kExitOk;
}

// `fixmine extract`: its options and the choice between one repository and a shard.
class Extract : public Command {
 public:
  Extract()
      : Command("extract", "Mine a local repository into JSON Lines records, offline (no server)") {
  }
  void AddOptions(CLI::App* cmd) override {
    ExtractArgs* args = &args_;
    cmd->footer(
        "Curation defaults: on one repository, git fidelity (--email-policy keep, --secrets flag, "
        "--szz off, no trajectory pass unless --trajectories-out); with --repo-list, fixmined's "
        "(--email-policy hash, --secrets redact, --szz fixes, --trajectories on), so the shards "
        "hold the records the server would stream. docs/operations.md \"Scale out\".");
    cmd->add_option("repo", args->repo,
                    "path to the repository (bare or with a work tree); or use --repo-list");
    cmd->add_option(
        "--repo-list", args->repo_list,
        "file of repositories, one a line (PATH or URL, optionally followed by a NAME): "
        "mine this shard's share into --out DIR/train-I-of-N.jsonl.zst with fixmined's "
        "curation (docs/operations.md)");
    cmd->add_option(
           "--shard-index", args->shard_index,
           "this shard, 0 to N-1 (default: $SLURM_ARRAY_TASK_ID, else $JOB_COMPLETION_INDEX)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--shard-count", args->shard_count, "number of shards N")
        ->check(CLI::PositiveNumber);
    cmd->add_option(
        "--rev", args->revs,
        "revision or range to walk (repeatable; default HEAD), e.g. main, v1..v2, ^old");
    cmd->add_flag("--all", args->all,
                  "walk every branch and tag plus HEAD (never refs/pull/* or other hidden refs; "
                  "a --rev glob such as 'refs/pull/*/head' walks those)");
    cmd->add_option("--since", args->since,
                    "only commits committed at or after this time (RFC 3339, YYYY-MM-DD, @unix)");
    cmd->add_option("--until", args->until, "only commits committed at or before this time");
    cmd->add_option("--max-commits", args->max_commits, "stop after this many records")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--out", args->out_path,
                    "write JSON Lines here instead of stdout (with --repo-list: the folder)");
    cmd->add_option("--name", args->name,
                    "repository name stored in records (default: folder name; with --repo-list "
                    "a line's NAME)");
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
    // Curation: the same flags as fixmined; defaults by mode (docs/operations.md "Scaling out").
    const std::string policies =
        "Curation (defaults: one repository keeps git fidelity; "
        "--repo-list uses fixmined's)";
    cmd->add_option("--email-policy", args->email_policy,
                    "author and committer e-mails: keep, hash or drop (default: keep; with "
                    "--repo-list hash, as fixmined)")
        ->check(CLI::IsMember({"keep", "hash", "drop"}))
        ->group(policies);
    cmd->add_option("--secrets", args->secrets,
                    "secrets found in added lines and pre-images: redact or flag (default: flag; "
                    "with --repo-list redact, as fixmined)")
        ->check(CLI::IsMember({"redact", "flag"}))
        ->group(policies);
    cmd->add_option("--szz", args->szz,
                    "bug-introducing commits (SZZ blame) for: fixes, all or off (default: off; "
                    "with --repo-list fixes, as fixmined; docs/trajectories.md)")
        ->check(CLI::IsMember({"fixes", "all", "off"}))
        ->group(policies);
    cmd->add_option("--trajectories", args->trajectories,
                    "find pull-request trajectories and fill the step records' trajectory fields: "
                    "on or off (default: on with --trajectories-out; with --repo-list on, as "
                    "fixmined, written to train-I-of-N.trajectories.jsonl.zst)")
        ->check(CLI::IsMember({"on", "off"}))
        ->group(policies);
    cmd->add_option("--bot", args->bots,
                    "authors whose name or e-mail contains this are bots (repeatable)")
        ->group(policies);
    cmd->add_option("--preset", args->preset,
                    "write only the records this curation preset keeps: default or commitpackft "
                    "(docs/curation.md)")
        ->group(policies);
    cmd->add_option("--bench", args->bench,
                    "benchmark NAME=FILE (repeatable): records whose code shares an n-gram with "
                    "an item are contaminated and left out; FILE as in `fixmine bench add`")
        ->group(policies);
    cmd->add_option("--bench-field", args->bench_field,
                    "field holding the text in .jsonl benchmark lines")
        ->capture_default_str()
        ->group(policies);
    cmd->add_option("--bench-ngram", args->bench_ngram, "benchmark n-gram size in tokens, 5 to 50")
        ->capture_default_str()
        ->group(policies);
    cmd->add_flag("--include-contaminated", args->include_contaminated,
                  "also write records a --bench benchmark contaminates (labelled)")
        ->group(policies);
    cmd->add_flag("--strict", args->strict,
                  "with --repo-list: a repository that cannot be cloned, opened or walked fails "
                  "the shard (default: it is named in the .done marker's \"failed\")");
    cmd->add_option("--retries", args->retries,
                    "with --repo-list: further attempts at a remote whose clone failed on the "
                    "network, 1 s, 2 s, 4 s ... apart")
        ->capture_default_str()
        ->check(CLI::Range(0, 10));
    cmd->add_flag("-q,--quiet", args->quiet, "no progress or summary on stderr");
    cmd->add_option("--format", args->format,
                    "template: raw, commitpack, chat, sharegpt, swe, datatrove (docs/formats.md)")
        ->capture_default_str();
    cmd->add_option("--trajectories-out", args->trajectories_out,
                    "also write the pull-request trajectories as JSON Lines here "
                    "(docs/trajectories.md)");
    // Same bytes through protobuf's JSON printer (slower); kept to check the fast writer.
    cmd->add_flag("--proto-json", args->proto_json, "")->group("");
  }
  int Run(CliContext& ctx) override {
    if (!args_.repo_list.empty()) return RunShard(args_, &ctx);
    if (args_.repo.empty()) {
      *ctx.err << "fixmine extract: name a repository, or --repo-list FILE\n";
      return kExitUsage;
    }
    return RunExtract(args_, &ctx);
  }

 private:
  ExtractArgs args_;
};

}  // namespace

std::unique_ptr<Command> NewExtractCommand() { return std::make_unique<Extract>(); }

}  // namespace fixmine::client
