#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "fixmine/v1/records.pb.h"

namespace fixmine::storage {

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

  // True when `record` satisfies the expression.
  virtual bool Matches(const fixmine::v1::Record& record) const = 0;

  // Index hints (see FilterHints).
  virtual const FilterHints& hints() const = 0;

  // A canonical text of the expression: equal for filters that differ only in spacing.
  // Resume tokens hash it.
  virtual const std::string& canonical() const = 0;
};

}  // namespace fixmine::storage
