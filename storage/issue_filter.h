#pragma once

// The issue filter language (docs/filters.md, "Issue filters"): the filter engine
// (storage/filter_engine.h) over the table of stored GitHub issue fields.

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "fixmine/v1/github.pb.h"

namespace fixmine::storage {

namespace filter_engine {
struct Node;
}

// A parsed issue filter: the record filter grammar over the fields number (= != < <= > >=),
// state, author, label (=, != ; label: one of the issue's labels), title (= exact, ':'
// case-insensitive substring), created_at, updated_at, closed_at (times as in record filters),
// closed (bare, or = true|false), and regex(title|body, PATTERN). Immutable after Parse;
// Matches is thread-safe.
class IssueFilter {
 public:
  // Parses `text` (empty or blank matches everything). INVALID_ARGUMENT as the record filter's
  // Parse, naming the issue fields for an unknown one.
  static absl::StatusOr<std::unique_ptr<IssueFilter>> Parse(std::string_view text);

  ~IssueFilter();

  // True when `i` satisfies the expression.
  bool Matches(const fixmine::v1::Issue& i) const;
  // Canonical text (resume tokens hash it).
  const std::string& canonical() const { return canonical_; }

 private:
  explicit IssueFilter(std::unique_ptr<filter_engine::Node> root);

  std::unique_ptr<filter_engine::Node> root_;  // null: matches everything
  std::string canonical_;
};

}  // namespace fixmine::storage
