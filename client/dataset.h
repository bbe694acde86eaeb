#pragma once
// The global stages of a sharded run (docs/scale-out.md): after `fixmine extract --repo-list`
// wrote the map shards into DIR/map, these turn them into one deduplicated, split dataset with
// its card, each stage a set of independent tasks that read and write files in DIR only:
//
//   signatures  (task per map shard)        DIR/stages/signatures/I-of-N.part-J-of-B.tsv
//   buckets     (task per bucket partition) DIR/stages/pairs/J-of-B.tsv
//   clusters    (one task)                  DIR/stages/clusters/labels-I-of-N.tsv
//   filter      (task per map shard)        DIR/data/SPLIT-IIIII-of-NNNNN.jsonl.zst
//   card        (one task)                  DIR/README.md, DIR/stats.json
//
// Each task writes its files through a temporary name and a rename, then a completion marker
// (a `.done` file, JSON); a task whose marker exists is skipped, so a rerun redoes only what is
// unfinished. Each task checks that the markers of the stage before it are all there
// (FAILED_PRECONDITION naming the first missing one otherwise). Outputs hold no times or host
// names: the same inputs give the same bytes, whatever the number of retries.
//
// The canonical rule (curation/canonical.h, the store's; docs/curation.md "Dedup"): records with
// the same non-empty patch_fingerprint, or the same commit id in different repositories, are exact
// duplicates (transitively); the canonical one is the earliest by author time (seconds), ties
// by the smallest record id (bytewise); the others get duplicate_of = its id and are removed.
// Among exact canonicals, pairs whose MinHash estimate is at or above the threshold (found
// through the store's LSH bands) are joined into components; the canonical of a component is
// again the smallest (author time, id), the others get near_duplicate_of and their similarity
// to it, and are kept.

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace fixmine::client {

// Settings shared by the stages; every task of one run must get the same values.
struct DatasetOptions {
  std::string dir;                  // the run's folder; the map shards are in DIR/map
  int64_t map_shards = 0;           // N: shards of the map step (`extract --shard-count`)
  int64_t partitions = 0;           // B: bucket partitions
  double near_dup_threshold = 0.8;  // 0: no near-duplicate labels
  std::string preset = "default";   // preset the kept records pass, or "none"
  std::string split = "none";       // "none" (all in train) or "repo"
  double train = 0.9, validation = 0.05, test = 0.05;  // --split repo fractions
  std::optional<int64_t> fresh_after;                  // records committed after this go to "fresh"
  std::string fresh_after_text;                        // as given, for the card
  std::string command;  // for the card: the command that made the dataset
};

// The split ("train", "validation", "test" or "fresh") of a record of repository `repo`
// committed at `commit_time` under `options`: "fresh" when fresh_after is set and the commit
// time is after it; with split "repo", by a hash of the repository name (FNV-1a 64 of
// "split:" + repo through splitmix64's finaliser, as a fraction of 2^64) against the fractions
// train, then validation, then test; else "train".
std::string SplitOf(const DatasetOptions& options, std::string_view repo, int64_t commit_time);

// The stages. `index` is the task (0 to the stage's count - 1); `log` gets one summary line.
// OK also when the task was complete already (then skipped, said on `log`). INVALID_ARGUMENT
// for bad options, FAILED_PRECONDITION when the stage before is unfinished, DATA_LOSS for an
// input that does not parse, INTERNAL for an I/O error.
absl::Status RunSignaturesTask(const DatasetOptions& options, int64_t index, std::ostream& log);
absl::Status RunBucketsTask(const DatasetOptions& options, int64_t index, std::ostream& log);
absl::Status RunClustersTask(const DatasetOptions& options, std::ostream& log);
absl::Status RunFilterTask(const DatasetOptions& options, int64_t index, std::ostream& log);
absl::Status RunCardTask(const DatasetOptions& options, std::ostream& log);

}  // namespace fixmine::client
