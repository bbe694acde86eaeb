#include "miner/language.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "re2/re2.h"

namespace fixmine::miner {
namespace {

struct LanguageEntry {
  std::string_view key;
  std::string_view language;
};

#include "miner/languages_data.inc"

std::string_view Find(const LanguageEntry* begin, const LanguageEntry* end, std::string_view key) {
  auto it = std::lower_bound(begin, end, key,
                             [](const LanguageEntry& e, std::string_view k) { return e.key < k; });
  if (it != end && it->key == key) return it->language;
  return {};
}

}  // namespace

std::string_view LanguageForPath(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  std::string_view lang = Find(std::begin(kFilenames), std::end(kFilenames), name);
  if (!lang.empty()) return lang;
  std::string lower = absl::AsciiStrToLower(std::string(name));
  // Longest extension first: "x.d.ts" tries ".d.ts" before ".ts".
  for (size_t dot = lower.find('.'); dot != std::string::npos; dot = lower.find('.', dot + 1)) {
    if (dot == 0) continue;  // a dot file such as ".bashrc" is a file name, not an extension
    lang =
        Find(std::begin(kExtensions), std::end(kExtensions), std::string_view(lower).substr(dot));
    if (!lang.empty()) return lang;
  }
  return {};
}

namespace {

bool EndsWithFolded(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         absl::EqualsIgnoreCase(
             absl::string_view(s.data() + s.size() - suffix.size(), suffix.size()),
             absl::string_view(suffix.data(), suffix.size()));
}

// The language `content` of a ".h" file shows, or "" when it could be C.
std::string_view HeaderLanguageOfContent(std::string_view content) {
  content = content.substr(0, size_t{64} << 10);
  re2::StringPiece text(content.data(), content.size());
  static const RE2 objc(
      "(?m)^[ \\t]*(?:@(?:interface|protocol|implementation|end|property|class|synthesize)\\b|"
      "#[ \\t]*import[ \\t]*[<\"])");
  auto has = [&](std::string_view word) { return content.find(word) != std::string_view::npos; };
  // The expressions confirm, at a line start, what a plain search finds first (most headers
  // have no '@' and no "import" at all).
  if ((has("@") || has("import")) && RE2::PartialMatch(text, objc)) return "Objective-C";
  // C++ only: a class (or a struct with a base), a namespace block, using namespace, a
  // template, an access specifier line, std::, a standard header without ".h", a C++ cast. A
  // plain `struct x {` is C too and does not count.
  static const RE2 cpp(
      "(?m)(?:^[ \\t]*class[ \\t]+(?:[A-Za-z_]\\w*[ \\t]+)*[A-Za-z_]\\w*[ \\t]*"
      "(?:final[ \\t]*)?(?::[ \\t]*(?:public|private|protected)\\b|\\{[ \\t]*$|$|;)|"
      "^[ \\t]*struct[ \\t]+[A-Za-z_]\\w*[ \\t]*(?:final[ \\t]*)?:[ \\t]*"
      "(?:public|private|protected)?[ \\t]*[A-Za-z_]|"
      "^[ \\t]*(?:inline[ \\t]+)?namespace(?:[ \\t]+[A-Za-z_][\\w:]*)?[ \\t]*\\{|"
      "^[ \\t]*using[ \\t]+namespace\\b|^[ \\t]*template[ \\t]*<|"
      "^[ \\t]*(?:public|private|protected)[ \\t]*:|\\bstd::\\w|"
      "^[ \\t]*#[ \\t]*include[ \\t]*<(?:algorithm|array|atomic|cstddef|cstdint|cstdio|"
      "cstdlib|cstring|chrono|functional|iostream|istream|ostream|sstream|fstream|iterator|"
      "limits|list|map|memory|mutex|optional|set|string|string_view|thread|tuple|type_traits|"
      "unordered_map|unordered_set|utility|variant|vector|deque|queue|stack|bitset)>|"
      "\\b(?:noexcept|static_cast|reinterpret_cast|const_cast|dynamic_cast)\\b)");
  if ((has("class") || has("struct") || has("namespace") || has("template") || has("public") ||
       has("private") || has("protected") || has("std::") || has("include") || has("_cast") ||
       has("noexcept")) &&
      RE2::PartialMatch(text, cpp)) {
    return "C++";
  }
  return "";
}

}  // namespace

std::string_view LanguageForFile(std::string_view path, std::string_view content,
                                 std::string_view repository_header_language) {
  if (!EndsWithFolded(path, ".h")) return LanguageForPath(path);
  std::string_view by_content = HeaderLanguageOfContent(content);
  if (!by_content.empty()) return by_content;
  if (!repository_header_language.empty()) return repository_header_language;
  return "C";
}

void SourceCounts::Add(std::string_view path) {
  size_t dot = path.rfind('.');
  if (dot == std::string_view::npos || path.find('/', dot) != std::string_view::npos) return;
  std::string ext = absl::AsciiStrToLower(std::string(path.substr(dot + 1)));
  if (ext == "c") {
    ++c;
  } else if (ext == "cc" || ext == "cpp" || ext == "cxx" || ext == "c++" || ext == "hpp" ||
             ext == "hh" || ext == "hxx" || ext == "ipp" || ext == "tpp") {
    ++cpp;
  } else if (ext == "m" || ext == "mm") {
    ++objc;
  }
}

std::string_view HeaderLanguageOfRepository(const SourceCounts& counts) {
  if (counts.cpp > 0 && counts.c * 10 < counts.cpp) return "C++";
  if (counts.objc > 0 && counts.c == 0 && counts.cpp == 0) return "Objective-C";
  return "";
}

}  // namespace fixmine::miner
