#pragma once

#include <string_view>

namespace fixmine::miner {

// Returns the language of a file from its name, using GitHub linguist's languages data (file
// names first, then the longest matching extension, case-insensitive); empty when unknown.
// The returned view points to static storage. Thread-safe.
std::string_view LanguageForPath(std::string_view path);

// Returns the language of a file from its name and, for names whose extension several
// languages share, its content and its repository (docs/curation.md, "language"). Today that is
// `.h`, which is C, C++ or Objective-C:
//  1. Objective-C markers in `content` (`@interface`, `@protocol`, `@end`, `#import`) give
//     "Objective-C"; C++ constructs (`class X`, `namespace`, `template <`, `std::`, an access
//     specifier line such as `public:`, `#include <vector>`-style headers without ".h") give
//     "C++";
//  2. otherwise `repository_header_language` (HeaderLanguageOfRepository), when not empty;
//  3. otherwise "C", linguist's default.
// Every other name gives LanguageForPath(path). Only the first 64 KiB of `content` are looked
// at. The returned view points to static storage or to `repository_header_language`.
// Thread-safe.
std::string_view LanguageForFile(std::string_view path, std::string_view content,
                                 std::string_view repository_header_language);

// Counts of a repository's source files by kind, for HeaderLanguageOfRepository.
struct SourceCounts {
  int c = 0;     // .c
  int cpp = 0;   // .cc .cpp .cxx .c++ .hpp .hh .hxx .ipp .tpp
  int objc = 0;  // .m .mm
  // Adds `path` to the count its extension names (case-insensitive); others are ignored.
  void Add(std::string_view path);
};

// What a `.h` file with no telling content is in a repository with `counts`: "C++" when it has
// C++ files and its C files are under a tenth of them, "Objective-C" when it has .m/.mm files
// and neither C nor C++ ones, "" (no opinion: C) otherwise. Thread-safe.
std::string_view HeaderLanguageOfRepository(const SourceCounts& counts);

}  // namespace fixmine::miner
