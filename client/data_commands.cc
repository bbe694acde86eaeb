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
#include "client/command.h"
#include "client/fixmine_client.h"
#include "client/options.h"
#include "client/printer.h"
#include "client/zstd_writer.h"
#include "common/formats.h"
#include "common/json.h"
#include "common/record_json.h"
#include "common/time.h"
#include "fmt/format.h"
#include "google/protobuf/struct.pb.h"

#ifndef FIXMINE_VERSION
#define FIXMINE_VERSION "unknown"
#endif

namespace fixmine::client {
namespace {

namespace fs = std::filesystem;

std::string ShardName(int64_t index, int64_t count) {
  return fmt::format("train-{:05d}-of-{:05d}.jsonl.zst", index, count);
}

struct ShardInfo {
  std::string file;
  int64_t records = 0;
  int64_t rows = 0;
  uint64_t bytes = 0;
};

struct ExportArgs {
  std::string format = "raw";
  RecordSelection selection;
  std::string out_dir;
  int64_t shard_records = 100000;
  Sampling sample;
  bool overwrite = false;
  bool quiet = false;
};

int RunExport(CliContext& ctx, const ExportArgs& a) {
  std::ostream& err = *ctx.err;
  if (!CheckFormatAndSample(ctx, a.format, a.sample)) return kExitUsage;
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

  FixmineClient c = Connect(ctx);
  fixmine::v1::CountRecordsRequest count_req;
  a.selection.Fill(&count_req);
  a.sample.Fill(&count_req);
  auto counted = c.CountRecords(count_req);
  if (!counted.ok()) return ReportCallFailure(ctx, counted.status());
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
  if (!st.ok()) return ReportCallFailure(ctx, st);

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
  a.selection.Fill(&req);
  a.sample.Fill(&req);
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
    if (!write_error.ok()) return ReportCallFailure(ctx, write_error);
    bool transient = st.code() == absl::StatusCode::kUnavailable && !req.resume_token().empty();
    if (st.ok() || !transient || attempt >= 4) break;
    err << fmt::format("\nfixmine records export: {}; resuming in {} s\n",
                       std::string(st.message()), 1 << attempt);
    std::this_thread::sleep_for(std::chrono::seconds(1 << attempt));
  }
  if (!st.ok()) return ReportCallFailure(ctx, st);
  st = writer->Write(buf);
  // Shards the stream never reached (records removed after the count) are written empty, so
  // that the N of "-of-N" always holds.
  while (st.ok() && current + 1 < shards) st = open_shard(current + 1);
  if (st.ok()) st = close_shard();
  if (!st.ok()) return ReportCallFailure(ctx, st);
  draw(true);

  // manifest.json: what was exported, from which store state, and how to load it.
  google::protobuf::Struct m;
  auto& f = *m.mutable_fields();
  f["format"].set_string_value(RecordFormatName(format));
  f["filter"].set_string_value(a.selection.filter);
  if (!a.selection.preset.empty()) f["preset"].set_string_value(a.selection.preset);
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
  if (!text.ok()) return ReportCallFailure(ctx, text.status());
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

class RecordsExport : public Command {
 public:
  RecordsExport()
      : Command("export",
                "Write matching records as zstd JSON Lines shards and a manifest (Hugging Face "
                "datasets)") {}
  void AddOptions(CLI::App* cmd) override {
    cmd->add_option("--format", a_.format,
                    "template: raw, commitpack, chat, sharegpt, swe, datatrove (docs/formats.md)")
        ->capture_default_str();
    a_.selection.Add(cmd, "export");
    cmd->add_option("--out", a_.out_dir, "folder for the shards and manifest.json")->required();
    cmd->add_option("--shard-records", a_.shard_records, "records per shard")
        ->capture_default_str();
    a_.sample.Add(cmd);
    cmd->add_flag("--overwrite", a_.overwrite, "replace an export already in --out");
    cmd->add_flag("-q,--quiet", a_.quiet, "no progress bar or summary on stderr");
  }
  int Run(CliContext& ctx) override { return RunExport(ctx, a_); }

