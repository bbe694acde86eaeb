#pragma once

// The option groups shared by `fixmine` commands, each defined once (docs/architecture.md,
// "Client"): connection, TLS and auth; --output; which records (filter, preset,
// contamination); sampling; paging (resume token, limit). A command holds the groups it uses as
// members and adds them in its AddOptions.
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "client/cli.h"

namespace CLI {
class App;
}

namespace fixmine::client {

// --server, --token, --token-file, --tls-ca, --tls-cert, --tls-key: global options of `app`
// writing into `ctx` (their environment defaults are read by RunCli).
void AddConnectionOptions(CLI::App* app, CliContext* ctx);

// --output table|json|jsonl: a global option of `app` writing into ctx->output.
void AddOutputOption(CLI::App* app, CliContext* ctx);

// --filter, --preset, --include-contaminated: which records a record command reads.
struct RecordSelection {
  std::string filter;
  std::string preset;  // curation preset (docs/curation.md); empty for none
  bool include_contaminated = false;

  // Adds the options; `verb` ("stream", "count") completes the help of
  // --include-contaminated.
  void Add(CLI::App* cmd, std::string_view verb);
  // Sets the request's filter, preset and include_contaminated.
  template <typename Request>
  void Fill(Request* req) const {
    req->set_filter(filter);
    req->set_preset(preset);
    req->set_include_contaminated(include_contaminated);
  }
};

// --sample RATE and --seed N: a deterministic sample of the records.
struct Sampling {
  double rate = 0;
  bool given = false;
  uint64_t seed = 0;

  void Add(CLI::App* cmd);
  // Sets sample_rate (only when --sample was given) and sample_seed of the request.
  template <typename Request>
  void Fill(Request* req) const {
    if (given) req->set_sample_rate(rate);
    req->set_sample_seed(seed);
  }
};

// Checks a record --format and --sample before any call: prints "fixmine COMMAND: ..." and
// returns false on a bad value.
bool CheckFormatAndSample(CliContext& ctx, const std::string& format, const Sampling& sample);

// --resume-token and --limit of a stream of `noun` ("records", "trajectories").
struct Paging {
  std::string resume_token;
  int64_t limit = 0;

  // `verb` completes the help of --resume-token: "continue after the NOUN a previous VERB
  // printed".
  void Add(CLI::App* cmd, std::string_view noun, std::string_view verb);
};

// Appends each of `rows` (rendered rows of a stream) and a newline to `buf`.
template <typename Rows>
void AppendRows(const Rows& rows, std::string* buf) {
  for (const auto& row : rows) {
    buf->append(row);
    buf->push_back('\n');
  }
}

// What a streaming command has printed so far: items and the last resume token.
struct StreamTally {
  std::string last_token;
  int64_t count = 0;

  // Ends the stream: prints "resume_token: TOKEN" on stderr when the stream stopped early
  // (`stopped_early`, or `st` failed) and a token is known; returns the exit code of `st`
  // (ReportCallFailure) or kExitOk.
  int Finish(CliContext& ctx, const absl::Status& st, bool stopped_early) const;
};

}  // namespace fixmine::client
