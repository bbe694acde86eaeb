#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "fixmine/v1/records.pb.h"

namespace fixmine {

// Export templates: how a record is rendered into what training code reads (docs/formats.md).
enum class RecordFormat {
  kRaw,         // the record as stored (proto JSON, ToJsonLine)
  kCommitpack,  // one row per changed text file, CommitPackFT's field names
  kChat,        // {"messages": [system, user, assistant]} as TRL reads it
  kShareGpt,    // {"conversations": [human, gpt]}
  kSwe,         // SWE-bench's instance fields
  kDatatrove,   // {"text", "id", "metadata"} (a DataTrove Document)
};

// The format names, in documentation order: raw, commitpack, chat, sharegpt, swe, datatrove.
const std::vector<std::string>& RecordFormatNames();

// The name of a format ("raw", ...).
std::string RecordFormatName(RecordFormat format);

// Parses a format name; an empty name is `raw`. INVALID_ARGUMENT listing the formats for any
// other name.
absl::StatusOr<RecordFormat> ParseRecordFormat(std::string_view name);

// Renders `record` in `format`, appending one JSON object per row to `rows` (no newline).
// Every format gives one row per record except `commitpack`, which gives one per changed
// non-binary file (possibly none). INTERNAL only if protobuf's JSON printer fails for `raw`.
// Thread-safe (pure).
absl::Status RenderRecord(const fixmine::v1::Record& record, RecordFormat format,
                          std::vector<std::string>* rows);

// True for paths that look like tests (docs/formats.md, "swe"): a path component named
// test, tests, testing, e2e, __tests__, spec or specs; or a file name like *_test.*, test_*.*,
// *_spec.*, *.test.*, *.spec.*, *Test.java|kt|scala|cs|php|swift, *Tests.*, conftest.py.
bool IsTestPath(std::string_view path);

// The post-image of a changed file for `commitpack`: `new_content` when the miner stored it
// whole; else `patch` applied to `old_content` (ApplyUnifiedDiff) when the pre-image is whole;
// empty for a deletion. FAILED_PRECONDITION when it cannot be rebuilt (truncated or unavailable
// contents, binary file, or a patch that does not apply).
absl::StatusOr<std::string> RebuildNewContent(const fixmine::v1::FileChange& file);

}  // namespace fixmine
