// The record filter language (docs/filters.md): the table of record fields the filter engine
// (storage/filter_engine.h) parses and evaluates, presets, and index hints.
#include "storage/filter.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fmt/format.h"
#include "re2/re2.h"
#include "storage/filter_engine.h"

namespace fixmine::storage {
namespace {

using filter_engine::Bit;
using filter_engine::Comparison;
using filter_engine::ContainsIgnoreCase;
using filter_engine::EqualsIgnoreCase;
using filter_engine::kEquality;
using filter_engine::Kind;
using filter_engine::kOrdered;
using filter_engine::Node;
using filter_engine::Op;
using filter_engine::Quote;
using filter_engine::QuoteShort;
using filter_engine::StartsWithIgnoreCase;
using filter_engine::TextTest;
using fixmine::v1::FileChange;
using fixmine::v1::Record;
using FieldSpec = filter_engine::FieldSpec<Record>;
using RegexFieldSpec = filter_engine::RegexFieldSpec<Record>;

// --- helpers used by the field table ---

template <typename Pred>
bool AnyFile(const Record& r, Pred pred) {
  return std::any_of(r.files().begin(), r.files().end(), pred);
}

bool PersonTest(const fixmine::v1::Signature& s, const Comparison& c) {
  if (c.op == Op::kHas) {
    return ContainsIgnoreCase(s.name(), c.folded) || ContainsIgnoreCase(s.email(), c.folded);
  }
  return s.name() == c.text || s.email() == c.text;
}

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool GlobTest(std::string_view path, const Comparison& c) {
  return RE2::FullMatch(c.basename ? BaseName(path) : path, *c.glob);
}

int64_t SumLines(const Record& r, bool added) {
  int64_t sum = 0;
  for (const FileChange& f : r.files()) sum += added ? f.added() : f.deleted();
  return sum;
}

// Presets: a name for a filter over fields the miner stores (docs/curation.md). Each keeps the
// records without a drop reason of its own, written "PRESET:RULE" by curation at mining time;
// `default` also drops exact duplicates (duplicate_of is set by the store, after curation).
// The field `preset = NAME` evaluates the same as the expression.
struct PresetSpec {
  std::string_view name;
  std::string_view expression;
};

constexpr PresetSpec kPresets[] = {
    {"default", "NOT drop = default AND NOT duplicate"},
    {"commitpackft", "NOT drop = commitpackft"},
};

// True when no drop reason of `record` belongs to preset `name` ("NAME:RULE") and, for
// `default`, the record is not an exact duplicate.
bool PassesPreset(const Record& r, std::string_view name) {
  if (name == "default" && !r.duplicate_of().empty()) return false;
  for (const std::string& reason : r.quality().drop_reasons()) {
    if (reason.size() > name.size() && reason[name.size()] == ':' &&
        std::string_view(reason).substr(0, name.size()) == name) {
      return false;
    }
  }
  return true;
}

std::string PresetNameList() {
  std::string out;
  for (const PresetSpec& p : kPresets) {
    if (!out.empty()) out += ", ";
    out += p.name;
  }
  return out;
}

// The `preset` field's value check: an unknown name is an error.
std::optional<filter_engine::ValueProblem> CheckPresetName(std::string_view name) {
  for (const PresetSpec& p : kPresets) {
    if (p.name == name) return std::nullopt;
  }
  return filter_engine::ValueProblem{fmt::format("unknown preset {}", QuoteShort(name)),
                                     fmt::format("known presets: {}", PresetNameList())};
}

// Every row says `reads_files`: true when its function looks at the record's files() (then a
// filter naming it is evaluated on the whole record; Filter::ReadsFiles). The filter tests
// check each row's flag against a record with and without its files.
const FieldSpec kFields[] = {
    {.info = {.name = "repo", .kind = Kind::kString, .ops = kEquality},
     .test = [](const Record& r, const Comparison& c) { return r.repo() == c.text; },
     .reads_files = false},
    {.info = {.name = "commit", .kind = Kind::kString, .ops = kEquality | Bit(Op::kHas)},
     .test =
         [](const Record& r, const Comparison& c) {
           return c.op == Op::kHas ? StartsWithIgnoreCase(r.commit(), c.text)
                                   : EqualsIgnoreCase(r.commit(), c.text);
         },
     .reads_files = false},
    {.info = {.name = "path", .kind = Kind::kGlob, .ops = kEquality | Bit(Op::kHas)},
     .test =
         [](const Record& r, const Comparison& c) {
           return AnyFile(r, [&](const FileChange& f) { return GlobTest(f.path(), c); });
         },
     .reads_files = true},
    {.info = {.name = "old_path", .kind = Kind::kGlob, .ops = kEquality | Bit(Op::kHas)},
     .test =
         [](const Record& r, const Comparison& c) {
           return AnyFile(r, [&](const FileChange& f) { return GlobTest(f.old_path(), c); });
         },
     .reads_files = true},
    {.info = {.name = "lang", .kind = Kind::kString, .ops = kEquality | Bit(Op::kHas)},
     .test =
         [](const Record& r, const Comparison& c) {
           return AnyFile(r, [&](const FileChange& f) {
             return c.op == Op::kHas ? EqualsIgnoreCase(f.language(), c.text)
                                     : f.language() == c.text;
           });
         },
     .reads_files = true},
    {.info = {.name = "author", .kind = Kind::kString, .ops = kEquality | Bit(Op::kHas)},
     .test = [](const Record& r, const Comparison& c) { return PersonTest(r.author(), c); },
     .reads_files = false},
    {.info = {.name = "committer", .kind = Kind::kString, .ops = kEquality | Bit(Op::kHas)},
     .test = [](const Record& r, const Comparison& c) { return PersonTest(r.committer(), c); },
     .reads_files = false},
    {.info = {.name = "message", .kind = Kind::kString, .ops = kEquality | Bit(Op::kHas)},
     .test = [](const Record& r, const Comparison& c) { return TextTest(r.message(), c); },
     .reads_files = false},
    {.info = {.name = "subject", .kind = Kind::kString, .ops = kEquality | Bit(Op::kHas)},
     .test = [](const Record& r, const Comparison& c) { return TextTest(r.subject(), c); },
     .reads_files = false},
    {.info = {.name = "committed_at", .kind = Kind::kTime, .ops = kOrdered},
     .number = [](const Record& r) -> int64_t { return r.committer().time(); },
     .reads_files = false},
    {.info = {.name = "authored_at", .kind = Kind::kTime, .ops = kOrdered},
     .number = [](const Record& r) -> int64_t { return r.author().time(); },
     .reads_files = false},
    {.info = {.name = "files", .kind = Kind::kNumber, .ops = kOrdered},
     .number = [](const Record& r) -> int64_t { return r.files_size(); },
     .reads_files = true},
    {.info = {.name = "added", .kind = Kind::kNumber, .ops = kOrdered},
     .number = [](const Record& r) { return SumLines(r, true); },
     .reads_files = true},
    {.info = {.name = "deleted", .kind = Kind::kNumber, .ops = kOrdered},
     .number = [](const Record& r) { return SumLines(r, false); },
     .reads_files = true},
    {.info = {.name = "is_fix", .kind = Kind::kBool, .ops = kEquality},
     .flag = [](const Record& r) { return r.labels().is_fix(); },
     .reads_files = false},
    {.info = {.name = "merge_resolution", .kind = Kind::kBool, .ops = kEquality},
     .flag = [](const Record& r) { return r.merge_resolution(); },
     .reads_files = false},
    {.info = {.name = "has_bug_link", .kind = Kind::kBool, .ops = kEquality},
     .flag = [](const Record& r) { return r.labels().bug_introducing_commits_size() > 0; },
     .reads_files = false},
    {.info = {.name = "has_fixed_by", .kind = Kind::kBool, .ops = kEquality},
     .flag = [](const Record& r) { return r.labels().fixed_by_size() > 0; },
     .reads_files = false},
    // GitHub issues the commit's pull request resolves (docs/github.md, "Links").
    {.info = {.name = "has_issue", .kind = Kind::kBool, .ops = kEquality},
     .flag = [](const Record& r) { return r.labels().issues_size() > 0; },
     .reads_files = false},
    {.info = {.name = "is_revert", .kind = Kind::kBool, .ops = kEquality},
     .flag = [](const Record& r) { return r.labels().is_revert(); },
     .reads_files = false},
    {.info = {.name = "is_bot", .kind = Kind::kBool, .ops = kEquality},
     .flag = [](const Record& r) { return r.labels().is_bot(); },
     .reads_files = false},
    {.info = {.name = "renames_skipped", .kind = Kind::kBool, .ops = kEquality},
     .flag = [](const Record& r) { return r.renames_skipped(); },
     .reads_files = false},
    {.info = {.name = "binary", .kind = Kind::kBool, .ops = kEquality},
     .flag =
         [](const Record& r) { return AnyFile(r, [](const FileChange& f) { return f.binary(); }); },
     .reads_files = true},
    {.info = {.name = "vendored", .kind = Kind::kBool, .ops = kEquality},
     .flag =
         [](const Record& r) {
           return AnyFile(r, [](const FileChange& f) { return f.vendored(); });
         },
     .reads_files = true},
    {.info = {.name = "generated", .kind = Kind::kBool, .ops = kEquality},
     .flag =
         [](const Record& r) {
           return AnyFile(r, [](const FileChange& f) { return f.generated(); });
         },
     .reads_files = true},
    {.info = {.name = "lockfile", .kind = Kind::kBool, .ops = kEquality},
     .flag =
         [](const Record& r) {
           return AnyFile(r, [](const FileChange& f) { return f.lockfile(); });
         },
     .reads_files = true},
    {.info = {.name = "documentation", .kind = Kind::kBool, .ops = kEquality},
     .flag =
         [](const Record& r) {
           return AnyFile(r, [](const FileChange& f) { return f.documentation(); });
         },
     .reads_files = true},
    {.info = {.name = "secrets_found", .kind = Kind::kBool, .ops = kEquality},
     .flag = [](const Record& r) { return r.secrets_found(); },
     .reads_files = false},
    {.info = {.name = "duplicate", .kind = Kind::kBool, .ops = kEquality},
     .flag = [](const Record& r) { return !r.duplicate_of().empty(); },
     .reads_files = false},
    {.info = {.name = "near_duplicate", .kind = Kind::kBool, .ops = kEquality},
     .flag = [](const Record& r) { return !r.near_duplicate_of().empty(); },
     .reads_files = false},
    {.info = {.name = "contaminated", .kind = Kind::kBool, .ops = kEquality},
     .flag = [](const Record& r) { return r.contamination_size() > 0; },
     .reads_files = false},
    {.info = {.name = "message_language", .kind = Kind::kString, .ops = kEquality | Bit(Op::kHas)},
     .test =
         [](const Record& r, const Comparison& c) {
           return c.op == Op::kHas ? EqualsIgnoreCase(r.message_language(), c.text)
                                   : r.message_language() == c.text;
         },
     .reads_files = false},
    {.info = {.name = "license", .kind = Kind::kString, .ops = kEquality | Bit(Op::kHas)},
     .test =
         [](const Record& r, const Comparison& c) {
           return c.op == Op::kHas ? EqualsIgnoreCase(r.license(), c.text) : r.license() == c.text;
         },
     .reads_files = false},
    {.info = {.name = "function", .kind = Kind::kString, .ops = kEquality | Bit(Op::kHas)},
     .test =
         [](const Record& r, const Comparison& c) {
           // `=`: a file's functions_changed has the name; `:`: a name contains the value,
           // ignoring case.
           return AnyFile(r, [&](const FileChange& f) {
             for (const std::string& name : f.functions_changed()) {
               if (c.op == Op::kHas ? ContainsIgnoreCase(name, c.folded) : name == c.text) {
                 return true;
               }
             }
             return false;
           });
         },
     .reads_files = true},
    {.info = {.name = "license_unsure", .kind = Kind::kBool, .ops = kEquality},
     .flag = [](const Record& r) { return r.license_unsure(); },
     .reads_files = false},
    {.info = {.name = "preset", .kind = Kind::kString, .ops = kEquality, .check = CheckPresetName},
     .test = [](const Record& r, const Comparison& c) { return PassesPreset(r, c.text); },
     .reads_files = false},
    {.info = {.name = "drop", .kind = Kind::kString, .ops = kEquality | Bit(Op::kHas)},
     .test =
         [](const Record& r, const Comparison& c) {
           // `=`: a reason equals the value, or the value names its preset ("commitpackft"
           // matches "commitpackft:not_imperative"); `:`: a reason contains it, ignoring case.
           for (const std::string& reason : r.quality().drop_reasons()) {
             if (c.op == Op::kHas) {
               if (ContainsIgnoreCase(reason, c.folded)) return true;
             } else if (reason == c.text ||
                        (reason.size() > c.text.size() && reason[c.text.size()] == ':' &&
                         std::string_view(reason).substr(0, c.text.size()) == c.text)) {
               return true;
             }
           }
           return false;
         },
     .reads_files = false},
};

// Fields regex(field, pattern) applies to: true when the pattern matches somewhere in one of
// the field's strings.

const RegexFieldSpec kRegexFields[] = {
    {.name = "message",
     .test = [](const Record& r, const RE2& re) { return RE2::PartialMatch(r.message(), re); },
     .reads_files = false},
    {.name = "subject",
     .test = [](const Record& r, const RE2& re) { return RE2::PartialMatch(r.subject(), re); },
     .reads_files = false},
    {.name = "path",
     .test =
         [](const Record& r, const RE2& re) {
           return AnyFile(r, [&](const FileChange& f) { return RE2::PartialMatch(f.path(), re); });
         },
     .reads_files = true},
    {.name = "old_path",
     .test =
         [](const Record& r, const RE2& re) {
           return AnyFile(r,
                          [&](const FileChange& f) { return RE2::PartialMatch(f.old_path(), re); });
         },
     .reads_files = true},
};

const filter_engine::Grammar& RecordGrammar() {
  static const auto* grammar =
      new filter_engine::Grammar(filter_engine::MakeGrammar<Record>(kFields, kRegexFields));
  return *grammar;
}

absl::StatusOr<std::unique_ptr<Node>> ParseTree(std::string_view text) {
  return filter_engine::Parse(RecordGrammar(), text);
}

void CollectHint(const Comparison& c, FilterHints* hints) {
  std::string_view name = c.info->name;
  if (name == "repo" && c.op == Op::kEq) {
    if (!hints->repo) hints->repo = c.text;
  } else if (name == "lang" && c.op == Op::kEq) {
    // Only '=' (exact spelling) implies an exact index key; ':' ignores case.
    if (!hints->language) hints->language = c.text;
  } else if (name == "committed_at") {
    auto raise_min = [&](int64_t v) { hints->min_time = std::max(hints->min_time.value_or(v), v); };
    auto lower_max = [&](int64_t v) { hints->max_time = std::min(hints->max_time.value_or(v), v); };
    switch (c.op) {
      case Op::kEq:
        raise_min(c.number);
        lower_max(c.number);
        break;
      case Op::kGt:
        if (c.number < INT64_MAX) raise_min(c.number + 1);
        break;
      case Op::kGe:
        raise_min(c.number);
        break;
      case Op::kLt:
        if (c.number > INT64_MIN) lower_max(c.number - 1);
        break;
      case Op::kLe:
        lower_max(c.number);
        break;
      default:
        break;
    }
  }
}

class ParsedFilter final : public Filter {
 public:
  explicit ParsedFilter(std::unique_ptr<Node> root)
      : root_(std::move(root)), canonical_(filter_engine::Render(RecordGrammar(), root_.get())) {
    filter_engine::ForEachRequired(root_.get(),
                                   [&](const Comparison& c) { CollectHint(c, &hints_); });
    reads_files_ = root_ != nullptr && ReadsFilesIn(*root_);
  }

