#pragma once
// Benchmark files and their n-gram index, the same for `fixmine bench add` (the server stores
// the items) and `fixmine extract --bench NAME=FILE` (the index lives for one run).
// docs/curation.md, "Decontamination".

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "curation/decontam.h"
#include "fixmine/v1/admin.pb.h"

namespace fixmine::pipeline {

// Reads benchmark items from `files`: a plain file is one item (its file name is the id); each
// non-blank line of a file ending in ".jsonl" is one JSON object whose string field `field`
// is the text, its id the object's "task_id" or "instance_id", else "FILE:LINE".
// INVALID_ARGUMENT naming the file (and line) for an unreadable file, a line that is not a
// JSON object or one without the string field.
absl::StatusOr<std::vector<fixmine::v1::BenchmarkItem>> ReadBenchmarkItems(
    const std::vector<std::string>& files, std::string_view field);

// Adds every n-gram of every item of `benchmark` to `index`, with the benchmark's n-gram size
// (curation::kDefaultNgram when 0). `index` is borrowed.
void IndexBenchmark(const fixmine::v1::Benchmark& benchmark, curation::NgramIndex* index);

}  // namespace fixmine::pipeline
