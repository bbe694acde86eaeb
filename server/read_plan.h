#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/formats.h"
#include "storage/filter.h"

namespace fixmine::server {

// What one record stream reads (StreamRecords, or one stream of a read session): the parsed
// filter wrapped with the sample and bucket predicates, the export format, and the text that
// resume tokens hash so that a token only resumes the same stream.
struct ReadPlan {
  std::unique_ptr<storage::Filter> filter;  // never null
  RecordFormat format = RecordFormat::kRaw;
  std::string token_context;
};

// Where a read-session stream's records come from. `buckets` = 1 means no split.
struct StreamSpec {
  std::string filter;
  std::string format;
  double sample_rate = 0;  // 0: no sampling
  uint64_t sample_seed = 0;
  uint32_t bucket = 0;
  uint32_t buckets = 1;
};

// Most streams a read session may have (docs/security.md, "Limits"); more is INVALID_ARGUMENT.
inline constexpr uint32_t kMaxReadStreams = 64;

// Validates and builds the plan: INVALID_ARGUMENT for a filter over 4096 bytes or that
// does not parse, an unknown format, a sample rate outside (0, 1] (0 means none), or a bucket
// outside 0..buckets-1 / buckets outside 1..kMaxReadStreams. Without format, sample or split
// the token context is the filter's canonical text alone, so older tokens stay valid.
absl::StatusOr<ReadPlan> MakeReadPlan(const StreamSpec& spec);

// Encodes a stream as an opaque, URL-safe name (version, spec, checksum). Stateless: the name
// alone says what to read.
std::string EncodeStreamName(const StreamSpec& spec);

// Decodes a name from EncodeStreamName. INVALID_ARGUMENT when it is malformed or damaged (the
// checksum does not match). The spec still needs MakeReadPlan's validation.
absl::StatusOr<StreamSpec> DecodeStreamName(std::string_view name);

}  // namespace fixmine::server
