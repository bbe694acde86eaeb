// The record filter language (docs/filters.md): a hand-written recursive-descent parser over the
// raw text, a table of fields, and a small tree evaluated per record.
#include "storage/filter.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "common/time.h"
#include "fmt/format.h"
#include "re2/re2.h"

namespace fixmine::storage {
namespace {

using fixmine::v1::FileChange;
using fixmine::v1::Record;

// Limits; docs/filters.md states them.
constexpr size_t kMaxFilterBytes = 4096;
// RE2's own default tops out far higher; this keeps one filter's regexes small enough that a
// scan over millions of records stays cheap and a request cannot pin megabytes of automata.
constexpr int kMaxRegexProgramSize = 10000;
// How deep NOT, AND and OR may nest in a parsed filter. It is checked on the parsed tree, so the
// canonical text (which parenthesises every AND and OR) parses within it too.
constexpr int kMaxDepth = 64;
// Parentheses and NOT nest by recursion; this bounds the parser's stack. The canonical text of a
// tree within kMaxDepth nests at most one parenthesis or NOT per level, plus one.
constexpr int kMaxParseDepth = 2 * kMaxDepth + 2;

enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kHas };

constexpr uint32_t Bit(Op op) { return 1u << static_cast<int>(op); }
constexpr uint32_t kEquality = Bit(Op::kEq) | Bit(Op::kNe);
constexpr uint32_t kOrdered = kEquality | Bit(Op::kLt) | Bit(Op::kLe) | Bit(Op::kGt) | Bit(Op::kGe);

std::string_view OpText(Op op) {
  switch (op) {
    case Op::kEq:
      return "=";
    case Op::kNe:
      return "!=";
    case Op::kLt:
      return "<";
    case Op::kLe:
      return "<=";
    case Op::kGt:
      return ">";
    case Op::kGe:
      return ">=";
    case Op::kHas:
      return ":";
  }
  return "?";
}

std::string OpList(uint32_t ops) {
  std::string out;
  for (Op op : {Op::kEq, Op::kNe, Op::kLt, Op::kLe, Op::kGt, Op::kGe, Op::kHas}) {
    if (!(ops & Bit(op))) continue;
    if (!out.empty()) out += ", ";
    out += OpText(op);
  }
  return out;
}

// How a field's value is parsed and compared.
enum class Kind {
  kString,  // text; `test` decides = and :
  kGlob,    // a glob over file paths; `test` decides = and :
  kNumber,  // an integer; `number` gives the record's value
  kTime,    // a point in time (Unix seconds); `number` gives the record's value
  kBool,    // true/false, usable bare; `flag` gives the record's value
};

// For "expected ..." in messages.
std::string_view ValueDescription(Kind kind) {
  switch (kind) {
    case Kind::kString:
      return "a string or a word";
    case Kind::kGlob:
      return "a glob, quoted or bare";
    case Kind::kNumber:
      return "an integer";
    case Kind::kTime:
      return "a time: RFC 3339 (2024-01-31T12:00:00Z), a date (2024-01-31) or @SECONDS";
    case Kind::kBool:
      return "true or false";
  }
  return "a value";
}

struct Comparison;

// One entry per field: adding a field is adding a row to kFields.
struct FieldSpec {
  std::string_view name;
  Kind kind;
  uint32_t ops;  // operators allowed, as Bit(Op)
  // kString, kGlob: decides Op::kEq and Op::kHas (Op::kNe is the negation of Op::kEq).
  bool (*test)(const Record&, const Comparison&) = nullptr;
  // kNumber, kTime.
  int64_t (*number)(const Record&) = nullptr;
  // kBool.
  bool (*flag)(const Record&) = nullptr;
};

// A parsed `field op value`.
struct Comparison {
  const FieldSpec* field = nullptr;
  Op op = Op::kEq;
  std::string text;           // the string value (kString, kGlob), or the value as written
  std::string folded;         // `text` in ASCII lower case
  int64_t number = 0;         // kNumber, kTime
  bool flag = false;          // kBool
  bool basename = false;      // kGlob with ':' and no '/': match file base names
  std::unique_ptr<RE2> glob;  // kGlob, compiled
};

// --- helpers used by the field table ---

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return absl::ascii_tolower(static_cast<unsigned char>(x)) ==
                  absl::ascii_tolower(static_cast<unsigned char>(y));
         });
}

