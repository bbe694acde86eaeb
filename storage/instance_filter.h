#pragma once

// The instance filter language (docs/filters.md, "Instance filters"): the filter engine
// (storage/filter_engine.h) over the table of task-instance fields.

#include "fixmine/v1/github.pb.h"
#include "storage/filter_engine.h"

namespace fixmine::storage {

// The task-instance fields (storage/instance_filter.cc).
struct InstanceFields {
  using Subject = fixmine::v1::Instance;
  static const filter_engine::Language<Subject>& Get();
};

// A parsed instance filter: the record filter grammar (AND, OR, NOT / '-', parentheses,
// regex()) over the fields repo (registered name), github_repo, instance_id (= !=), label (= a
// curation label the instance carries), pull_number, issue_count (= != < <= > >=), created_at
// (times as in record filters), has_test_patch, contaminated (bare, or = true|false), and
// regex(problem_statement|hints_text|patch, PATTERN). Parse, Matches, canonical and repo() (the
// registered repository every match has) as filter_engine::TableFilter says. Immutable after
// Parse; Matches is thread-safe.
using InstanceFilter = filter_engine::TableFilter<InstanceFields>;

}  // namespace fixmine::storage
