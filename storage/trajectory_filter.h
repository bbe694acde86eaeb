#pragma once

// The trajectory filter language (docs/filters.md, "Trajectory filters"): the filter engine
// (storage/filter_engine.h) over the table of trajectory fields.

#include "fixmine/v1/trajectories.pb.h"
#include "storage/filter_engine.h"

namespace fixmine::storage {

// The trajectory fields (storage/trajectory_filter.cc).
struct TrajectoryFields {
  using Subject = fixmine::v1::Trajectory;
  static const filter_engine::Language<Subject>& Get();
};

// A parsed trajectory filter: the record filter grammar (AND, OR, NOT / '-', parentheses,
// regex()) over the fields repo, kind, merge_commit (= !=), title, source_branch (= exact, ':'
// case-insensitive substring), step_count, pr_number (= != < <= > >=), merged_at (the same
// operators, times as in record filters), any_fix / is_fix (bare, or = true|false), and
// regex(title|source_branch|message, PATTERN). Parse, Matches, canonical and repo() (the
// repository every match has, so the scan reads only its keys) as filter_engine::TableFilter
// says. Immutable after Parse; Matches is thread-safe.
using TrajectoryFilter = filter_engine::TableFilter<TrajectoryFields>;

}  // namespace fixmine::storage
