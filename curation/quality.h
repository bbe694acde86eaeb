#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fixmine/v1/records.pb.h"

namespace fixmine::curation {

// Presets: named rule sets. A record fails a rule when the rule's check says so; the reason is
// stored as "PRESET:RULE" in Quality.drop_reasons, and the preset keeps the records with no
// reason of its own (storage/filter.cc's `drop` field; docs/curation.md).
inline constexpr std::string_view kPresetCommitPackFt = "commitpackft";
inline constexpr std::string_view kPresetDefault = "default";

// Returns the names of the `commitpackft` rules `record` fails (without the preset prefix), in
// rule order: subject_too_short, subject_too_long, too_few_words, too_many_words,
// not_imperative, blocked_phrase, version_or_hash_only, not_single_file, too_large. Reads
// subject, files and quality sizes. Thread-safe.
std::vector<std::string> CommitPackFtFailures(const fixmine::v1::Record& record);

// Returns the names of the `default` rules `record` fails: merge, bot, empty_message,
// vendored_only. Reads labels, so call it after labelling.
std::vector<std::string> DefaultFailures(const fixmine::v1::Record& record);

// True when `record` has no drop reason of preset `name` ("NAME:RULE") and, for `default`, is
// not an exact duplicate (duplicate_of, set by a store). The same test as the filter field
// `preset = NAME` (storage/filter.cc). Thread-safe.
bool PassesPreset(const fixmine::v1::Record& record, std::string_view name);

// True when `name` is a known preset (kPresetDefault or kPresetCommitPackFt).
bool IsPreset(std::string_view name);

// Replaces `record`'s drop reasons with those of both presets.
void SetDropReasons(fixmine::v1::Record* record);

}  // namespace fixmine::curation
