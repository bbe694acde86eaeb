// The filter engine (storage/filter_engine.h, docs/filters.md): a hand-written recursive-descent
// parser over the raw text, driven by a language's Grammar, and the canonical renderer.
#include "storage/filter_engine.h"

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
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "common/time.h"
#include "fmt/format.h"
#include "re2/re2.h"
#include "storage/filter.h"

namespace fixmine::storage::filter_engine {
namespace {

// RE2's own default tops out far higher; this keeps one filter's regexes small enough that a
// scan over millions of records stays cheap and a request cannot pin megabytes of automata.
constexpr int kMaxRegexProgramSize = 10000;
// How deep NOT, AND and OR may nest in a parsed filter. It is checked on the parsed tree, so the
// canonical text (which parenthesises every AND and OR) parses within it too.
constexpr int kMaxDepth = 64;
// Parentheses and NOT nest by recursion; this bounds the parser's stack. The canonical text of a
// tree within kMaxDepth nests at most one parenthesis or NOT per level, plus one.
constexpr int kMaxParseDepth = 2 * kMaxDepth + 2;

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

// The index of the entry of `table` named `name`, if any.
template <typename T, typename NameOf>
std::optional<size_t> IndexOf(const std::vector<T>& table, std::string_view name, NameOf name_of) {
  for (size_t i = 0; i < table.size(); ++i) {
    if (name_of(table[i]) == name) return i;
  }
  return std::nullopt;
}

std::string_view FieldName(const FieldInfo& f) { return f.name; }
std::string_view Self(std::string_view s) { return s; }

template <typename T, typename NameOf>
std::string NameList(const std::vector<T>& table, NameOf name_of) {
  std::string out;
  for (const T& entry : table) {
    if (!out.empty()) out += ", ";
    out += name_of(entry);
  }
  return out;
}

}  // namespace

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

bool TextTest(std::string_view value, const Comparison& c) {
  return c.op == Op::kHas ? ContainsIgnoreCase(value, c.folded) : value == c.text;
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

namespace {

void RenderNode(const Grammar& grammar, const Node& n, std::string* out) {
  switch (n.type) {
    case Node::Type::kAnd:
    case Node::Type::kOr: {
      std::string_view sep = n.type == Node::Type::kAnd ? " AND " : " OR ";
      *out += '(';
      for (size_t i = 0; i < n.children.size(); ++i) {
        if (i > 0) *out += sep;
        RenderNode(grammar, *n.children[i], out);
      }
      *out += ')';
      return;
    }
    case Node::Type::kNot:
      *out += "NOT ";
      RenderNode(grammar, *n.children[0], out);
      return;
    case Node::Type::kRegex:
      *out += fmt::format("regex({}, {})", grammar.regex_fields[n.regex_field],
                          Quote(n.regex->pattern()));
      return;
    case Node::Type::kCompare:
      break;
  }
  const Comparison& c = n.cmp;
  std::string value;
  switch (c.info->kind) {
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
    *out += fmt::format("{}:{}", c.info->name, value);
  } else {
    *out += fmt::format("{} {} {}", c.info->name, OpText(c.op), value);
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
  Parser(const Grammar& grammar, std::string_view text) : grammar_(grammar), text_(text) {}

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
    std::optional<size_t> index = IndexOf(grammar_.fields, name, FieldName);
    if (!index) {
      return Error(start, fmt::format("unknown field {}", Quote(name)),
                   fmt::format("known fields: {}", NameList(grammar_.fields, FieldName)));
    }
    auto n = std::make_unique<Node>();
    n->type = Node::Type::kCompare;
    Comparison& c = n->cmp;
    const FieldInfo* field = &grammar_.fields[*index];
    c.field = *index;
    c.info = field;
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
    const FieldInfo& f = *c->info;
    std::string_view what = ValueDescription(f.kind);
    size_t at;
    auto status = ReadValue(fmt::format("'{}'", OpText(c->op)), what, false, &c->text, &at);
    if (!status.ok()) return status;
    c->folded = absl::AsciiStrToLower(c->text);
    switch (f.kind) {
      case Kind::kString:
        if (f.check != nullptr) {
          if (std::optional<ValueProblem> problem = f.check(c->text)) {
            return Error(at, problem->what, problem->expected);
          }
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
    std::string known = NameList(grammar_.regex_fields, Self);
    if (field.empty()) {
      return Error(pos_, fmt::format("missing field in regex(), found {}", Describe(pos_)),
                   fmt::format("expected one of {}", known));
    }
    std::optional<size_t> spec = IndexOf(grammar_.regex_fields, field, Self);
    if (!spec) {
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
    n->regex_field = *spec;
    n->regex = std::move(re);
    return n;
  }

  const Grammar& grammar_;
  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Node>> Parse(const Grammar& grammar, std::string_view text) {
  if (absl::Status st = CheckFilterSize(text); !st.ok()) return st;
  return Parser(grammar, text).ParseAll();
}

std::string Render(const Grammar& grammar, const Node* root) {
  std::string out;
  if (root != nullptr) RenderNode(grammar, *root, &out);
  return out;
}

std::unique_ptr<Node> AndChain(std::unique_ptr<Node> first, std::unique_ptr<Node> rest) {
  if (rest == nullptr) return first;
  auto both = std::make_unique<Node>();
  both->type = Node::Type::kAnd;
  both->children.push_back(std::move(first));
  if (rest->type == Node::Type::kAnd) {
    for (auto& c : rest->children) both->children.push_back(std::move(c));
  } else {
    both->children.push_back(std::move(rest));
  }
  return both;
}

void ForEachRequired(const Node* root, const std::function<void(const Comparison&)>& visit) {
  if (root == nullptr) return;
  if (root->type == Node::Type::kAnd) {
    for (const auto& c : root->children) {
      if (c->type == Node::Type::kCompare) visit(c->cmp);
    }
  } else if (root->type == Node::Type::kCompare) {
    visit(root->cmp);
  }
}

}  // namespace fixmine::storage::filter_engine

namespace fixmine::storage {

absl::Status CheckFilterSize(std::string_view text) {
  if (text.size() <= kMaxFilterBytes) return absl::OkStatus();
  return absl::InvalidArgumentError(
      fmt::format("filter: column {}: filter is {} bytes long; expected at most {} bytes",
                  kMaxFilterBytes + 1, text.size(), kMaxFilterBytes));
}

}  // namespace fixmine::storage
