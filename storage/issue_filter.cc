// The issue filter language: the table of stored GitHub issue fields for the filter engine.
#include "storage/issue_filter.h"

#include <algorithm>
#include <cstdint>

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
using fixmine::v1::Issue;
using FieldSpec = filter_engine::FieldSpec<Issue>;
using RegexFieldSpec = filter_engine::RegexFieldSpec<Issue>;

// docs/filters.md, "Issue filters", lists these; keep the two in step.
const FieldSpec kFields[] = {
    {.info = {.name = "number", .kind = Kind::kNumber, .ops = kOrdered},
     .number = [](const Issue& i) -> int64_t { return i.number(); }},
    {.info = {.name = "state", .kind = Kind::kString, .ops = kEquality},
     .test = [](const Issue& i, const Comparison& c) { return i.state() == c.text; }},
    {.info = {.name = "author", .kind = Kind::kString, .ops = kEquality},
     .test = [](const Issue& i, const Comparison& c) { return i.author() == c.text; }},
    {.info = {.name = "label", .kind = Kind::kString, .ops = kEquality},
     .test =
         [](const Issue& i, const Comparison& c) {
           return std::find(i.labels().begin(), i.labels().end(), c.text) != i.labels().end();
         }},
    {.info = {.name = "title", .kind = Kind::kString, .ops = kEquality | Bit(Op::kHas)},
     .test = [](const Issue& i, const Comparison& c) { return TextTest(i.title(), c); }},
    {.info = {.name = "created_at", .kind = Kind::kTime, .ops = kOrdered},
     .number = [](const Issue& i) -> int64_t { return i.created_at(); }},
    {.info = {.name = "updated_at", .kind = Kind::kTime, .ops = kOrdered},
     .number = [](const Issue& i) -> int64_t { return i.updated_at(); }},
    {.info = {.name = "closed_at", .kind = Kind::kTime, .ops = kOrdered},
     .number = [](const Issue& i) -> int64_t { return i.closed_at(); }},
    {.info = {.name = "closed", .kind = Kind::kBool, .ops = kEquality},
     .flag = [](const Issue& i) { return i.state() == "closed"; }},
};

const RegexFieldSpec kRegexFields[] = {
    {"title", [](const Issue& i, const RE2& re) { return RE2::PartialMatch(i.title(), re); }},
    {"body", [](const Issue& i, const RE2& re) { return RE2::PartialMatch(i.body(), re); }},
};

}  // namespace

const filter_engine::Language<Issue>& IssueFields::Get() {
  static const auto* language = new filter_engine::Language<Issue>(kFields, kRegexFields);
  return *language;
}

}  // namespace fixmine::storage
