#pragma once

// The instance filter language (docs/filters.md, "Instance filters"): the filter engine
// (storage/filter_engine.h) over the table of task-instance fields.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "fixmine/v1/github.pb.h"

namespace fixmine::storage {

namespace filter_engine {
struct Node;
}

// A parsed instance filter: the record filter grammar (AND, OR, NOT / '-', parentheses,
// regex()) over the fields repo (registered name), github_repo, instance_id (= !=), label (= a
// curation label the instance carries), pull_number, issue_count (= != < <= > >=), created_at
// (times as in record filters), has_test_patch, contaminated (bare, or = true|false), and
// regex(problem_statement|hints_text|patch, PATTERN). Immutable after Parse; Matches is
// thread-safe.
class InstanceFilter {
 public:
  // Parses `text` (empty or blank matches everything). INVALID_ARGUMENT as the record filter's
  // Parse.
  static absl::StatusOr<std::unique_ptr<InstanceFilter>> Parse(std::string_view text);

  ~InstanceFilter();

  // True when `i` satisfies the expression.
  bool Matches(const fixmine::v1::Instance& i) const;
  // The registered repository every match has (first `repo = X` of the top-level AND chain).
  const std::optional<std::string>& repo() const { return repo_; }
  // Canonical text (resume tokens hash it).
  const std::string& canonical() const { return canonical_; }

 private:
  explicit InstanceFilter(std::unique_ptr<filter_engine::Node> root);

  std::unique_ptr<filter_engine::Node> root_;  // null: matches everything
  std::optional<std::string> repo_;
  std::string canonical_;
};

}  // namespace fixmine::storage
