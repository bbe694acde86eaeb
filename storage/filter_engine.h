#pragma once

// The one filter engine (docs/filters.md): lexer, parser, canonical renderer, limits and the
// top-level AND chain that index hints come from, over a table of fields. Each filter language
// is an instantiation: a table of FieldSpec<Subject> and RegexFieldSpec<Subject> rows, turned
// into a Grammar once, and Eval<Subject> over the parsed tree. storage/filter.cc instantiates it
// for records (Filter, with presets and index hints of its own); the other languages are a
// TableFilter over their table: storage/trajectory_filter.h (TrajectoryFilter),
// storage/issue_filter.h (IssueFilter) and storage/instance_filter.h (InstanceFilter).
// Callers use those classes; the rest of this header is internal to storage/.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "re2/re2.h"

namespace fixmine::storage::filter_engine {

enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kHas };

constexpr uint32_t Bit(Op op) { return 1u << static_cast<int>(op); }
constexpr uint32_t kEquality = Bit(Op::kEq) | Bit(Op::kNe);
constexpr uint32_t kOrdered = kEquality | Bit(Op::kLt) | Bit(Op::kLe) | Bit(Op::kGt) | Bit(Op::kGe);

// How a field's value is parsed, compared and rendered.
enum class Kind {
  kString,  // text; the field's `test` decides = and :
  kGlob,    // a glob over file paths; `test` decides = and :
  kNumber,  // an integer; `number` gives the subject's value
  kTime,    // a point in time (Unix seconds); `number` gives the subject's value
  kBool,    // true/false, usable bare; `flag` gives the subject's value
};

// Why a value is refused by a field's own check: "<what>; <expected>" in the error.
struct ValueProblem {
  std::string what;
  std::string expected;
};

// What the parser and renderer know of a field: no access to the subject.
struct FieldInfo {
  std::string_view name;
  Kind kind;
  uint32_t ops;  // operators allowed, as Bit(Op)
  // Optional further check of a kString value (an unknown preset name, say).
  std::optional<ValueProblem> (*check)(std::string_view value) = nullptr;
};

// The names a language knows, in documentation order (for "known fields: ..." messages).
struct Grammar {
  std::vector<FieldInfo> fields;
  std::vector<std::string_view> regex_fields;  // fields regex(FIELD, PATTERN) applies to
};

// A parsed `field op value`.
struct Comparison {
  size_t field = 0;  // index into the Grammar's (and the typed table's) fields
  const FieldInfo* info = nullptr;
  Op op = Op::kEq;
  std::string text;           // the string value (kString, kGlob), or the value as written
  std::string folded;         // `text` in ASCII lower case
  int64_t number = 0;         // kNumber, kTime
  bool flag = false;          // kBool
  bool basename = false;      // kGlob with ':' and no '/': match file base names
  std::unique_ptr<RE2> glob;  // kGlob, compiled
};

struct Node {
  enum class Type { kAnd, kOr, kNot, kCompare, kRegex } type;
  std::vector<std::unique_ptr<Node>> children;  // kAnd, kOr (two or more), kNot (one)
  Comparison cmp;                               // kCompare
  size_t regex_field = 0;                       // kRegex: index into Grammar::regex_fields
  std::unique_ptr<RE2> regex;                   // kRegex
};

// Parses `text` against `grammar`: null for an empty or all-blank text. INVALID_ARGUMENT with
// "filter: column N: what is wrong; what was expected" for a text over kMaxFilterBytes (see
// storage/filter.h), a bad expression, an unknown field (naming the known ones), a bad value or
// a regex RE2 rejects or finds too large, or nesting beyond the limits in docs/filters.md.
absl::StatusOr<std::unique_ptr<Node>> Parse(const Grammar& grammar, std::string_view text);

// The canonical text of `root` (null: empty): equal for filters that differ only in spacing,
// quoting, grouping of a chain, `-` versus NOT or the spelling of a time; it parses back to the
// same tree.
std::string Render(const Grammar& grammar, const Node* root);

// `first` AND `rest` as one chain: `first`, then `rest`'s top-level terms (so hints from both
// still apply). `rest` may be null.
std::unique_ptr<Node> AndChain(std::unique_ptr<Node> first, std::unique_ptr<Node> rest);

// Calls `visit` for each comparison of the top-level AND chain of `root` (null: none): what
// every match must satisfy, for index hints.
void ForEachRequired(const Node* root, const std::function<void(const Comparison&)>& visit);

// A string in double quotes with ", \, newline, tab and CR escaped, as the canonical text
// writes it; QuoteShort shortens long values for messages.
std::string Quote(std::string_view s);
std::string QuoteShort(std::string_view s);

// ASCII case folding helpers for field tables. `needle_folded` is already lower case.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle_folded);
bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix);
// `=`: equal; `:`: contains, ignoring case.
bool TextTest(std::string_view value, const Comparison& c);

// --- typed tables ---

// One row per field of a language over `Subject`: adding a field is adding a row.
template <typename Subject>
struct FieldSpec {
  FieldInfo info;
  // kString, kGlob: decides Op::kEq and Op::kHas (Op::kNe is the negation of Op::kEq).
  bool (*test)(const Subject&, const Comparison&) = nullptr;
  // kNumber, kTime.
  int64_t (*number)(const Subject&) = nullptr;
  // kBool.
  bool (*flag)(const Subject&) = nullptr;
  // Whether the row's function reads the subject's bulk part (Record: its `files`), so a
  // filter naming only rows without it may run on a subject parsed without that part
  // (Filter::ReadsFiles). Every Record row says it; the default is the safe answer.
  bool reads_files = true;
};

