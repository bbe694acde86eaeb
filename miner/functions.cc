#include "miner/functions.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "re2/re2.h"

namespace fixmine::miner {
namespace {

enum class Family { kNone, kCLike, kGo, kRust, kJs, kPython };

Family FamilyOf(std::string_view language) {
  if (language == "C" || language == "C++" || language == "Objective-C" || language == "C#" ||
      language == "Java") {
    return Family::kCLike;
  }
  if (language == "Go") return Family::kGo;
  if (language == "Rust") return Family::kRust;
  if (language == "JavaScript" || language == "TypeScript") return Family::kJs;
  if (language == "Python") return Family::kPython;
  return Family::kNone;
}

// Content larger than this is not parsed (hunk headers are used instead).
constexpr size_t kMaxParsedBytes = size_t{4} << 20;

struct Definition {
  int start = 0;  // 1-based line of the name
  int end = 0;    // 1-based last line of the body
  std::string name;
};

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

bool IsKeyword(std::string_view name) {
  for (std::string_view k :
       {"if",       "for",    "while",   "switch",   "return",        "sizeof", "catch",
        "else",     "do",     "case",    "new",      "delete",        "throw",  "defined",
        "function", "typeof", "alignof", "decltype", "static_assert", "elif",   "using",
        "constexpr"}) {
    if (name == k) return true;
  }
  return false;
}

// The name a line defines, or nullopt. `line` is one source line (or a hunk header).
// `header_only`: `line` is a hunk header of a file in no known language; a C-like definition
// then needs words before its name ("int f(", "def f(", not "endif()").
std::optional<std::string> DefinedName(Family family, std::string_view line,
                                       bool header_only = false) {
  re2::StringPiece in(line.data(), line.size());
  std::string name;
  switch (family) {
    case Family::kPython: {
      static const RE2 re("^\\s*(?:async\\s+)?def\\s+([A-Za-z_]\\w*)\\s*\\(");
      if (RE2::PartialMatch(in, re, &name)) return name;
      return std::nullopt;
    }
    case Family::kGo: {
      static const RE2 re("^\\s*func\\s+(?:\\([^)]*\\)\\s*)?([A-Za-z_]\\w*)\\s*[\\[(]");
      if (RE2::PartialMatch(in, re, &name)) return name;
      return std::nullopt;
    }
    case Family::kRust: {
      static const RE2 re(
          "^\\s*(?:pub(?:\\s*\\([^)]*\\))?\\s+)?(?:(?:const|async|unsafe|default)\\s+|"
          "extern\\s+\"[^\"]*\"\\s+)*fn\\s+([A-Za-z_]\\w*)");
      if (RE2::PartialMatch(in, re, &name)) return name;
      return std::nullopt;
    }
    case Family::kJs: {
      static const RE2 fn(
          "^\\s*(?:export\\s+)?(?:default\\s+)?(?:async\\s+)?function\\s*\\*?\\s*"
          "([A-Za-z_$][\\w$]*)\\s*\\(");
      static const RE2 assigned(
          "^\\s*(?:export\\s+)?(?:(?:const|let|var)\\s+)?(?:[\\w$]+\\.)*([A-Za-z_$][\\w$]*)\\s*"
          "[=:]\\s*(?:async\\s+)?(?:function\\b|\\([^)]*\\)\\s*(?::\\s*[^=]+)?=>|[\\w$]+\\s*=>)");
      static const RE2 method(
          "^\\s*(?:(?:public|private|protected|static|async|get|set|override|readonly)\\s+)*"
          "\\*?([A-Za-z_$][\\w$]*)\\s*\\([^;]*\\)\\s*(?::\\s*[^{;]+)?\\{\\s*(?://.*)?$");
      if (RE2::PartialMatch(in, fn, &name) || RE2::PartialMatch(in, assigned, &name) ||
          (RE2::PartialMatch(in, method, &name) && !IsKeyword(name))) {
        return name;
      }
      return std::nullopt;
    }
    case Family::kCLike: {
      // A name followed by '(' on a line that is not a statement: no ';' after the '(', only
      // a declaration's words before the name ("static int", "Foo<T>::", "const char*"), not a
      // control keyword. "int Foo::bar(int x) const {", "static void f(", "~Widget()". Written
      // by hand, not as a regular expression: every candidate line of every file runs it.
      size_t paren = line.find('(');
      if (paren == std::string_view::npos) return std::nullopt;
      if (line.find(';', paren) != std::string_view::npos) return std::nullopt;
      size_t e = paren;
      while (e > 0 && (line[e - 1] == ' ' || line[e - 1] == '\t')) --e;
      size_t b = e;
      auto ident = [](char c) {
        return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
      };
      while (b > 0 && (ident(line[b - 1]) || line[b - 1] == ':' || line[b - 1] == '~')) --b;
      while (b < e && line[b] == ':') ++b;  // a leading "::" (global scope) is not the name
      if (b == e || line[e - 1] == ':') return std::nullopt;
      char first = line[b] == '~' && b + 1 < e ? line[b + 1] : line[b];
      if (!(absl::ascii_isalpha(static_cast<unsigned char>(first)) || first == '_')) {
        return std::nullopt;
      }
      std::string_view prefix = line.substr(0, b);
      size_t start = prefix.find_first_not_of(" \t");
      if (start == std::string_view::npos && header_only) return std::nullopt;
      // Inside a template's argument list ("template <typename T, FMT_ENABLE_IF(x)>"): the
      // definition is on a later line.
      if (std::count(prefix.begin(), prefix.end(), '<') >
          std::count(prefix.begin(), prefix.end(), '>')) {
        return std::nullopt;
      }
      // ... or its continuation line ("    FMT_ENABLE_IF(x)>"): '>' or ',' after the ')'.
      int depth = 0;
      for (size_t k = paren; k < line.size(); ++k) {
        if (line[k] == '(') ++depth;
        if (line[k] == ')' && --depth == 0) {
          size_t next = line.find_first_not_of(" \t", k + 1);
          if (next != std::string_view::npos && (line[next] == '>' || line[next] == ',')) {
            return std::nullopt;
          }
          break;
        }
      }
      if (start != std::string_view::npos) {
        if (!(absl::ascii_isalpha(static_cast<unsigned char>(prefix[start])) ||
              prefix[start] == '_')) {
          return std::nullopt;  // "} else", "*p", "// f(", "#define F(", "return (x"
        }
        for (char c : prefix.substr(start)) {
          if (!(ident(c) || c == ':' || c == '<' || c == '>' || c == ',' || c == '*' || c == '&' ||
                c == '[' || c == ']' || c == ' ' || c == '\t')) {
            return std::nullopt;  // '=' (an assignment), '.', '(' ...
          }
        }
        char before = prefix.back();
        if (!(before == ' ' || before == '\t' || before == '*' || before == '&' || before == '>')) {
          return std::nullopt;
        }
        std::string_view word = prefix.substr(start, prefix.find_first_of(" \t*&<", start) - start);
        if (word == "return" || word == "else" || word == "if" || word == "case" || word == "new" ||
            word == "delete" || word == "throw" || word == "goto") {
          return std::nullopt;
        }
      }
      name = std::string(line.substr(b, e - b));
      size_t colons = name.rfind("::");
      std::string_view last = colons == std::string::npos
                                  ? std::string_view(name)
                                  : std::string_view(name).substr(colons + 2);
      if (IsKeyword(last)) return std::nullopt;
      // googletest's TEST(Suite, Name) / TEST_F / TEST_P define the test "Suite.Name".
      if (name == "TEST" || name == "TEST_F" || name == "TEST_P" || name == "TYPED_TEST") {
        static const RE2 test_re("^\\s*([A-Za-z_]\\w*)\\s*,\\s*([A-Za-z_]\\w*)\\s*\\)");
        std::string_view args = line.substr(paren + 1);
        std::string suite, test;
        if (RE2::PartialMatch(re2::StringPiece(args.data(), args.size()), test_re, &suite, &test)) {
          return suite + "." + test;
        }
      }
      return name;
    }
    case Family::kNone:
      return std::nullopt;
  }
  return std::nullopt;
}

// The line (index) where the body opened at or after `from` closes, or nullopt when a ';'
// comes before any '{' (a declaration) or no '{' comes within a few lines. Skips strings,
// character literals and comments roughly (enough for brace counting).
std::optional<int> BraceEnd(const std::vector<std::string_view>& lines, int from) {
  int depth = 0;
  int parens = 0;  // before the body: a '{' inside the parameter list (a lambda argument of a
                   // call split over lines) opens no body
  bool opened = false;
  bool closed = false;  // the parameter list just closed
  bool block_comment = false;
  for (int i = from; i < static_cast<int>(lines.size()); ++i) {
    if (!opened && i - from > 12) return std::nullopt;
    std::string_view l = lines[i];
    for (size_t j = 0; j < l.size(); ++j) {
      char c = l[j];
      if (block_comment) {
        if (c == '*' && j + 1 < l.size() && l[j + 1] == '/') {
          block_comment = false;
          ++j;
        }
        continue;
      }
      if (c == '/' && j + 1 < l.size() && l[j + 1] == '/') break;
      if (c == '/' && j + 1 < l.size() && l[j + 1] == '*') {
        block_comment = true;
        ++j;
        continue;
      }
      // A character literal ('x', '\n'); a lone quote is a Rust lifetime ('a) and skipped.
      if (c == '\'' && !(j + 2 < l.size() && (l[j + 2] == '\'' || l[j + 1] == '\\'))) continue;
      if (c == '"' || c == '\'' || c == '`') {
        for (++j; j < l.size() && l[j] != c; ++j) {
          if (l[j] == '\\') ++j;
        }
        continue;
      }
      if (!opened) {
        // A parameter list closed and followed by '>' or ',' was a template argument
        // ("    FMT_ENABLE_IF(x)>" continuing a template line): no definition.
        if (closed && c != ' ' && c != '\t') {
          if (c == '>' || c == ',') return std::nullopt;
          closed = false;
        }
        if (c == '(') {
          ++parens;
        } else if (c == ')') {
          parens = std::max(0, parens - 1);
          closed = parens == 0;
        } else if (c == ';' && parens == 0) {
          return std::nullopt;
        } else if (c == '{' && parens > 0) {
          continue;
        }
      }
      if (c == '{') {
        ++depth;
        opened = true;
      } else if (c == '}' && opened) {
        if (--depth == 0) return i;
      }
    }
  }
  return std::nullopt;
}

int Indent(std::string_view l) {
  int n = 0;
  for (char c : l) {
    if (c == ' ') {
      ++n;
    } else if (c == '\t') {
      n += 8 - n % 8;
    } else {
      break;
    }
  }
  return n;
}

bool Blank(std::string_view l) { return l.find_first_not_of(" \t\r") == std::string_view::npos; }

// The definitions of `content` that start at or before line `last_line` (1-based): no later
// one can hold a changed line.
std::vector<Definition> Parse(Family family, std::string_view content, int last_line) {
  std::vector<Definition> out;
  if (last_line <= 0) return out;
  std::vector<std::string_view> lines = SplitLines(content);
  const int scan_end = std::min(static_cast<int>(lines.size()), last_line);
  if (family == Family::kPython) {
    static const RE2 class_re("^\\s*class\\s+([A-Za-z_]\\w*)");
    struct Open {
      int indent;
      std::string name;
    };
    std::vector<Open> classes;
    for (int i = 0; i < scan_end; ++i) {
      std::string_view l = lines[i];
      if (Blank(l)) continue;
      if (l.find("def") == std::string_view::npos && l.find("class") == std::string_view::npos) {
        // Neither a definition nor a class; only its indentation matters (below).
        int indent = Indent(l);
        while (!classes.empty() && classes.back().indent >= indent) classes.pop_back();
        continue;
      }
      int indent = Indent(l);
      while (!classes.empty() && classes.back().indent >= indent) classes.pop_back();
      std::string cls;
      if (RE2::PartialMatch(re2::StringPiece(l.data(), l.size()), class_re, &cls)) {
        classes.push_back({indent, cls});
        continue;
      }
      std::optional<std::string> name = DefinedName(family, l);
      if (!name) continue;
      int end = i;
      for (int k = i + 1; k < static_cast<int>(lines.size()); ++k) {
        if (Blank(lines[k])) continue;
        if (Indent(lines[k]) <= indent) break;
        end = k;
      }
      Definition d{i + 1, end + 1, *name};
      if (!classes.empty() && classes.back().indent < indent)
        d.name = classes.back().name + "." + d.name;
      out.push_back(std::move(d));
    }
    return out;
  }
  for (int i = 0; i < scan_end; ++i) {
    // Most lines cannot start a definition; skip them before the regular expressions (every
    // record's files are parsed, so this is the miner's cost).
    std::string_view l = lines[i];
    bool paren = l.find('(') != std::string_view::npos;
    if (!paren && (family != Family::kJs || l.find("=>") == std::string_view::npos)) continue;
    size_t last = l.find_last_not_of(" \t\r");
    if (last != std::string_view::npos && l[last] == ';') continue;
    std::optional<std::string> name = DefinedName(family, l);
    if (!name) continue;
    std::optional<int> end = BraceEnd(lines, i);
    if (!end) continue;
    out.push_back({i + 1, *end + 1, *name});
  }
  return out;
}

// The innermost definition holding `line`, or null.
const Definition* Enclosing(const std::vector<Definition>& defs, int line) {
  const Definition* best = nullptr;
  for (const Definition& d : defs) {
    if (d.start <= line && line <= d.end && (!best || d.start >= best->start)) best = &d;
  }
  return best;
}

void AddUnique(std::vector<std::string>* out, const std::string& name) {
  if (std::find(out->begin(), out->end(), name) == out->end()) out->push_back(name);
}

}  // namespace

bool FunctionsParsed(std::string_view language) { return FamilyOf(language) != Family::kNone; }

std::vector<std::string> ChangedFunctions(
    std::string_view language, std::string_view old_content, std::string_view new_content,
    const google::protobuf::RepeatedPtrField<fixmine::v1::Hunk>& hunks) {
  std::vector<std::string> out;
  if (hunks.empty()) return out;
  Family family = FamilyOf(language);
  bool parse = family != Family::kNone && (!old_content.empty() || !new_content.empty()) &&
               old_content.size() <= kMaxParsedBytes && new_content.size() <= kMaxParsedBytes;
  if (!parse) {
    // Headers only. Without a known language, try every family's definition shapes.
    for (const auto& h : hunks) {
      if (h.header().empty()) continue;
      for (Family f :
           {family, Family::kCLike, Family::kPython, Family::kGo, Family::kRust, Family::kJs}) {
        if (f == Family::kNone) continue;
        if (std::optional<std::string> name =
                DefinedName(f, h.header(), /*header_only=*/family == Family::kNone)) {
          AddUnique(&out, *name);
          break;
        }
      }
    }
    return out;
  }
  // The last deleted (pre-image) and added (post-image) line: the parse stops there.
  int old_last = 0, new_last = 0;
  for (const auto& h : hunks) {
    int old_line = h.old_start();
    int new_line = h.new_start();
    for (std::string_view l : SplitLines(h.text())) {
      if (l.empty()) continue;
      if (l[0] == '-') {
        old_last = old_line++;
      } else if (l[0] == '+') {
        new_last = new_line++;
      } else if (l[0] == ' ') {
        ++old_line;
        ++new_line;
      }
    }
  }
  std::vector<Definition> old_defs = Parse(family, old_content, old_last);
  std::vector<Definition> new_defs = Parse(family, new_content, new_last);
  for (const auto& h : hunks) {
    int old_line = h.old_start();
    int new_line = h.new_start();
    for (std::string_view l : SplitLines(h.text())) {
      if (l.empty()) continue;
      if (l[0] == '-') {
        if (const Definition* d = Enclosing(old_defs, old_line)) AddUnique(&out, d->name);
        ++old_line;
      } else if (l[0] == '+') {
        if (const Definition* d = Enclosing(new_defs, new_line)) AddUnique(&out, d->name);
        ++new_line;
      } else if (l[0] == ' ') {
        ++old_line;
        ++new_line;
      }
    }
  }
  return out;
}

}  // namespace fixmine::miner
