// `fixmine dataset signatures|buckets|clusters|filter|card`: the global stages of a sharded run
// (client/dataset.h, docs/scale-out.md), each one task of a Slurm job array or a Kubernetes
// Indexed Job.
#include <cmath>
#include <cstdio>
#include <memory>

#include "CLI/CLI.hpp"
#include "client/cli.h"
#include "client/dataset.h"
#include "client/shard.h"
#include "common/time.h"
#include "fmt/format.h"

namespace fixmine::client {
namespace {

struct DatasetArgs {
  DatasetOptions options;
  int64_t shard_index = -1;  // -1: from the environment
  int64_t shard_count = 0;   // 0: the stage's own count
  std::string fractions = "0.9,0.05,0.05";
  std::string fresh_after;
};

// Parses --split-fractions and --fresh-after into `a->options`.
absl::Status Resolve(DatasetArgs* a) {
  DatasetOptions& o = a->options;
  double f[3];
  char tail = 0;
  if (std::sscanf(a->fractions.c_str(), "%lf,%lf,%lf%c", &f[0], &f[1], &f[2], &tail) != 3 ||
      f[0] < 0 || f[1] < 0 || f[2] < 0 || std::abs(f[0] + f[1] + f[2] - 1.0) > 1e-6) {
    return absl::InvalidArgumentError(fmt::format(
        "--split-fractions \"{}\" is not TRAIN,VALIDATION,TEST: three fractions, 0 or more, "
        "summing to 1 (e.g. 0.9,0.05,0.05)",
        a->fractions));
  }
  o.train = f[0];
  o.validation = f[1];
  o.test = f[2];
  if (!a->fresh_after.empty()) {
    auto t = ParseTime(a->fresh_after);
    if (!t.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("--fresh-after: {}", std::string(t.status().message())));
    }
    o.fresh_after = *t;
    o.fresh_after_text = a->fresh_after;
  }
  return absl::OkStatus();
}

int Report(const absl::Status& st, std::string_view stage, CliContext* ctx) {
  if (st.ok()) return kExitOk;
  *ctx->err << "fixmine dataset " << stage << ": " << st.message() << "\n";
  return st.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailed;
}

}  // namespace

void RegisterDatasetCommands(CLI::App* app, CliContext* ctx) {
  CLI::App* group = app->add_subcommand(
      "dataset",
      "Global stages of a sharded run: dedup across all map shards, splits and the dataset "
      "card (offline, no server; docs/scale-out.md)");
  group->require_subcommand(1);
  group->footer(
      "Order: fixmine extract --repo-list ... --out DIR/map (N tasks), then signatures (N), "
      "buckets (B), clusters (1), filter (N), card (1). Every task writes a .done marker and "
      "is skipped when it exists; deploy/slurm/fixmine-dataset.sh submits them all.");
  struct Stage {
    const char* name;
    const char* help;
    int tasks;  // 0: map shards, 1: partitions, 2: one task
  };
  const Stage stages[] = {
      {"signatures",
       "map shard I -> fingerprint, commit id and MinHash LSH band rows, in B bucket files", 0},
      {"buckets", "bucket partition J of every map shard -> exact and near-duplicate pairs", 1},
      {"clusters", "all pairs -> clusters and their canonical records (one task)", 2},
      {"filter",
       "map shard I -> the kept (canonical) records in DIR/data/SPLIT-*.jsonl.zst, labelled", 0},
      {"card", "all filter markers -> DIR/README.md (Hugging Face dataset card) and stats.json", 2},
  };
  for (const Stage& stage : stages) {
    auto a = std::make_shared<DatasetArgs>();
    CLI::App* cmd = group->add_subcommand(stage.name, stage.help);
    cmd->add_option("--dir", a->options.dir,
                    "the run's folder (map shards in DIR/map, from fixmine extract --repo-list "
                    "--out DIR/map)")
        ->required();
    cmd->add_option("--map-shards", a->options.map_shards,
                    "N: the number of map shards (extract --shard-count)")
        ->required()
        ->check(CLI::PositiveNumber);
    cmd->add_option("--partitions", a->options.partitions, "B: the number of bucket partitions")
        ->required()
        ->check(CLI::PositiveNumber);
    if (stage.tasks != 2) {
      cmd->add_option("--shard-index", a->shard_index,
                      "this task, 0 to COUNT-1 (default: $SLURM_ARRAY_TASK_ID, else "
                      "$JOB_COMPLETION_INDEX)")
          ->check(CLI::NonNegativeNumber);
      cmd->add_option("--shard-count", a->shard_count,
                      stage.tasks == 0 ? "the number of tasks; must equal --map-shards"
                                       : "the number of tasks; must equal --partitions")
          ->check(CLI::PositiveNumber);
    }
    std::string name = stage.name;
    if (name == "signatures" || name == "buckets" || name == "card") {
      cmd->add_option("--near-dup-threshold", a->options.near_dup_threshold,
                      "estimated Jaccard similarity (0 to 1) from which two records are near "
                      "duplicates, as fixmined's flag; 0: none")
          ->capture_default_str();
    }
    if (name == "filter") {
      cmd->add_option("--preset", a->options.preset,
                      "keep only records this preset keeps: default (as fixmined streams with "
                      "--preset default), commitpackft, or none (every canonical record)")
          ->capture_default_str();
      cmd->add_option("--split", a->options.split,
                      "none (every record in train) or repo (repository-disjoint "
                      "train/validation/test by a hash of the repository name)")
          ->check(CLI::IsMember({"none", "repo"}))
          ->capture_default_str();
      cmd->add_option("--split-fractions", a->fractions,
                      "with --split repo: TRAIN,VALIDATION,TEST fractions summing to 1")
          ->capture_default_str();
      cmd->add_option("--fresh-after", a->fresh_after,
                      "records committed after this time (RFC 3339, YYYY-MM-DD, @unix) go to a "
                      "separate `fresh` split");
    }
    if (name == "card") {
      cmd->add_option("--command", a->options.command,
                      "the command line that made the dataset, for the card (default: the "
                      "stages' own); the filter's settings are read from its markers");
    }
    cmd->callback([a, ctx, stage, name] {
      if (absl::Status st = Resolve(a.get()); !st.ok()) {
        ctx->exit_code = Report(st, name, ctx);
        return;
      }
      const DatasetOptions& o = a->options;
      int64_t count = stage.tasks == 0 ? o.map_shards : o.partitions;
      if (stage.tasks != 2 && a->shard_count != 0 && a->shard_count != count) {
        ctx->exit_code =
            Report(absl::InvalidArgumentError(fmt::format(
                       "--shard-count {} must equal {} {} (the stage's number of tasks)",
                       a->shard_count, stage.tasks == 0 ? "--map-shards" : "--partitions", count)),
                   name, ctx);
        return;
      }
      absl::Status st;
      if (stage.tasks == 2) {
        st = name == "clusters" ? RunClustersTask(o, *ctx->err) : RunCardTask(o, *ctx->err);
      } else {
        auto index = ResolveShardIndex(a->shard_index);
        if (!index.ok()) {
          ctx->exit_code = Report(index.status(), name, ctx);
          return;
        }
        if (name == "signatures") st = RunSignaturesTask(o, *index, *ctx->err);
        if (name == "buckets") st = RunBucketsTask(o, *index, *ctx->err);
        if (name == "filter") st = RunFilterTask(o, *index, *ctx->err);
      }
      ctx->exit_code = Report(st, name, ctx);
    });
  }
}

}  // namespace fixmine::client