// One row per field regex(field, pattern) applies to: true when the pattern matches somewhere
// in one of the field's strings.
template <typename Subject>
struct RegexFieldSpec {
  std::string_view name;
  bool (*test)(const Subject&, const RE2&);
  // As FieldSpec::reads_files.
  bool reads_files = true;
};

template <typename Subject>
Grammar MakeGrammar(std::span<const FieldSpec<Subject>> fields,
                    std::span<const RegexFieldSpec<Subject>> regex_fields) {
  Grammar g;
  for (const auto& f : fields) g.fields.push_back(f.info);
  for (const auto& r : regex_fields) g.regex_fields.push_back(r.name);
  return g;
}

// True when `subject` satisfies the tree `n`, whose field indexes refer to `fields` and
// `regex_fields` (the tables the Grammar was made from).
template <typename Subject>
bool Eval(const Node& n, const Subject& subject, std::span<const FieldSpec<Subject>> fields,
          std::span<const RegexFieldSpec<Subject>> regex_fields) {
  switch (n.type) {
    case Node::Type::kAnd:
      return std::all_of(n.children.begin(), n.children.end(),
                         [&](const auto& c) { return Eval(*c, subject, fields, regex_fields); });
    case Node::Type::kOr:
      return std::any_of(n.children.begin(), n.children.end(),
                         [&](const auto& c) { return Eval(*c, subject, fields, regex_fields); });
    case Node::Type::kNot:
      return !Eval(*n.children[0], subject, fields, regex_fields);
    case Node::Type::kRegex:
      return regex_fields[n.regex_field].test(subject, *n.regex);
    case Node::Type::kCompare:
      break;
  }
  const Comparison& c = n.cmp;
  const FieldSpec<Subject>& f = fields[c.field];
  switch (f.info.kind) {
    case Kind::kString:
    case Kind::kGlob:
      return c.op == Op::kNe ? !f.test(subject, c) : f.test(subject, c);
    case Kind::kBool:
      return c.op == Op::kNe ? f.flag(subject) != c.flag : f.flag(subject) == c.flag;
    case Kind::kNumber:
    case Kind::kTime: {
      int64_t v = f.number(subject);
      switch (c.op) {
        case Op::kEq:
          return v == c.number;
        case Op::kNe:
          return v != c.number;
        case Op::kLt:
          return v < c.number;
        case Op::kLe:
          return v <= c.number;
        case Op::kGt:
          return v > c.number;
        case Op::kGe:
          return v >= c.number;
        case Op::kHas:
          return false;  // rejected by the parser
      }
    }
  }
  return false;
}

// A language's tables and the Grammar made from them, built once (a function-local static in
// the language's .cc file) and never destroyed.
template <typename Subject>
class Language {
 public:
  Language(std::span<const FieldSpec<Subject>> fields,
           std::span<const RegexFieldSpec<Subject>> regex_fields)
      : fields_(fields), regex_fields_(regex_fields), grammar_(MakeGrammar(fields, regex_fields)) {}

  std::span<const FieldSpec<Subject>> fields() const { return fields_; }
  std::span<const RegexFieldSpec<Subject>> regex_fields() const { return regex_fields_; }
  const Grammar& grammar() const { return grammar_; }

 private:
  std::span<const FieldSpec<Subject>> fields_;
  std::span<const RegexFieldSpec<Subject>> regex_fields_;
  Grammar grammar_;
};

// A parsed filter of the language `Fields` describes: `Fields::Subject` is the message it
// matches and `Fields::Get()` returns its Language (the one table, in the language's .cc
// file). Immutable after Parse; Matches is thread-safe.
template <typename Fields>
class TableFilter {
 public:
  using Subject = typename Fields::Subject;

  // Parses `text` (empty or blank matches everything). INVALID_ARGUMENT with
  // "filter: column N: what is wrong; what was expected" for a bad expression, an unknown field
  // (naming the language's fields), a bad value or regex, or a text over kMaxFilterBytes.
  static absl::StatusOr<std::unique_ptr<TableFilter>> Parse(std::string_view text) {
    auto root = filter_engine::Parse(Fields::Get().grammar(), text);
    if (!root.ok()) return root.status();
    return std::unique_ptr<TableFilter>(new TableFilter(std::move(*root)));
  }

  // True when `subject` satisfies the expression.
  bool Matches(const Subject& subject) const {
    const Language<Subject>& language = Fields::Get();
    return root_ == nullptr ||
           Eval<Subject>(*root_, subject, language.fields(), language.regex_fields());
  }
  // The repository every match has: the first `repo = X` of the top-level AND chain (a scan
  // reads only that repository's keys). Empty when there is none, or the language has no
  // field `repo`.
  const std::optional<std::string>& repo() const { return repo_; }
  // Canonical text, rendered as record filters render theirs: equal for filters that differ
  // only in spacing, quoting or grouping; resume tokens hash it.
  const std::string& canonical() const { return canonical_; }

 private:
  explicit TableFilter(std::unique_ptr<Node> root)
      : root_(std::move(root)), canonical_(Render(Fields::Get().grammar(), root_.get())) {
    ForEachRequired(root_.get(), [&](const Comparison& c) {
      if (!repo_ && c.info->name == "repo" && c.op == Op::kEq) repo_ = c.text;
    });
  }

  std::unique_ptr<Node> root_;  // null: matches everything
  std::optional<std::string> repo_;
  std::string canonical_;
};

}  // namespace fixmine::storage::filter_engine
