#include "client/options.h"

#include <fstream>
#include <ostream>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "common/formats.h"
#include "common/sampling.h"
#include "fmt/format.h"

namespace fixmine::client {

void AddConnectionOptions(CLI::App* app, CliContext* ctx) {
  app->add_option("--server", ctx->server, "fixmined address HOST:PORT (env FIXMINE_SERVER)")
      ->capture_default_str();
  app->add_option("--token", ctx->token, "bearer token for the server (env FIXMINE_TOKEN)");
  app->add_option_function<std::string>(
         "--token-file",
         [ctx](const std::string& path) {
           std::ifstream f(path);
           std::string line;
           std::getline(f, line);
           ctx->token = std::string(absl::StripAsciiWhitespace(line));
         },
         "read the bearer token from this file (its first line)")
      ->check(CLI::ExistingFile);
  app->add_option("--tls-ca", ctx->tls_ca,
                  "connect with TLS, trusting this PEM CA bundle (env FIXMINE_TLS_CA)")
      ->check(CLI::ExistingFile);
  app->add_option("--tls-cert", ctx->tls_cert, "PEM client certificate for mutual TLS")
      ->check(CLI::ExistingFile);
  app->add_option("--tls-key", ctx->tls_key, "PEM private key of --tls-cert")
      ->check(CLI::ExistingFile);
}

void AddOutputOption(CLI::App* app, CliContext* ctx) {
  app->add_option("--output", ctx->output, "listing format")
      ->check(CLI::IsMember({"table", "json", "jsonl"}))
      ->capture_default_str();
}

void RecordSelection::Add(CLI::App* cmd, std::string_view verb) {
  cmd->add_option("--filter", filter, "filter expression (docs/filters.md)");
  cmd->add_option("--preset", preset,
                  "curation preset ANDed with the filter: default, commitpackft "
                  "(docs/curation.md)");
  cmd->add_flag("--include-contaminated", include_contaminated,
                fmt::format("also {} records labelled contaminated by a benchmark "
                            "(docs/curation.md)",
                            verb));
}

void Sampling::Add(CLI::App* cmd) {
  cmd->add_option_function<double>(
      "--sample",
      [this](double r) {
        rate = r;
        given = true;
      },
      "keep a deterministic sample of this share of the records, 0 < RATE <= 1");
  cmd->add_option("--seed", seed, "seed of --sample (default 0)");
}

bool CheckFormatAndSample(CliContext& ctx, const std::string& format, const Sampling& sample) {
  if (auto f = ParseRecordFormat(format); !f.ok()) {
    *ctx.err << "fixmine " << ctx.command << ": " << f.status().message() << "\n";
    return false;
  }
  if (!sample.given) return true;
  if (absl::Status st = ValidateSampleRate(sample.rate); !st.ok()) {
    *ctx.err << "fixmine " << ctx.command << ": --sample: " << st.message() << "\n";
    return false;
  }
  return true;
}

void Paging::Add(CLI::App* cmd, std::string_view noun, std::string_view verb) {
  cmd->add_option("--resume-token", resume_token,
                  fmt::format("continue after the {} a previous {} printed", noun, verb));
  cmd->add_option("--limit", limit, fmt::format("stop after this many {}", noun))
      ->check(CLI::NonNegativeNumber);
}

int StreamTally::Finish(CliContext& ctx, const absl::Status& st, bool stopped_early) const {
  if ((stopped_early || !st.ok()) && !last_token.empty()) {
    *ctx.err << "resume_token: " << last_token << "\n";
  }
  if (!st.ok()) return ReportCallFailure(ctx, st);
  return kExitOk;
}

}  // namespace fixmine::client