 private:
  ExportArgs a_;
};

class RecordsCount : public Command {
 public:
  RecordsCount() : Command("count", "Count records matching a filter") {}
  void AddOptions(CLI::App* cmd) override {
    selection_.Add(cmd, "count");
    sample_.Add(cmd);  // counts what `stream --sample --seed` sends
  }
  int Run(CliContext& ctx) override {
    if (!CheckFormatAndSample(ctx, "raw", sample_)) return kExitUsage;
    fixmine::v1::CountRecordsRequest req;
    selection_.Fill(&req);
    sample_.Fill(&req);
    auto n = Connect(ctx).CountRecords(req);
    if (!n.ok()) return ReportCallFailure(ctx, n.status());
    *ctx.out << n->count() << "\n";
    return kExitOk;
  }

 private:
  RecordSelection selection_;
  Sampling sample_;
};

class SessionCreate : public Command {
 public:
  SessionCreate() : Command("create", "Create a session; prints one stream per line") {}
  void AddOptions(CLI::App* cmd) override {
    selection_.Add(cmd, "read");
    cmd->add_option("--streams", streams_, "number of streams, 1 to 64")->capture_default_str();
    cmd->add_option("--format", format_, "template of every stream (docs/formats.md)")
        ->capture_default_str();
    sample_.Add(cmd);
  }
  int Run(CliContext& ctx) override {
    if (!CheckFormatAndSample(ctx, format_, sample_)) return kExitUsage;
    fixmine::v1::CreateReadSessionRequest req;
    selection_.Fill(&req);
    req.set_format(format_);
    req.set_max_streams(streams_);
    sample_.Fill(&req);
    auto resp = Connect(ctx).CreateReadSession(req);
    if (!resp.ok()) return ReportCallFailure(ctx, resp.status());
    ctx.print->One(*resp, [&] {
      std::string t;
      for (const auto& s : resp->streams()) t += s + "\n";
      return t;
    });
    return kExitOk;
  }

 private:
  RecordSelection selection_;
  std::string format_ = "raw";
  int streams_ = 1;
  Sampling sample_;
};

class SessionRead : public Command {
 public:
  SessionRead() : Command("read", "Read one stream of a session as JSON Lines") {}
  void AddOptions(CLI::App* cmd) override {
    cmd->add_option("stream", stream_, "a stream name printed by `session create`")->required();
    paging_.Add(cmd, "records", "read");
  }
  int Run(CliContext& ctx) override {
    fixmine::v1::ReadStreamRequest req;
    req.set_stream(stream_);
    req.set_resume_token(paging_.resume_token);
    req.set_limit(paging_.limit);
    StreamTally tally{paging_.resume_token};
    std::string buf;
    absl::Status st =
        Connect(ctx).ReadStream(req, [&](const fixmine::v1::ReadStreamResponse& resp) {
          buf.clear();
          for (const auto& r : resp.records()) AppendRecordJsonLine(r, &buf);
          AppendRows(resp.rendered(), &buf);
          ctx.out->write(buf.data(), static_cast<std::streamsize>(buf.size()));
          ctx.out->flush();
          tally.count += resp.record_count();
          tally.last_token = resp.resume_token();
          return true;
        });
    bool limited = paging_.limit > 0 && tally.count >= paging_.limit;
    if (int code = tally.Finish(ctx, st, limited); code != kExitOk) return code;
    *ctx.err << fmt::format("records session read: {} records\n", tally.count);
    return kExitOk;
  }

 private:
  std::string stream_;
  Paging paging_;
};

}  // namespace

std::unique_ptr<Command> NewRecordsCountCommand() { return std::make_unique<RecordsCount>(); }
std::unique_ptr<Command> NewRecordsExportCommand() { return std::make_unique<RecordsExport>(); }
std::unique_ptr<Command> NewSessionCreateCommand() { return std::make_unique<SessionCreate>(); }
std::unique_ptr<Command> NewSessionReadCommand() { return std::make_unique<SessionRead>(); }

}  // namespace fixmine::client
