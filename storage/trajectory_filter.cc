// The trajectory filter language: the table of trajectory fields the filter engine
// (storage/filter_engine.h) parses and evaluates, and the repository hint.
#include "storage/trajectory_filter.h"

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>

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

const filter_engine::Grammar& TrajectoryGrammar() {
  static const auto* grammar =
      new filter_engine::Grammar(filter_engine::MakeGrammar<Trajectory>(kFields, kRegexFields));
  return *grammar;
}

}  // namespace

TrajectoryFilter::TrajectoryFilter(std::unique_ptr<filter_engine::Node> root)
    : root_(std::move(root)), canonical_(filter_engine::Render(TrajectoryGrammar(), root_.get())) {
  filter_engine::ForEachRequired(root_.get(), [&](const Comparison& c) {
    if (!repo_ && c.info->name == "repo" && c.op == Op::kEq) repo_ = c.text;
  });
}

TrajectoryFilter::~TrajectoryFilter() = default;

absl::StatusOr<std::unique_ptr<TrajectoryFilter>> TrajectoryFilter::Parse(std::string_view text) {
  auto root = filter_engine::Parse(TrajectoryGrammar(), text);
  if (!root.ok()) return root.status();
  return std::unique_ptr<TrajectoryFilter>(new TrajectoryFilter(std::move(*root)));
}

bool TrajectoryFilter::Matches(const Trajectory& t) const {
  return root_ == nullptr || filter_engine::Eval<Trajectory>(*root_, t, kFields, kRegexFields);
}

}  // namespace fixmine::storage
