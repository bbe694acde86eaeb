#pragma once

// The trajectory filter language (docs/filters.md, "Trajectory filters"): the filter engine
// (storage/filter_engine.h) over the table of trajectory fields.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "fixmine/v1/trajectories.pb.h"

namespace fixmine::storage {

namespace filter_engine {
struct Node;
}

// A parsed trajectory filter: the record filter grammar (AND, OR, NOT / '-', parentheses,
// regex()) over the fields repo, kind, merge_commit (= !=), title, source_branch (= exact, ':'
// case-insensitive substring), step_count, pr_number (= != < <= > >=), merged_at (the same
// operators, times as in record filters), any_fix / is_fix (bare, or = true|false), and
// regex(title|source_branch|message, PATTERN). Immutable after Parse; Matches is thread-safe.
class TrajectoryFilter {
 public:
  // Parses `text` (empty or blank matches everything). INVALID_ARGUMENT with
  // "filter: column N: what is wrong; what was expected" for a bad expression, an unknown field
  // (naming the known ones), a bad value or regex, or a text over kMaxFilterBytes.
  static absl::StatusOr<std::unique_ptr<TrajectoryFilter>> Parse(std::string_view text);

  ~TrajectoryFilter();

  // True when `t` satisfies the expression.
  bool Matches(const fixmine::v1::Trajectory& t) const;
  // The repository every match has (from the first `repo = X` of the top-level AND chain), if
  // any: the scan reads only that repository's keys.
  const std::optional<std::string>& repo() const { return repo_; }
  // Canonical text, rendered as record filters render theirs: equal for filters that differ
  // only in spacing, quoting or grouping; resume tokens hash it.
  const std::string& canonical() const { return canonical_; }

 private:
  explicit TrajectoryFilter(std::unique_ptr<filter_engine::Node> root);

  std::unique_ptr<filter_engine::Node> root_;  // null: matches everything
  std::optional<std::string> repo_;
  std::string canonical_;
};

}  // namespace fixmine::storage
