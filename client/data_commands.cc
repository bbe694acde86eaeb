// `fixmine records export` (sharded, compressed JSON Lines for Hugging Face datasets) and
// `fixmine records session create|read` (parallel read sessions). docs/formats.md, docs/api.md.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/time/clock.h"
#include "client/cli.h"
#include "client/fixmine_client.h"
#include "client/zstd_writer.h"
#include "common/formats.h"
#include "common/json.h"
#include "common/record_json.h"
#include "common/sampling.h"
#include "common/time.h"
#include "fmt/format.h"
#include "google/protobuf/struct.pb.h"

#ifndef FIXMINE_VERSION
#define FIXMINE_VERSION "unknown"
#endif

namespace fixmine::client {
namespace {

namespace fs = std::filesystem;

// --sample / --seed as given.
struct SampleArgs {
  double rate = 0;
  bool given = false;
  uint64_t seed = 0;
  double wire_rate() const { return given ? rate : 0; }
};

void AddSampleOptions(CLI::App* cmd, SampleArgs* s) {
  cmd->add_option_function<double>(
      "--sample",
      [s](double rate) {
        s->rate = rate;
        s->given = true;
      },
      "keep a deterministic sample of this share of the records, 0 < RATE <= 1");
  cmd->add_option("--seed", s->seed, "seed of --sample (default 0)");
}

// Checks --format and --sample before any call; prints the problem and returns false.
bool CheckFormatAndSample(CliContext* ctx, std::string_view what, const std::string& format,
                          const SampleArgs& s) {
  auto f = ParseRecordFormat(format);
  if (!f.ok()) {
    *ctx->err << "fixmine " << what << ": " << f.status().message() << "\n";
    return false;
  }
  if (s.given) {
    absl::Status st = ValidateSampleRate(s.rate);
    if (!st.ok()) {
      *ctx->err << "fixmine " << what << ": --sample: " << st.message() << "\n";
      return false;
    }
  }
  return true;
}

std::string ShardName(int64_t index, int64_t count) {
  return fmt::format("train-{:05d}-of-{:05d}.jsonl.zst", index, count);
}

struct ExportArgs {
  std::string format = "raw";
  std::string filter;
  std::string preset;
  bool include_contaminated = false;
  std::string out_dir;
  int64_t shard_records = 100000;
  SampleArgs sample;
  bool overwrite = false;
  bool quiet = false;
};

struct ShardInfo {
  std::string file;
  int64_t records = 0;
  int64_t rows = 0;
  uint64_t bytes = 0;
};

int RunExport(CliContext* ctx, const ExportArgs& a) {
  std::ostream& err = *ctx->err;
  if (!CheckFormatAndSample(ctx, "records export", a.format, a.sample)) return kExitUsage;
  RecordFormat format = *ParseRecordFormat(a.format);
  if (a.shard_records <= 0) {
    err << "fixmine records export: --shard-records must be at least 1\n";
    return kExitUsage;
  }
  std::error_code ec;
  fs::create_directories(a.out_dir, ec);
  if (ec) {
    err << fmt::format("fixmine records export: creating \"{}\": {}\n", a.out_dir, ec.message());
    return kExitFailed;
  }
  // Shards of an earlier export would be picked up by a data_files glob: refuse to mix.
  std::vector<fs::path> stale;
  for (const auto& entry : fs::directory_iterator(a.out_dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name == "manifest.json" || (name.starts_with("train-") && name.ends_with(".jsonl.zst"))) {
      stale.push_back(entry.path());
    }
  }
  if (!stale.empty() && !a.overwrite) {
    err << fmt::format(
        "fixmine records export: \"{}\" already holds an export ({}); pass --overwrite to "
        "replace it, or choose another --out\n",
        a.out_dir, stale.front().filename().string());
    return kExitUsage;
  }
  for (const auto& p : stale) fs::remove(p, ec);

  FixmineClient c(ctx->server, ConnectionOf(*ctx));
  fixmine::v1::CountRecordsRequest count_req;
  count_req.set_filter(a.filter);
  count_req.set_preset(a.preset);
  count_req.set_include_contaminated(a.include_contaminated);
  count_req.set_sample_rate(a.sample.wire_rate());
  count_req.set_sample_seed(a.sample.seed);
  auto counted = c.CountRecords(count_req);
  if (!counted.ok()) return ReportCallFailure(ctx, "records export", counted.status());
  // The shard count is part of every file name, so it is fixed from the count up front;
  // records stored after the count go into the last shard.
  int64_t expected = counted->count();
  int64_t shards = std::max<int64_t>(1, (expected + a.shard_records - 1) / a.shard_records);
  std::vector<ShardInfo> infos(static_cast<size_t>(shards));
  for (int64_t i = 0; i < shards; ++i) infos[static_cast<size_t>(i)].file = ShardName(i, shards);

  int64_t current = -1;
  std::unique_ptr<ZstdFileWriter> writer;
  uint64_t written_before = 0;  // compressed bytes of the shards already closed
  auto close_shard = [&]() -> absl::Status {
    if (writer == nullptr) return absl::OkStatus();
    absl::Status st = writer->Close();
    infos[static_cast<size_t>(current)].bytes = writer->bytes_out();
    written_before += writer->bytes_out();
    writer.reset();
    return st;
  };
  auto open_shard = [&](int64_t index) -> absl::Status {
    absl::Status st = close_shard();
    if (!st.ok()) return st;
    current = index;
    writer = std::make_unique<ZstdFileWriter>();
    return writer->Open((fs::path(a.out_dir) / infos[static_cast<size_t>(index)].file).string());
  };
  absl::Status st = open_shard(0);
  if (!st.ok()) return ReportCallFailure(ctx, "records export", st);

  auto start = std::chrono::steady_clock::now();
  auto last_draw = start - std::chrono::seconds(1);
  int64_t done = 0;
  auto draw = [&](bool final) {
    if (a.quiet) return;
    auto now = std::chrono::steady_clock::now();
    if (!final && now - last_draw < std::chrono::milliseconds(200)) return;
    last_draw = now;
    double frac = expected > 0 ? std::min(1.0, static_cast<double>(done) / expected) : 1.0;
    int filled = static_cast<int>(frac * 30);
    uint64_t bytes = written_before + (writer ? writer->bytes_out() : 0);
    err << fmt::format("\rexport [{}{}] {:3.0f}% {}/{} records, shard {}/{}, {:.1f} MB",
                       std::string(filled, '#'), std::string(30 - filled, ' '), frac * 100, done,
                       expected, current + 1, shards, bytes / 1e6)
        << (final ? "\n" : "") << std::flush;
  };

  fixmine::v1::StreamRecordsRequest req;
  req.set_filter(a.filter);
  req.set_preset(a.preset);
  req.set_include_contaminated(a.include_contaminated);
  req.set_sample_rate(a.sample.wire_rate());
  req.set_sample_seed(a.sample.seed);
  // Raw records, rendered here: a shard boundary must fall between records (commitpack makes
  // several rows of one), and rendering on the client spreads that work over the readers.
  std::string buf;
  std::vector<std::string> rows;
  absl::Status write_error;
  for (int attempt = 0;; ++attempt) {
    st = c.StreamRecords(req, [&](const fixmine::v1::StreamRecordsResponse& resp) {
      for (const auto& r : resp.records()) {
        int64_t shard = std::min(done / a.shard_records, shards - 1);
        if (shard != current) {
          write_error = writer->Write(buf);
          buf.clear();
          if (write_error.ok()) write_error = open_shard(shard);
          if (!write_error.ok()) return false;
        }
        rows.clear();
        write_error = RenderRecord(r, format, &rows);
        if (!write_error.ok()) return false;
        for (const auto& row : rows) {
          buf.append(row);
          buf.push_back('\n');
        }
        ShardInfo& info = infos[static_cast<size_t>(current)];
        ++info.records;
        info.rows += static_cast<int64_t>(rows.size());
        ++done;
      }
      if (buf.size() > (1 << 20)) {
        write_error = writer->Write(buf);
        buf.clear();
        if (!write_error.ok()) return false;
      }
      // A retry continues after the last batch taken in whole.
      req.set_resume_token(resp.resume_token());
      draw(false);
      return true;
    });
    if (!write_error.ok()) return ReportCallFailure(ctx, "records export", write_error);
    bool transient = st.code() == absl::StatusCode::kUnavailable && !req.resume_token().empty();
    if (st.ok() || !transient || attempt >= 4) break;
    err << fmt::format("\nfixmine records export: {}; resuming in {} s\n",
                       std::string(st.message()), 1 << attempt);
    std::this_thread::sleep_for(std::chrono::seconds(1 << attempt));
  }
  if (!st.ok()) return ReportCallFailure(ctx, "records export", st);
  st = writer->Write(buf);
  // Shards the stream never reached (records removed after the count) are written empty, so
  // that the N of "-of-N" always holds.
  while (st.ok() && current + 1 < shards) st = open_shard(current + 1);
  if (st.ok()) st = close_shard();
  if (!st.ok()) return ReportCallFailure(ctx, "records export", st);
  draw(true);

  // manifest.json: what was exported, from which store state, and how to load it.
  google::protobuf::Struct m;
  auto& f = *m.mutable_fields();
  f["format"].set_string_value(RecordFormatName(format));
  f["filter"].set_string_value(a.filter);
  if (!a.preset.empty()) f["preset"].set_string_value(a.preset);
  if (a.sample.given) {
    f["sample_rate"].set_number_value(a.sample.rate);
    f["sample_seed"].set_string_value(std::to_string(a.sample.seed));
  }
  f["fixmine_version"].set_string_value(FIXMINE_VERSION);
  f["store_generation"].set_string_value(std::to_string(counted->generation()));
  f["created_at"].set_string_value(FormatRfc3339(absl::ToUnixSeconds(absl::Now())));
  f["counted_records"].set_number_value(static_cast<double>(expected));
  f["total_records"].set_number_value(static_cast<double>(done));
  int64_t total_rows = 0;
  auto* list = f["shards"].mutable_list_value();
  auto* files = f["data_files"].mutable_struct_value()->mutable_fields();
  auto* train = (*files)["train"].mutable_list_value();
  for (const ShardInfo& info : infos) {
    auto& sf = *list->add_values()->mutable_struct_value()->mutable_fields();
    sf["file"].set_string_value(info.file);
    sf["records"].set_number_value(static_cast<double>(info.records));
    sf["rows"].set_number_value(static_cast<double>(info.rows));
    sf["bytes"].set_number_value(static_cast<double>(info.bytes));
    train->add_values()->set_string_value(info.file);
    total_rows += info.rows;
  }
  f["total_rows"].set_number_value(static_cast<double>(total_rows));
  auto text = ToPrettyJson(m);
  if (!text.ok()) return ReportCallFailure(ctx, "records export", text.status());
  std::string manifest_path = (fs::path(a.out_dir) / "manifest.json").string();
  {
    std::ofstream out(manifest_path, std::ios::binary | std::ios::trunc);
    out << *text << "\n";
    if (!out) {
      err << fmt::format("fixmine records export: writing \"{}\" failed\n", manifest_path);
      return kExitFailed;
    }
  }
  if (!a.quiet) {
    err << fmt::format(
        "records export: {} records, {} rows in {} shards under {} ({:.1f} s)\n", done, total_rows,
        shards, a.out_dir,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return kExitOk;
}

struct SessionReadArgs {
  std::string stream;
  std::string resume_token;
  int64_t limit = 0;
};

int RunSessionRead(CliContext* ctx, const SessionReadArgs& a) {
  FixmineClient c(ctx->server, ConnectionOf(*ctx));
  fixmine::v1::ReadStreamRequest req;
  req.set_stream(a.stream);
  req.set_resume_token(a.resume_token);
  req.set_limit(a.limit);
  std::string last_token = a.resume_token;
  int64_t count = 0;
  std::string buf;
  absl::Status st = c.ReadStream(req, [&](const fixmine::v1::ReadStreamResponse& resp) {
    buf.clear();
    for (const auto& r : resp.records()) AppendRecordJsonLine(r, &buf);
    for (const auto& row : resp.rendered()) {
      buf += row;
      buf.push_back('\n');
    }
    ctx->out->write(buf.data(), static_cast<std::streamsize>(buf.size()));
    ctx->out->flush();
    count += resp.record_count();
    last_token = resp.resume_token();
    return true;
  });
  bool limited = a.limit > 0 && count >= a.limit;
  if ((limited || !st.ok()) && !last_token.empty()) {
    *ctx->err << "resume_token: " << last_token << "\n";
  }
  if (!st.ok()) return ReportCallFailure(ctx, "records session read", st);
  *ctx->err << fmt::format("records session read: {} records\n", count);
  return kExitOk;
}

struct SessionCreateArgs {
  std::string filter;
  std::string preset;
  bool include_contaminated = false;
  std::string format = "raw";
  int streams = 1;
  SampleArgs sample;
};

int RunSessionCreate(CliContext* ctx, const SessionCreateArgs& a) {
  if (!CheckFormatAndSample(ctx, "records session create", a.format, a.sample)) return kExitUsage;
  FixmineClient c(ctx->server, ConnectionOf(*ctx));
  fixmine::v1::CreateReadSessionRequest req;
  req.set_filter(a.filter);
  req.set_preset(a.preset);
  req.set_include_contaminated(a.include_contaminated);
  req.set_format(a.format);
  req.set_max_streams(a.streams);
  req.set_sample_rate(a.sample.wire_rate());
  req.set_sample_seed(a.sample.seed);
  auto resp = c.CreateReadSession(req);
  if (!resp.ok()) return ReportCallFailure(ctx, "records session create", resp.status());
  if (ctx->output == "json" || ctx->output == "jsonl") {
    *ctx->out << (ctx->output == "json" ? ToPrettyJson(*resp) : ToJsonLine(*resp)).value_or("{}")
              << "\n";
  } else {
    for (const auto& s : resp->streams()) *ctx->out << s << "\n";
  }
  return kExitOk;
}

}  // namespace

void RegisterDataCommands(CLI::App* records, CliContext* ctx) {
  {
    struct CountArgs {
      std::string filter;
      std::string preset;
      bool include_contaminated = false;
      SampleArgs sample;
    };
    auto a = std::make_shared<CountArgs>();
    CLI::App* count = records->add_subcommand("count", "Count records matching a filter");
    count->add_option("--filter", a->filter, "filter expression (docs/filters.md)");
    count->add_option("--preset", a->preset,
                      "curation preset ANDed with the filter: default, commitpackft "
                      "(docs/curation.md)");
    count->add_flag("--include-contaminated", a->include_contaminated,
                    "also count records labelled contaminated by a benchmark (docs/curation.md)");
    AddSampleOptions(count, &a->sample);  // counts what `stream --sample --seed` sends
    count->callback([=] {
      if (!CheckFormatAndSample(ctx, "records count", "raw", a->sample)) {
        ctx->exit_code = kExitUsage;
        return;
      }
      FixmineClient c(ctx->server, ConnectionOf(*ctx));
      fixmine::v1::CountRecordsRequest req;
      req.set_filter(a->filter);
      req.set_preset(a->preset);
      req.set_include_contaminated(a->include_contaminated);
      req.set_sample_rate(a->sample.wire_rate());
      req.set_sample_seed(a->sample.seed);
      auto n = c.CountRecords(req);
      if (!n.ok()) {
        ctx->exit_code = ReportCallFailure(ctx, "records count", n.status());
        return;
      }
      *ctx->out << n->count() << "\n";
    });
  }
  {
    auto a = std::make_shared<ExportArgs>();
    CLI::App* cmd = records->add_subcommand(
        "export",
        "Write matching records as zstd JSON Lines shards and a manifest (Hugging Face datasets)");
    cmd->add_option("--format", a->format,
                    "template: raw, commitpack, chat, sharegpt, swe, datatrove (docs/formats.md)")
        ->capture_default_str();
    cmd->add_option("--filter", a->filter, "filter expression (docs/filters.md)");
    cmd->add_option("--preset", a->preset,
                    "curation preset ANDed with the filter: default, commitpackft "
                    "(docs/curation.md)");
    cmd->add_flag("--include-contaminated", a->include_contaminated,
                  "also export records labelled contaminated by a benchmark (docs/curation.md)");
    cmd->add_option("--out", a->out_dir, "folder for the shards and manifest.json")->required();
    cmd->add_option("--shard-records", a->shard_records, "records per shard")
        ->capture_default_str();
    AddSampleOptions(cmd, &a->sample);
    cmd->add_flag("--overwrite", a->overwrite, "replace an export already in --out");
    cmd->add_flag("-q,--quiet", a->quiet, "no progress bar or summary on stderr");
    cmd->callback([=] { ctx->exit_code = RunExport(ctx, *a); });
  }
  CLI::App* session = records->add_subcommand(
      "session", "Parallel read sessions: split matching records into disjoint streams");
  session->require_subcommand(1);
  {
    auto a = std::make_shared<SessionCreateArgs>();
    CLI::App* cmd =
        session->add_subcommand("create", "Create a session; prints one stream per line");
    cmd->add_option("--filter", a->filter, "filter expression (docs/filters.md)");
    cmd->add_option("--preset", a->preset,
                    "curation preset ANDed with the filter: default, commitpackft");
    cmd->add_flag("--include-contaminated", a->include_contaminated,
                  "also read records labelled contaminated by a benchmark (docs/curation.md)");
    cmd->add_option("--streams", a->streams, "number of streams, 1 to 64")->capture_default_str();
    cmd->add_option("--format", a->format, "template of every stream (docs/formats.md)")
        ->capture_default_str();
    AddSampleOptions(cmd, &a->sample);
    cmd->callback([=] { ctx->exit_code = RunSessionCreate(ctx, *a); });
  }
  {
    auto a = std::make_shared<SessionReadArgs>();
    CLI::App* cmd = session->add_subcommand("read", "Read one stream of a session as JSON Lines");
    cmd->add_option("stream", a->stream, "a stream name printed by `session create`")->required();
    cmd->add_option("--resume-token", a->resume_token,
                    "continue after the records a previous read printed");
    cmd->add_option("--limit", a->limit, "stop after this many records")
        ->check(CLI::NonNegativeNumber);
    cmd->callback([=] { ctx->exit_code = RunSessionRead(ctx, *a); });
  }
}

}  // namespace fixmine::client