// `needle_folded` is already lower case.
bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle_folded) {
  if (needle_folded.empty()) return true;
  auto it = std::search(
      haystack.begin(), haystack.end(), needle_folded.begin(), needle_folded.end(),
      [](char h, char n) { return absl::ascii_tolower(static_cast<unsigned char>(h)) == n; });
  return it != haystack.end();
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

template <typename Pred>
bool AnyFile(const Record& r, Pred pred) {
  return std::any_of(r.files().begin(), r.files().end(), pred);
}

bool TextTest(std::string_view value, const Comparison& c) {
  return c.op == Op::kHas ? ContainsIgnoreCase(value, c.folded) : value == c.text;
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

const FieldSpec kFields[] = {
    {.name = "repo",
     .kind = Kind::kString,
     .ops = kEquality,
     .test = [](const Record& r, const Comparison& c) { return r.repo() == c.text; }},
    {.name = "commit",
     .kind = Kind::kString,
     .ops = kEquality | Bit(Op::kHas),
     .test =
         [](const Record& r, const Comparison& c) {
           return c.op == Op::kHas ? StartsWithIgnoreCase(r.commit(), c.text)
                                   : EqualsIgnoreCase(r.commit(), c.text);
         }},
    {.name = "path",
     .kind = Kind::kGlob,
     .ops = kEquality | Bit(Op::kHas),
     .test =
         [](const Record& r, const Comparison& c) {
           return AnyFile(r, [&](const FileChange& f) { return GlobTest(f.path(), c); });
         }},
    {.name = "old_path",
     .kind = Kind::kGlob,
     .ops = kEquality | Bit(Op::kHas),
     .test =
         [](const Record& r, const Comparison& c) {
           return AnyFile(r, [&](const FileChange& f) { return GlobTest(f.old_path(), c); });
         }},
    {.name = "lang",
     .kind = Kind::kString,
     .ops = kEquality | Bit(Op::kHas),
     .test =
         [](const Record& r, const Comparison& c) {
           return AnyFile(r, [&](const FileChange& f) {
             return c.op == Op::kHas ? EqualsIgnoreCase(f.language(), c.text)
                                     : f.language() == c.text;
           });
         }},
    {.name = "author",
     .kind = Kind::kString,
     .ops = kEquality | Bit(Op::kHas),
     .test = [](const Record& r, const Comparison& c) { return PersonTest(r.author(), c); }},
    {.name = "committer",
     .kind = Kind::kString,
     .ops = kEquality | Bit(Op::kHas),
     .test = [](const Record& r, const Comparison& c) { return PersonTest(r.committer(), c); }},
    {.name = "message",
     .kind = Kind::kString,
     .ops = kEquality | Bit(Op::kHas),
     .test = [](const Record& r, const Comparison& c) { return TextTest(r.message(), c); }},
    {.name = "subject",
     .kind = Kind::kString,
     .ops = kEquality | Bit(Op::kHas),
     .test = [](const Record& r, const Comparison& c) { return TextTest(r.subject(), c); }},
    {.name = "committed_at",
     .kind = Kind::kTime,
     .ops = kOrdered,
     .number = [](const Record& r) -> int64_t { return r.committer().time(); }},
    {.name = "authored_at",
     .kind = Kind::kTime,
     .ops = kOrdered,
     .number = [](const Record& r) -> int64_t { return r.author().time(); }},
    {.name = "files",
     .kind = Kind::kNumber,
     .ops = kOrdered,
     .number = [](const Record& r) -> int64_t { return r.files_size(); }},
    {.name = "added",
     .kind = Kind::kNumber,
     .ops = kOrdered,
     .number = [](const Record& r) { return SumLines(r, true); }},
    {.name = "deleted",
     .kind = Kind::kNumber,
     .ops = kOrdered,
     .number = [](const Record& r) { return SumLines(r, false); }},
    {.name = "is_fix",
     .kind = Kind::kBool,
     .ops = kEquality,
     .flag = [](const Record& r) { return r.labels().is_fix(); }},
    {.name = "merge_resolution",
     .kind = Kind::kBool,
     .ops = kEquality,
     .flag = [](const Record& r) { return r.merge_resolution(); }},
    {.name = "has_bug_link",
     .kind = Kind::kBool,
     .ops = kEquality,
     .flag = [](const Record& r) { return r.labels().bug_introducing_commits_size() > 0; }},
    {.name = "has_fixed_by",
     .kind = Kind::kBool,
     .ops = kEquality,
     .flag = [](const Record& r) { return r.labels().fixed_by_size() > 0; }},
    {.name = "is_revert",
     .kind = Kind::kBool,
     .ops = kEquality,
     .flag = [](const Record& r) { return r.labels().is_revert(); }},
    {.name = "is_bot",
     .kind = Kind::kBool,
     .ops = kEquality,
     .flag = [](const Record& r) { return r.labels().is_bot(); }},
    {.name = "renames_skipped",
     .kind = Kind::kBool,
     .ops = kEquality,
     .flag = [](const Record& r) { return r.renames_skipped(); }},
    {.name = "binary",
     .kind = Kind::kBool,
     .ops = kEquality,
     .flag =
         [](const Record& r) {
           return AnyFile(r, [](const FileChange& f) { return f.binary(); });
         }},
    {.name = "vendored",
     .kind = Kind::kBool,
     .ops = kEquality,
     .flag =
         [](const Record& r) {
           return AnyFile(r, [](const FileChange& f) { return f.vendored(); });
         }},
    {.name = "generated",
     .kind = Kind::kBool,
     .ops = kEquality,
     .flag =
         [](const Record& r) {
           return AnyFile(r, [](const FileChange& f) { return f.generated(); });
         }},
    {.name = "lockfile",
     .kind = Kind::kBool,
     .ops = kEquality,
     .flag =
         [](const Record& r) {
           return AnyFile(r, [](const FileChange& f) { return f.lockfile(); });
         }},
    {.name = "documentation",
     .kind = Kind::kBool,
     .ops = kEquality,
     .flag =
         [](const Record& r) {
           return AnyFile(r, [](const FileChange& f) { return f.documentation(); });
         }},
    {.name = "secrets_found",
     .kind = Kind::kBool,
     .ops = kEquality,
     .flag = [](const Record& r) { return r.secrets_found(); }},
    {.name = "duplicate",
     .kind = Kind::kBool,
     .ops = kEquality,
     .flag = [](const Record& r) { return !r.duplicate_of().empty(); }},
    {.name = "near_duplicate",
     .kind = Kind::kBool,
     .ops = kEquality,
     .flag = [](const Record& r) { return !r.near_duplicate_of().empty(); }},
    {.name = "contaminated",
     .kind = Kind::kBool,
     .ops = kEquality,
     .flag = [](const Record& r) { return r.contamination_size() > 0; }},
    {.name = "message_language",
     .kind = Kind::kString,
     .ops = kEquality | Bit(Op::kHas),
     .test =
         [](const Record& r, const Comparison& c) {
           return c.op == Op::kHas ? EqualsIgnoreCase(r.message_language(), c.text)
                                   : r.message_language() == c.text;
         }},
    {.name = "license",
     .kind = Kind::kString,
     .ops = kEquality | Bit(Op::kHas),
     .test =
         [](const Record& r, const Comparison& c) {
           return c.op == Op::kHas ? EqualsIgnoreCase(r.license(), c.text)
                                   : r.license() == c.text;
         }},
    {.name = "preset",
     .kind = Kind::kString,
     .ops = kEquality,
     .test = [](const Record& r, const Comparison& c) { return PassesPreset(r, c.text); }},
    {.name = "drop",
     .kind = Kind::kString,
     .ops = kEquality | Bit(Op::kHas),
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
         }},
};

// Fields regex(field, pattern) applies to: true when the pattern matches somewhere in one of
// the field's strings.
struct RegexFieldSpec {
  std::string_view name;
  bool (*test)(const Record&, const RE2&);
};

const RegexFieldSpec kRegexFields[] = {
    {"message", [](const Record& r, const RE2& re) { return RE2::PartialMatch(r.message(), re); }},
    {"subject", [](const Record& r, const RE2& re) { return RE2::PartialMatch(r.subject(), re); }},
    {"path",
     [](const Record& r, const RE2& re) {
       return AnyFile(r, [&](const FileChange& f) { return RE2::PartialMatch(f.path(), re); });
     }},
    {"old_path",
     [](const Record& r, const RE2& re) {
       return AnyFile(r, [&](const FileChange& f) { return RE2::PartialMatch(f.old_path(), re); });
     }},
};

template <typename Spec>
const Spec* FindByName(std::span<const Spec> table, std::string_view name) {
  for (const Spec& s : table) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

template <typename Spec>
std::string NameList(std::span<const Spec> table) {
  std::string out;
  for (const Spec& s : table) {
    if (!out.empty()) out += ", ";
    out += s.name;
  }
  return out;
}

// --- the tree ---

struct Node {
  enum class Type { kAnd, kOr, kNot, kCompare, kRegex } type;
  std::vector<std::unique_ptr<Node>> children;  // kAnd, kOr (two or more), kNot (one)
  Comparison cmp;                               // kCompare
  const RegexFieldSpec* regex_field = nullptr;  // kRegex
  std::unique_ptr<RE2> regex;                   // kRegex
};

bool Eval(const Node& n, const Record& r) {
  switch (n.type) {
    case Node::Type::kAnd:
      for (const auto& c : n.children) {
        if (!Eval(*c, r)) return false;
      }
      return true;
    case Node::Type::kOr:
      for (const auto& c : n.children) {
        if (Eval(*c, r)) return true;
      }
      return false;
    case Node::Type::kNot:
      return !Eval(*n.children[0], r);
    case Node::Type::kRegex:
      return n.regex_field->test(r, *n.regex);
    case Node::Type::kCompare:
      break;
  }
  const Comparison& c = n.cmp;
  const FieldSpec& f = *c.field;
  switch (f.kind) {
    case Kind::kString:
    case Kind::kGlob:
      return c.op == Op::kNe ? !f.test(r, c) : f.test(r, c);
    case Kind::kBool:
      return c.op == Op::kNe ? f.flag(r) != c.flag : f.flag(r) == c.flag;
    case Kind::kNumber:
    case Kind::kTime: {
      int64_t v = f.number(r);
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

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += ch;
    }
  }
  out += '"';
  return out;
}

// Error messages quote user text; very long values are shortened.
std::string QuoteShort(std::string_view s) {
  constexpr size_t kMax = 60;
  if (s.size() <= kMax) return Quote(s);
  return Quote(s.substr(0, kMax)) + "...";
}

void Render(const Node& n, std::string* out) {
  switch (n.type) {
    case Node::Type::kAnd:
    case Node::Type::kOr: {
      std::string_view sep = n.type == Node::Type::kAnd ? " AND " : " OR ";
      *out += '(';
      for (size_t i = 0; i < n.children.size(); ++i) {
        if (i > 0) *out += sep;
        Render(*n.children[i], out);
      }
      *out += ')';
      return;
    }
    case Node::Type::kNot:
      *out += "NOT ";
      Render(*n.children[0], out);
      return;
    case Node::Type::kRegex:
      *out += fmt::format("regex({}, {})", n.regex_field->name, Quote(n.regex->pattern()));
      return;
    case Node::Type::kCompare:
      break;
  }
  const Comparison& c = n.cmp;
  std::string value;
  switch (c.field->kind) {
    case Kind::kString:
    case Kind::kGlob:
      value = Quote(c.text);
      break;
    case Kind::kNumber:
      value = fmt::format("{}", c.number);
      break;
    case Kind::kTime:
      value = Quote(FormatRfc3339(c.number));
      break;
    case Kind::kBool:
      value = c.flag ? "true" : "false";
      break;
  }
  if (c.op == Op::kHas) {
    *out += fmt::format("{}:{}", c.field->name, value);
  } else {
    *out += fmt::format("{} {} {}", c.field->name, OpText(c.op), value);
  }
}

void CollectHints(const Node& n, FilterHints* hints) {
  if (n.type != Node::Type::kCompare) return;
  const Comparison& c = n.cmp;
  std::string_view name = c.field->name;
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

// Builds an n-ary AND/OR, splicing children of the same type so that grouping by parentheses
// does not change the canonical text of an associative chain.
std::unique_ptr<Node> Join(Node::Type type, std::unique_ptr<Node> a, std::unique_ptr<Node> b) {
  auto n = std::make_unique<Node>();
  n->type = type;
  for (auto* part : {&a, &b}) {
    if ((*part)->type == type) {
      for (auto& c : (*part)->children) n->children.push_back(std::move(c));
    } else {
      n->children.push_back(std::move(*part));
    }
  }
  return n;
}

// --- the parser ---

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool IsIdentStart(char c) { return absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
}
bool IsKeyword(std::string_view w) { return w == "AND" || w == "OR" || w == "NOT"; }

constexpr std::string_view kTermExpected = "expected a field, regex(...), '(', NOT or '-'";

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  // NOT, AND and OR nodes on the longest path from `n` down.
  static int TreeDepth(const Node& n) {
    int deepest = 0;
    for (const auto& c : n.children) deepest = std::max(deepest, TreeDepth(*c));
    return deepest + (n.children.empty() ? 0 : 1);
  }

  // Null for an empty filter.
  absl::StatusOr<std::unique_ptr<Node>> ParseAll() {
    SkipSpace();
    if (AtEnd()) return nullptr;
    auto root = ParseOr();
    if (!root.ok()) return root.status();
    if (TreeDepth(**root) > kMaxDepth) {
      return Error(0, fmt::format("expression nested deeper than {} levels", kMaxDepth),
                   "expected fewer parentheses or NOTs");
    }
    SkipSpace();
    if (!AtEnd()) {
      if (Peek() == ')') {
        return Error(pos_, "unexpected ')' without a matching '('",
                     "expected AND, OR, another term or the end of the filter");
      }
      return Error(pos_, fmt::format("unexpected {}", Describe(pos_)),
                   "expected AND, OR, another term or the end of the filter");
    }
    return root;
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  void SkipSpace() {
    while (!AtEnd() && IsSpace(text_[pos_])) ++pos_;
  }

  // The identifier starting at `at`, empty when none.
  std::string_view WordAt(size_t at) const {
    if (at >= text_.size() || !IsIdentStart(text_[at])) return {};
    size_t end = at + 1;
    while (end < text_.size() && IsIdentChar(text_[end])) ++end;
    return text_.substr(at, end - at);
  }

  // What is at `at`, for "unexpected ..." messages.
  std::string Describe(size_t at) const {
    if (at >= text_.size()) return "end of filter";
    std::string_view w = WordAt(at);
    if (!w.empty()) return IsKeyword(w) ? std::string(w) : Quote(w);
    if (text_[at] == '"' || text_[at] == '\'') return "string";
    return fmt::format("'{}'", text_[at]);
  }

  static absl::Status Error(size_t at, std::string_view what, std::string_view expected) {
    return absl::InvalidArgumentError(
        fmt::format("filter: column {}: {}; {}", at + 1, what, expected));
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseOr() {
    auto left = ParseAnd();
    if (!left.ok()) return left.status();
    std::unique_ptr<Node> node = std::move(*left);
    while (true) {
      SkipSpace();
      if (WordAt(pos_) != "OR") return node;
      pos_ += 2;
      auto right = ParseAnd();
      if (!right.ok()) return right.status();
      node = Join(Node::Type::kOr, std::move(node), std::move(*right));
    }
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseAnd() {
    auto left = ParseUnary();
    if (!left.ok()) return left.status();
    std::unique_ptr<Node> node = std::move(*left);
    while (true) {
      SkipSpace();
      if (AtEnd() || Peek() == ')' || Peek() == ',') return node;
      std::string_view w = WordAt(pos_);
      if (w == "OR") return node;
      if (w == "AND") pos_ += 3;  // else: juxtaposition, also AND
      auto right = ParseUnary();
      if (!right.ok()) return right.status();
      node = Join(Node::Type::kAnd, std::move(node), std::move(*right));
    }
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseUnary() {
    SkipSpace();
    if (++depth_ > kMaxParseDepth) {
      return Error(pos_, fmt::format("expression nested deeper than {} levels", kMaxDepth),
                   "expected fewer parentheses or NOTs");
    }
    absl::StatusOr<std::unique_ptr<Node>> result;
    bool is_not = false;
    if (WordAt(pos_) == "NOT") {
      pos_ += 3;
      is_not = true;
    } else if (Peek() == '-') {
      ++pos_;
      if (AtEnd() || IsSpace(Peek())) {
        return Error(pos_, "'-' not followed by a term", "expected a term right after '-'");
      }
      is_not = true;
    }
    if (is_not) {
      auto child = ParseUnary();
      if (!child.ok()) return child.status();
      auto n = std::make_unique<Node>();
      n->type = Node::Type::kNot;
      n->children.push_back(std::move(*child));
      result = std::move(n);
    } else {
      result = ParsePrimary();
    }
    --depth_;
    return result;
  }

  absl::StatusOr<std::unique_ptr<Node>> ParsePrimary() {
    SkipSpace();
    size_t start = pos_;
    if (Peek() == '(') {
      ++pos_;
      auto inner = ParseOr();
      if (!inner.ok()) return inner.status();
      SkipSpace();
      if (Peek() != ')') {
        return Error(pos_, fmt::format("missing ')', found {}", Describe(pos_)),
                     fmt::format("expected ')' to close the '(' at column {}", start + 1));
      }
      ++pos_;
      return inner;
    }
    std::string_view name = WordAt(pos_);
    if (name.empty() || IsKeyword(name)) {
      return Error(pos_, fmt::format("unexpected {}", Describe(pos_)), kTermExpected);
    }
    pos_ += name.size();
    if (Peek() == '(' || (name == "regex" && NextNonSpace() == '(')) {
      return ParseCall(name, start);
    }
    const FieldSpec* field = FindByName<FieldSpec>(kFields, name);
    if (field == nullptr) {
      return Error(start, fmt::format("unknown field {}", Quote(name)),
                   fmt::format("known fields: {}", NameList<FieldSpec>(kFields)));
    }
    auto n = std::make_unique<Node>();
    n->type = Node::Type::kCompare;
    Comparison& c = n->cmp;
    c.field = field;
    SkipSpace();
    size_t op_pos = pos_;
    std::optional<Op> op = ReadOp();
    if (!op) {
      if (field->kind != Kind::kBool) {
        return Error(op_pos, fmt::format("field {} needs an operator and a value", Quote(name)),
                     fmt::format("expected one of {} after it", OpList(field->ops)));
      }
      c.op = Op::kEq;
      c.flag = true;
      return n;
    }
    c.op = *op;
    if (!(field->ops & Bit(c.op))) {
      return Error(
          op_pos, fmt::format("operator '{}' is not valid for field {}", OpText(c.op), Quote(name)),
          fmt::format("expected one of {}", OpList(field->ops)));
    }
    auto status = ParseComparisonValue(&c);
    if (!status.ok()) return status;
    return n;
  }

  char NextNonSpace() const {
    size_t at = pos_;
    while (at < text_.size() && IsSpace(text_[at])) ++at;
    return at < text_.size() ? text_[at] : '\0';
  }

  std::optional<Op> ReadOp() {
    auto take = [&](size_t n, Op op) {
      pos_ += n;
      return op;
    };
    std::string_view rest = text_.substr(pos_);
    if (rest.starts_with("!=")) return take(2, Op::kNe);
    if (rest.starts_with("<=")) return take(2, Op::kLe);
    if (rest.starts_with(">=")) return take(2, Op::kGe);
    if (rest.starts_with("=")) return take(1, Op::kEq);
    if (rest.starts_with("<")) return take(1, Op::kLt);
    if (rest.starts_with(">")) return take(1, Op::kGt);
    if (rest.starts_with(":")) return take(1, Op::kHas);
    return std::nullopt;
  }

  // Reads a quoted string or a bare word at pos_ into *out; *at gets its column.
  // `what` describes the expected value for messages.
  absl::Status ReadValue(std::string_view after, std::string_view what, bool stop_at_comma,
                         std::string* out, size_t* at) {
    SkipSpace();
    *at = pos_;
    char q = Peek();
    if (q == '"' || q == '\'') {
      ++pos_;
      out->clear();
      while (true) {
        if (AtEnd()) {
          return Error(*at, "unterminated string",
                       fmt::format("expected a closing {} before the end of the filter", q));
        }
        char ch = text_[pos_++];
        if (ch == q) return absl::OkStatus();
        if (ch != '\\') {
          *out += ch;
          continue;
        }
        if (AtEnd()) continue;  // reported as unterminated above
        char e = text_[pos_++];
        switch (e) {
          case '"':
          case '\'':
          case '\\':
            *out += e;
            break;
          case 'n':
            *out += '\n';
            break;
          case 't':
            *out += '\t';
            break;
          case 'r':
            *out += '\r';
            break;
          // Kept as written, so regexes read naturally: "\d+" is the RE2 class \d.
          default:
            *out += '\\';
            *out += e;
        }
      }
    }
    size_t end = pos_;
    while (end < text_.size()) {
      char ch = text_[end];
      if (IsSpace(ch) || ch == '(' || ch == ')' || ch == '"' || ch == '\'' ||
          (stop_at_comma && ch == ',')) {
        break;
      }
      ++end;
    }
    std::string_view word = text_.substr(pos_, end - pos_);
    if (word.empty()) {
      return Error(pos_, fmt::format("missing value after {}, found {}", after, Describe(pos_)),
                   fmt::format("expected {}", what));
    }
    if (IsKeyword(word)) {
      return Error(pos_, fmt::format("missing value after {}, found {}", after, word),
                   fmt::format("expected {} (quote it to use {} as a value)", what, word));
    }
    pos_ = end;
    *out = std::string(word);
    return absl::OkStatus();
  }

  absl::Status ParseComparisonValue(Comparison* c) {
    const FieldSpec& f = *c->field;
    std::string_view what = ValueDescription(f.kind);
    size_t at;
    auto status = ReadValue(fmt::format("'{}'", OpText(c->op)), what, false, &c->text, &at);
    if (!status.ok()) return status;
    c->folded = absl::AsciiStrToLower(c->text);
    switch (f.kind) {
      case Kind::kString:
        if (f.name == "preset" && FindByName<PresetSpec>(kPresets, c->text) == nullptr) {
          return Error(at, fmt::format("unknown preset {}", QuoteShort(c->text)),
                       fmt::format("known presets: {}", NameList<PresetSpec>(kPresets)));
        }
        return absl::OkStatus();
      case Kind::kGlob:
        return CompileGlob(c, at);
      case Kind::kNumber:
        if (!absl::SimpleAtoi(c->text, &c->number)) {
          return Error(at, fmt::format("bad number {}", QuoteShort(c->text)),
                       fmt::format("expected an integer for {}", f.name));
        }
        return absl::OkStatus();
      case Kind::kTime: {
        auto t = ParseTime(c->text);
        if (!t.ok()) {
          return Error(at, fmt::format("bad time {}", QuoteShort(c->text)),
                       fmt::format("expected {}", what));
        }
        c->number = *t;
        return absl::OkStatus();
      }
      case Kind::kBool:
        if (c->folded == "true" || c->folded == "false") {
          c->flag = c->folded == "true";
          return absl::OkStatus();
        }
        return Error(at, fmt::format("bad boolean {}", QuoteShort(c->text)),
                     fmt::format("expected true or false for {}", f.name));
    }
    return absl::OkStatus();
  }

  // Globs become anchored RE2 patterns: '*' and '?' stay within one path segment, '**' crosses
  // '/', and "**/" also matches no directory at all (as in .gitignore).
  absl::Status CompileGlob(Comparison* c, size_t at) {
    const std::string& g = c->text;
    std::string re;
    for (size_t i = 0; i < g.size(); ++i) {
      char ch = g[i];
      if (ch == '*') {
        if (i + 1 < g.size() && g[i + 1] == '*') {
          while (i + 1 < g.size() && g[i + 1] == '*') ++i;
          // "**" preceded by the start or '/', and followed by '/': any number of directories.
          size_t star_start = i;
          while (star_start > 0 && g[star_start - 1] == '*') --star_start;
          bool segment_start = star_start == 0 || g[star_start - 1] == '/';
          if (segment_start && i + 1 < g.size() && g[i + 1] == '/') {
            re += "(?:.*/)?";
            ++i;
          } else {
            re += ".*";
          }
        } else {
          re += "[^/]*";
        }
      } else if (ch == '?') {
        re += "[^/]";
      } else if (ch == '[') {
        size_t j = i + 1;
        bool negate = j < g.size() && (g[j] == '!' || g[j] == '^');
        if (negate) ++j;
        size_t first = j;
        if (j < g.size() && g[j] == ']') ++j;  // a leading ']' is literal
        while (j < g.size() && g[j] != ']') ++j;
        if (j >= g.size()) {
          return Error(at,
                       fmt::format("bad glob {}: '[' at offset {} is not closed", QuoteShort(g), i),
                       "expected a ']' to end the character class, or \\[ for a literal '['");
        }
        re += negate ? "[^/" : "[";
        for (size_t k = first; k < j; ++k) {
          char m = g[k];
          if (m == '-' && k != first && k + 1 != j) {
            re += '-';
          } else if (absl::ascii_isalnum(static_cast<unsigned char>(m)) ||
                     static_cast<unsigned char>(m) >= 0x80) {
            re += m;
          } else {
            re += '\\';
            re += m;
          }
        }
        re += ']';
        i = j;
      } else if (ch == '\\' && i + 1 < g.size()) {
        re += RE2::QuoteMeta(g.substr(++i, 1));
      } else {
        re += RE2::QuoteMeta(std::string(1, ch));
      }
    }
    RE2::Options options;
    options.set_log_errors(false);
    options.set_dot_nl(true);
    c->glob = std::make_unique<RE2>(re, options);
    if (!c->glob->ok()) {
      return Error(at, fmt::format("bad glob {}: {}", QuoteShort(g), c->glob->error()),
                   "expected a glob of *, **, ?, [...] and literal characters");
    }
    c->basename = c->op == Op::kHas && g.find('/') == std::string::npos;
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseCall(std::string_view name, size_t start) {
    if (name != "regex") {
      return Error(start, fmt::format("unknown function {}", Quote(name)),
                   "known functions: regex");
    }
    SkipSpace();
    ++pos_;  // '('
    SkipSpace();
    size_t field_pos = pos_;
    std::string_view field = WordAt(pos_);
    std::string known = NameList<RegexFieldSpec>(kRegexFields);
    if (field.empty()) {
      return Error(pos_, fmt::format("missing field in regex(), found {}", Describe(pos_)),
                   fmt::format("expected one of {}", known));
    }
    const RegexFieldSpec* spec = FindByName<RegexFieldSpec>(kRegexFields, field);
    if (spec == nullptr) {
      return Error(field_pos, fmt::format("regex() does not apply to field {}", Quote(field)),
                   fmt::format("expected one of {}", known));
    }
    pos_ += field.size();
    SkipSpace();
    if (Peek() != ',') {
      return Error(pos_, fmt::format("unexpected {} in regex()", Describe(pos_)),
                   "expected ',' and then the pattern");
    }
    ++pos_;
    std::string pattern;
    size_t at;
    auto status = ReadValue("','", "an RE2 pattern, usually quoted", true, &pattern, &at);
    if (!status.ok()) return status;
    RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_unique<RE2>(pattern, options);
    if (!re->ok()) {
      return Error(at, fmt::format("bad regex {}: {}", QuoteShort(pattern), re->error()),
                   "expected an RE2 pattern (https://github.com/google/re2/wiki/Syntax)");
    }
    if (re->ProgramSize() > kMaxRegexProgramSize) {
      return Error(at,
                   fmt::format("regex {} is too large (program size {}, limit {})",
                               QuoteShort(pattern), re->ProgramSize(), kMaxRegexProgramSize),
                   "expected a smaller pattern (fewer or smaller repetitions)");
    }
    SkipSpace();
    if (Peek() != ')') {
      return Error(pos_, fmt::format("missing ')', found {}", Describe(pos_)),
                   fmt::format("expected ')' to close the regex( at column {}", start + 1));
    }
    ++pos_;
    auto n = std::make_unique<Node>();
    n->type = Node::Type::kRegex;
    n->regex_field = spec;
    n->regex = std::move(re);
    return n;
  }

  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
};

class ParsedFilter final : public Filter {
 public:
  explicit ParsedFilter(std::unique_ptr<Node> root) : root_(std::move(root)) {
    if (root_ == nullptr) return;
    Render(*root_, &canonical_);
    if (root_->type == Node::Type::kAnd) {
      for (const auto& c : root_->children) CollectHints(*c, &hints_);
    } else {
      CollectHints(*root_, &hints_);
    }
  }

  bool Matches(const Record& record) const override {
    return root_ == nullptr || Eval(*root_, record);
  }
  const FilterHints& hints() const override { return hints_; }
  const std::string& canonical() const override { return canonical_; }

 private:
  std::unique_ptr<Node> root_;  // null: matches everything
  FilterHints hints_;
  std::string canonical_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Filter>> Filter::Parse(std::string_view text) {
  if (text.size() > kMaxFilterBytes) {
    return absl::InvalidArgumentError(
        fmt::format("filter: column {}: filter is {} bytes long; expected at most {} bytes",
                    kMaxFilterBytes + 1, text.size(), kMaxFilterBytes));
  }
  Parser parser(text);
  auto root = parser.ParseAll();
  if (!root.ok()) return root.status();
  return std::make_unique<ParsedFilter>(std::move(*root));
}


absl::StatusOr<std::string> Filter::PresetExpression(std::string_view name) {
  for (const PresetSpec& p : kPresets) {
    if (p.name == name) return std::string(p.expression);
  }
  return absl::InvalidArgumentError(
      fmt::format("preset {} is unknown; known presets: {}", QuoteShort(name),
                  NameList<PresetSpec>(kPresets)));
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
  if (text.size() > kMaxFilterBytes) return Parse(text);  // the same error
  std::string term = "preset = " + Quote(preset);
  auto preset_root = Parser(term).ParseAll();
  if (!preset_root.ok()) return preset_root.status();
  Parser parser(text);
  auto root = parser.ParseAll();
  if (!root.ok()) return root.status();
  if (*root == nullptr) return std::make_unique<ParsedFilter>(std::move(*preset_root));
  // One AND chain: the preset first, then the filter's own top-level terms (so its index hints
  // still apply).
  auto both = std::make_unique<Node>();
  both->type = Node::Type::kAnd;
  both->children.push_back(std::move(*preset_root));
  if ((*root)->type == Node::Type::kAnd) {
    for (auto& c : (*root)->children) both->children.push_back(std::move(c));
  } else {
    both->children.push_back(std::move(*root));
  }
  return std::make_unique<ParsedFilter>(std::move(both));
}

std::string Filter::AndTerm(std::string_view text, std::string_view term) {
  if (text.size() > kMaxFilterBytes) return std::string(text);
  auto term_root = Parser(term).ParseAll();
  Parser parser(text);
  auto root = parser.ParseAll();
  if (!root.ok() || !term_root.ok() || *term_root == nullptr) return std::string(text);
  if (*root == nullptr) return ParsedFilter(std::move(*term_root)).canonical();
  auto both = std::make_unique<Node>();
  both->type = Node::Type::kAnd;
  both->children.push_back(std::move(*term_root));
  if ((*root)->type == Node::Type::kAnd) {
    for (auto& c : (*root)->children) both->children.push_back(std::move(c));
  } else {
    both->children.push_back(std::move(*root));
  }
  return ParsedFilter(std::move(both)).canonical();
}

}  // namespace fixmine::storage