  bool Matches(const Record& record) const override {
    return root_ == nullptr || filter_engine::Eval<Record>(*root_, record, kFields, kRegexFields);
  }
  bool ReadsFiles() const override { return reads_files_; }
  const FilterHints& hints() const override { return hints_; }
  const std::string& canonical() const override { return canonical_; }

 private:
  // True when a comparison or regex anywhere in `n` is on a field whose row reads files.
  static bool ReadsFilesIn(const Node& n) {
    switch (n.type) {
      case Node::Type::kCompare:
        return kFields[n.cmp.field].reads_files;
      case Node::Type::kRegex:
        return kRegexFields[n.regex_field].reads_files;
      default:
        return std::any_of(n.children.begin(), n.children.end(),
                           [](const std::unique_ptr<Node>& c) { return ReadsFilesIn(*c); });
    }
  }

  std::unique_ptr<Node> root_;  // null: matches everything
  std::string canonical_;
  FilterHints hints_;
  bool reads_files_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Filter>> Filter::Parse(std::string_view text) {
  auto root = ParseTree(text);
  if (!root.ok()) return root.status();
  return std::make_unique<ParsedFilter>(std::move(*root));
}

absl::StatusOr<std::string> Filter::PresetExpression(std::string_view name) {
  for (const PresetSpec& p : kPresets) {
    if (p.name == name) return std::string(p.expression);
  }
  return absl::InvalidArgumentError(
      fmt::format("preset {} is unknown; known presets: {}", QuoteShort(name), PresetNameList()));
}

std::vector<std::string> Filter::PresetNames() {
  std::vector<std::string> out;
  for (const PresetSpec& p : kPresets) out.emplace_back(p.name);
  return out;
}

std::string Filter::ApplyPreset(std::string_view text, std::string_view preset) {
  if (preset.empty()) return std::string(text);
  auto both = ParseWithPreset(text, preset);
  if (both.ok()) return (*both)->canonical();
  // Keep the error the filter's own text gives (with its columns); else the preset's.
  if (!Parse(text).ok()) return std::string(text);
  return "preset = " + Quote(preset);
}

absl::StatusOr<std::unique_ptr<Filter>> Filter::ParseWithPreset(std::string_view text,
                                                                std::string_view preset) {
  if (preset.empty()) return Parse(text);
  auto expression = PresetExpression(preset);
  if (!expression.ok()) return expression.status();
  if (absl::Status st = CheckFilterSize(text); !st.ok()) return st;
  auto preset_root = ParseTree("preset = " + Quote(preset));
  if (!preset_root.ok()) return preset_root.status();
  auto root = ParseTree(text);
  if (!root.ok()) return root.status();
  // One AND chain: the preset first, then the filter's own top-level terms (so its index hints
  // still apply).
  return std::make_unique<ParsedFilter>(
      filter_engine::AndChain(std::move(*preset_root), std::move(*root)));
}

std::string Filter::AndTerm(std::string_view text, std::string_view term) {
  auto term_root = ParseTree(term);
  auto root = ParseTree(text);
  if (!root.ok() || !term_root.ok() || *term_root == nullptr) return std::string(text);
  return ParsedFilter(filter_engine::AndChain(std::move(*term_root), std::move(*root))).canonical();
}

}  // namespace fixmine::storage
