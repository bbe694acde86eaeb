// `fixmine dataset signatures|buckets|clusters|filter|card`: the global stages of a sharded run
// (client/dataset.h, docs/scale-out.md), each one task of a Slurm job array or a Kubernetes
// Indexed Job.
#include <cmath>
#include <cstdio>
#include <memory>

#include "CLI/CLI.hpp"
#include "client/cli.h"
#include "client/command.h"
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

int Report(const absl::Status& st, CliContext& ctx) {
  if (st.ok()) return kExitOk;
  *ctx.err << "fixmine " << ctx.command << ": " << st.message() << "\n";
  return st.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailed;
}

// One stage: its name, help, and how many tasks it has.
struct Stage {
  const char* name;
  const char* help;
  enum Tasks { kPerMapShard, kPerPartition, kOne } tasks;
};

const Stage kSignatures = {
    "signatures",
    "map shard I -> fingerprint, commit id and MinHash LSH band rows, in B bucket files",
    Stage::kPerMapShard};
const Stage kBuckets = {"buckets",
                        "bucket partition J of every map shard -> exact and near-duplicate pairs",
                        Stage::kPerPartition};
const Stage kClusters = {"clusters", "all pairs -> clusters and their canonical records (one task)",
                         Stage::kOne};
const Stage kFilter = {
    "filter", "map shard I -> the kept (canonical) records in DIR/data/SPLIT-*.jsonl.zst, labelled",
    Stage::kPerMapShard};
const Stage kCard = {"card",
                     "all filter markers -> DIR/README.md (Hugging Face dataset card) and "
                     "stats.json",
                     Stage::kOne};

// `fixmine dataset STAGE`: one task of one stage (client/dataset.h).
class DatasetStage : public Command {
 public:
  explicit DatasetStage(const Stage& stage) : Command(stage.name, stage.help), stage_(stage) {}
  void AddOptions(CLI::App* cmd) override {
    DatasetOptions& o = a_.options;
    cmd->add_option("--dir", o.dir,
                    "the run's folder (map shards in DIR/map, from fixmine extract --repo-list "
                    "--out DIR/map)")
        ->required();
    cmd->add_option("--map-shards", o.map_shards,
                    "N: the number of map shards (extract --shard-count)")
        ->required()
        ->check(CLI::PositiveNumber);
    cmd->add_option("--partitions", o.partitions, "B: the number of bucket partitions")
        ->required()
        ->check(CLI::PositiveNumber);
    if (stage_.tasks != Stage::kOne) {
      cmd->add_option("--shard-index", a_.shard_index,
                      "this task, 0 to COUNT-1 (default: $SLURM_ARRAY_TASK_ID, else "
                      "$JOB_COMPLETION_INDEX)")
          ->check(CLI::NonNegativeNumber);
      cmd->add_option("--shard-count", a_.shard_count,
                      stage_.tasks == Stage::kPerMapShard
                          ? "the number of tasks; must equal --map-shards"
                          : "the number of tasks; must equal --partitions")
          ->check(CLI::PositiveNumber);
    }
    if (&stage_ == &kSignatures || &stage_ == &kBuckets || &stage_ == &kCard) {
      cmd->add_option("--near-dup-threshold", o.near_dup_threshold,
                      "estimated Jaccard similarity (0 to 1) from which two records are near "
                      "duplicates, as fixmined's flag; 0: none")
          ->capture_default_str();
    }
    if (&stage_ == &kFilter) {
      cmd->add_option("--preset", o.preset,
                      "keep only records this preset keeps: default (as fixmined streams with "
                      "--preset default), commitpackft, or none (every canonical record)")
          ->capture_default_str();
      cmd->add_option("--split", o.split,
                      "none (every record in train) or repo (repository-disjoint "
                      "train/validation/test by a hash of the repository name)")
          ->check(CLI::IsMember({"none", "repo"}))
          ->capture_default_str();
      cmd->add_option("--split-fractions", a_.fractions,
                      "with --split repo: TRAIN,VALIDATION,TEST fractions summing to 1")
          ->capture_default_str();
      cmd->add_option("--fresh-after", a_.fresh_after,
                      "records committed after this time (RFC 3339, YYYY-MM-DD, @unix) go to a "
                      "separate `fresh` split");
    }
    if (&stage_ == &kCard) {
      cmd->add_option("--command", o.command,
                      "the command line that made the dataset, for the card (default: the "
                      "stages' own); the filter's settings are read from its markers");
    }
  }
  int Run(CliContext& ctx) override {
    if (absl::Status st = Resolve(&a_); !st.ok()) return Report(st, ctx);
    const DatasetOptions& o = a_.options;
    if (stage_.tasks == Stage::kOne) {
      return Report(&stage_ == &kClusters ? RunClustersTask(o, *ctx.err) : RunCardTask(o, *ctx.err),
                    ctx);
    }
    bool per_shard = stage_.tasks == Stage::kPerMapShard;
    int64_t count = per_shard ? o.map_shards : o.partitions;
    if (a_.shard_count != 0 && a_.shard_count != count) {
      return Report(absl::InvalidArgumentError(fmt::format(
                        "--shard-count {} must equal {} {} (the stage's number of tasks)",
                        a_.shard_count, per_shard ? "--map-shards" : "--partitions", count)),
                    ctx);
    }
    auto index = ResolveShardIndex(a_.shard_index);
    if (!index.ok()) return Report(index.status(), ctx);
    if (&stage_ == &kSignatures) return Report(RunSignaturesTask(o, *index, *ctx.err), ctx);
    if (&stage_ == &kBuckets) return Report(RunBucketsTask(o, *index, *ctx.err), ctx);
    return Report(RunFilterTask(o, *index, *ctx.err), ctx);
  }

 private:
  const Stage& stage_;
  DatasetArgs a_;
};

}  // namespace

std::unique_ptr<Command> NewDatasetSignaturesCommand() {
  return std::make_unique<DatasetStage>(kSignatures);
}
std::unique_ptr<Command> NewDatasetBucketsCommand() {
  return std::make_unique<DatasetStage>(kBuckets);
}
std::unique_ptr<Command> NewDatasetClustersCommand() {
  return std::make_unique<DatasetStage>(kClusters);
}
std::unique_ptr<Command> NewDatasetFilterCommand() {
  return std::make_unique<DatasetStage>(kFilter);
}
std::unique_ptr<Command> NewDatasetCardCommand() { return std::make_unique<DatasetStage>(kCard); }

}  // namespace fixmine::client
