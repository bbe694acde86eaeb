// The instance filter language: the table of task-instance fields for the filter engine.
#include "storage/instance_filter.h"

#include <algorithm>
#include <cstdint>
#include <string_view>

#include "absl/time/time.h"
#include "re2/re2.h"
#include "storage/filter_engine.h"

namespace fixmine::storage {
namespace {

using filter_engine::Comparison;
using filter_engine::kEquality;
using filter_engine::Kind;
using filter_engine::kOrdered;
using fixmine::v1::Instance;
using FieldSpec = filter_engine::FieldSpec<Instance>;
using RegexFieldSpec = filter_engine::RegexFieldSpec<Instance>;

int64_t CreatedAt(const Instance& i) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, i.created_at(), &t, &err)) return 0;
  return absl::ToUnixSeconds(t);
}

// docs/filters.md, "Instance filters", lists these; keep the two in step.
const FieldSpec kFields[] = {
    {.info = {.name = "repo", .kind = Kind::kString, .ops = kEquality},
     .test = [](const Instance& i, const Comparison& c) { return i.repo_name() == c.text; }},
    {.info = {.name = "github_repo", .kind = Kind::kString, .ops = kEquality},
     .test = [](const Instance& i,
                const Comparison& c) { return filter_engine::EqualsIgnoreCase(i.repo(), c.text); }},
    {.info = {.name = "instance_id", .kind = Kind::kString, .ops = kEquality},
     .test = [](const Instance& i, const Comparison& c) { return i.instance_id() == c.text; }},
    {.info = {.name = "label", .kind = Kind::kString, .ops = kEquality},
     .test =
         [](const Instance& i, const Comparison& c) {
           return std::find(i.labels().begin(), i.labels().end(), c.text) != i.labels().end();
         }},
    {.info = {.name = "pull_number", .kind = Kind::kNumber, .ops = kOrdered},
     .number = [](const Instance& i) -> int64_t { return i.pull_number(); }},
    {.info = {.name = "issue_count", .kind = Kind::kNumber, .ops = kOrdered},
     .number = [](const Instance& i) -> int64_t { return i.issues_size(); }},
    {.info = {.name = "created_at", .kind = Kind::kTime, .ops = kOrdered},
     .number = [](const Instance& i) -> int64_t { return CreatedAt(i); }},
    {.info = {.name = "has_test_patch", .kind = Kind::kBool, .ops = kEquality},
     .flag = [](const Instance& i) { return !i.test_patch().empty(); }},
    {.info = {.name = "contaminated", .kind = Kind::kBool, .ops = kEquality},
     .flag = [](const Instance& i) { return i.contamination_size() > 0; }},
};

const RegexFieldSpec kRegexFields[] = {
    {"problem_statement",
     [](const Instance& i, const RE2& re) { return RE2::PartialMatch(i.problem_statement(), re); }},
    {"hints_text",
     [](const Instance& i, const RE2& re) { return RE2::PartialMatch(i.hints_text(), re); }},
    {"patch", [](const Instance& i, const RE2& re) { return RE2::PartialMatch(i.patch(), re); }},
};

}  // namespace

const filter_engine::Language<Instance>& InstanceFields::Get() {
  static const auto* language = new filter_engine::Language<Instance>(kFields, kRegexFields);
  return *language;
}

}  // namespace fixmine::storage
