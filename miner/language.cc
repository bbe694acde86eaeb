#include "miner/language.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"

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
    lang = Find(std::begin(kExtensions), std::end(kExtensions),
                std::string_view(lower).substr(dot));
    if (!lang.empty()) return lang;
  }
  return {};
}

}  // namespace fixmine::miner
