#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fixmine/v1/records.pb.h"

namespace fixmine::storage {

// The longest filter text any filter language accepts (records, trajectories; docs/filters.md).
inline constexpr size_t kMaxFilterBytes = 4096;

// OK, or the one INVALID_ARGUMENT every filter over kMaxFilterBytes gets:
// "filter: column 4097: filter is N bytes long; expected at most 4096 bytes". The parsers check
// it themselves; callers that look at a filter before parsing it use this for the same message.
absl::Status CheckFilterSize(std::string_view text);

// What a filter requires of every record it matches, so a scan can use an index instead of
// reading everything. Only constraints implied by the top-level AND chain are reported.
struct FilterHints {
  // The record's repository must equal this.
  std::optional<std::string> repo;
  // Some file's language must equal this (as stored, exact spelling from linguist).
  std::optional<std::string> language;
  // Committer time bounds, inclusive, in Unix seconds.
  std::optional<int64_t> min_time;
  std::optional<int64_t> max_time;
};

// A parsed filter expression (the AIP-160 subset in docs/filters.md), evaluated against records.
// Immutable after Parse; Matches is thread-safe.
class Filter {
 public:
  virtual ~Filter() = default;

  // Parses `text` (an empty or all-blank text matches everything). INVALID_ARGUMENT with a
  // message "filter: column N: what is wrong, what was expected" for a bad expression, an
  // unknown field, a bad value (time, number, glob) or a regex RE2 rejects or finds too large.
  static absl::StatusOr<std::unique_ptr<Filter>> Parse(std::string_view text);

  // Parses `text` ANDed with the preset named `preset` (none when empty); the canonical text
  // then includes the preset's expression, so resume tokens tell presets apart. Errors as Parse,
  // and INVALID_ARGUMENT naming the known presets for an unknown one.
  static absl::StatusOr<std::unique_ptr<Filter>> ParseWithPreset(std::string_view text,
                                                                 std::string_view preset);

  // Returns a filter text equivalent to ParseWithPreset(text, preset) (its canonical text), for
  // callers that pass filters on as text. When that fails, returns a text whose Parse gives the
  // same error. Returns `text` itself when `preset` is empty.
  static std::string ApplyPreset(std::string_view text, std::string_view preset);

  // Returns the canonical text of `term` ANDed with `text` (term first, then text's top-level
  // terms, so index hints still apply); `term` alone when `text` is empty. When either does not
  // parse, returns `text` (whose Parse gives its error).
  static std::string AndTerm(std::string_view text, std::string_view term);

  // Returns the filter expression preset `name` stands for ("default", "commitpackft"; see
  // docs/curation.md), or INVALID_ARGUMENT.
  static absl::StatusOr<std::string> PresetExpression(std::string_view name);

  // The known preset names, in documentation order.
  static std::vector<std::string> PresetNames();

  // True when `record` satisfies the expression.
  virtual bool Matches(const fixmine::v1::Record& record) const = 0;

  // False when Matches never reads the record's `files` (the bulk of a record), so a scan may
  // evaluate it on a record parsed without them (RecordStore::ScanSerialized). True, the safe
  // answer, unless the filter knows.
  virtual bool ReadsFiles() const { return true; }
  // Index hints (see FilterHints).
  virtual const FilterHints& hints() const = 0;

  // A canonical text of the expression: equal for filters that differ only in spacing.
  // Resume tokens hash it.
  virtual const std::string& canonical() const = 0;
};

}  // namespace fixmine::storage
