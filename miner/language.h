#pragma once

#include <string_view>

namespace fixmine::miner {

// Returns the language of a file from its name, using GitHub linguist's languages data (file
// names first, then the longest matching extension, case-insensitive); empty when unknown.
// The returned view points to static storage. Thread-safe.
std::string_view LanguageForPath(std::string_view path);

}  // namespace fixmine::miner
