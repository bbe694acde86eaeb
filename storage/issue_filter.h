#pragma once

// The issue filter language (docs/filters.md, "Issue filters"): the filter engine
// (storage/filter_engine.h) over the table of stored GitHub issue fields.

#include "fixmine/v1/github.pb.h"
#include "storage/filter_engine.h"

namespace fixmine::storage {

// The issue fields (storage/issue_filter.cc).
struct IssueFields {
  using Subject = fixmine::v1::Issue;
  static const filter_engine::Language<Subject>& Get();
};

// A parsed issue filter: the record filter grammar over the fields number (= != < <= > >=),
// state, author, label (=, != ; label: one of the issue's labels), title (= exact, ':'
// case-insensitive substring), created_at, updated_at, closed_at (times as in record filters),
// closed (bare, or = true|false), and regex(title|body, PATTERN). Parse, Matches and canonical
// as filter_engine::TableFilter says (an unknown field names the issue fields); repo() is
// always empty. Immutable after Parse; Matches is thread-safe.
using IssueFilter = filter_engine::TableFilter<IssueFields>;

}  // namespace fixmine::storage
