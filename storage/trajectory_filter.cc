// The trajectory filter language: the table of trajectory fields the filter engine
// (storage/filter_engine.h) parses and evaluates.
#include "storage/trajectory_filter.h"

#include <cstdint>
#include <string_view>

#include "re2/re2.h"
#include "storage/filter_engine.h"

namespace fixmine::storage {
namespace {

using filter_engine::Bit;
using filter_engine::Comparison;
using filter_engine::kEquality;
using filter_engine::Kind;
using filter_engine::kOrdered;
using filter_engine::Op;
using filter_engine::TextTest;
using fixmine::v1::Trajectory;
using FieldSpec = filter_engine::FieldSpec<Trajectory>;
using RegexFieldSpec = filter_engine::RegexFieldSpec<Trajectory>;

// docs/filters.md, "Trajectory filters", lists these; keep the two in step.
const FieldSpec kFields[] = {
    {.info = {.name = "repo", .kind = Kind::kString, .ops = kEquality},
     .test = [](const Trajectory& t, const Comparison& c) { return t.repo() == c.text; }},
    {.info = {.name = "kind", .kind = Kind::kString, .ops = kEquality},
     .test = [](const Trajectory& t, const Comparison& c) { return t.kind() == c.text; }},
    {.info = {.name = "merge_commit", .kind = Kind::kString, .ops = kEquality},
     .test = [](const Trajectory& t, const Comparison& c) { return t.merge_commit() == c.text; }},
    {.info = {.name = "title", .kind = Kind::kString, .ops = kEquality | Bit(Op::kHas)},
     .test = [](const Trajectory& t, const Comparison& c) { return TextTest(t.title(), c); }},
    {.info = {.name = "source_branch", .kind = Kind::kString, .ops = kEquality | Bit(Op::kHas)},
     .test = [](const Trajectory& t,
                const Comparison& c) { return TextTest(t.source_branch(), c); }},
    {.info = {.name = "step_count", .kind = Kind::kNumber, .ops = kOrdered},
     .number = [](const Trajectory& t) -> int64_t { return t.step_count(); }},
    {.info = {.name = "pr_number", .kind = Kind::kNumber, .ops = kOrdered},
     .number = [](const Trajectory& t) -> int64_t { return t.pr_number(); }},
    {.info = {.name = "merged_at", .kind = Kind::kTime, .ops = kOrdered},
     .number = [](const Trajectory& t) -> int64_t { return t.merged_by().time(); }},
    {.info = {.name = "any_fix", .kind = Kind::kBool, .ops = kEquality},
     .flag = [](const Trajectory& t) { return t.any_fix(); }},
    // An alias of any_fix, for symmetry with the record field.
    {.info = {.name = "is_fix", .kind = Kind::kBool, .ops = kEquality},
     .flag = [](const Trajectory& t) { return t.any_fix(); }},
};

const RegexFieldSpec kRegexFields[] = {
    {"title", [](const Trajectory& t, const RE2& re) { return RE2::PartialMatch(t.title(), re); }},
    {"source_branch",
     [](const Trajectory& t, const RE2& re) { return RE2::PartialMatch(t.source_branch(), re); }},
    {"message",
     [](const Trajectory& t, const RE2& re) { return RE2::PartialMatch(t.message(), re); }},
};

}  // namespace

const filter_engine::Language<Trajectory>& TrajectoryFields::Get() {
  static const auto* language = new filter_engine::Language<Trajectory>(kFields, kRegexFields);
  return *language;
}

}  // namespace fixmine::storage
