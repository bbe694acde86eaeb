#include "curation/paths.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "re2/re2.h"
#include "re2/set.h"

namespace fixmine::curation {
namespace {

#include "curation/path_rules.inc"

// A set of linguist patterns, unanchored as linguist applies them (Ruby's `=~`).
class PatternSet {
 public:
  template <size_t N>
  explicit PatternSet(const char* const (&patterns)[N]) : set_(RE2::Options(), RE2::UNANCHORED) {
    for (const char* p : patterns) set_.Add(p, nullptr);  // a pattern RE2 rejects is skipped
    ok_ = set_.Compile();
  }

  bool Match(std::string_view path) const {
    return ok_ && set_.Match(re2::StringPiece(path.data(), path.size()), nullptr);
  }

 private:
  RE2::Set set_;
  bool ok_ = false;
};

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// The file-name rules of linguist's generated.rb (those that need no content).
const RE2& GeneratedNames() {
  static const RE2 re(
      "(?i)("
      "\\.min\\.(js|css)$|[-.]min\\.(js|css)\\.map$|\\.(js|css)\\.map$|"  // minified, source maps
      "\\.pb\\.go$|\\.pb\\.(cc|h)$|_pb2(_grpc)?\\.pyi?$|\\.pb\\.(swift|rb|js|ts)$|"  // protobuf
      "_grpc\\.pb\\.go$|\\.grpc\\.pb\\.(cc|h)$|_pb\\.(js|ts|rb)$|"
      "\\.designer\\.(cs|vb)$|"                                   // Visual Studio
      "(^|/)\\.?xcodeproj/|\\.xcworkspacedata$|\\.xcuserstate$|"  // Xcode
      "(^|/)node_modules/|"
      "\\.g\\.(dart|cs)$|\\.freezed\\.dart$|"  // Dart / C# code gen
      "_generated\\.go$|zz_generated\\.[\\w.]+\\.go$|\\.gen\\.go$|"
      "(^|/)go-bindata|bindata\\.go$|"
      "\\.generated\\.\\w+$|"
      "\\.pbxproj$|"
      "(^|/)__generated__/|(^|/)gen/.*\\.(java|kt)$|"
      "\\.tlb$|\\.ui\\.h$|(^|/)moc_[^/]*\\.cpp$|(^|/)ui_[^/]*\\.h$|(^|/)qrc_[^/]*\\.cpp$|"  // Qt
      "(^|/)(parser|lexer)\\.(tab\\.)?[ch]$|\\.tab\\.[ch]$|"  // yacc / bison
      "(^|/)y\\.tab\\.[ch]$|\\.(bison|yacc)\\.[ch]$|"
      "(^|/)(Cargo|Gemfile|composer|poetry|Pipfile|flake|mix|pubspec|Podfile|Package\\.resolved)"
      "[^/]*\\.lock$"
      ")");
  return re;
}

}  // namespace

bool IsVendored(std::string_view path) {
  static const PatternSet* set = new PatternSet(kVendorPatterns);
  return set->Match(path);
}

bool IsDocumentation(std::string_view path) {
  static const PatternSet* set = new PatternSet(kDocumentationPatterns);
  return set->Match(path);
}

bool IsLockfile(std::string_view path) {
  std::string_view base = BaseName(path);
  for (std::string_view name : {"package-lock.json",
                                "npm-shrinkwrap.json",
                                "yarn.lock",
                                "pnpm-lock.yaml",
                                "bun.lockb",
                                "Cargo.lock",
                                "poetry.lock",
                                "Pipfile.lock",
                                "pdm.lock",
                                "uv.lock",
                                "Gemfile.lock",
                                "composer.lock",
                                "go.sum",
                                "mix.lock",
                                "pubspec.lock",
                                "Podfile.lock",
                                "Package.resolved",
                                "flake.lock",
                                "packages.lock.json",
                                "paket.lock",
                                "gradle.lockfile",
                                "conan.lock",
                                "deno.lock",
                                "shard.lock",
                                "Manifest.toml"}) {
    if (base == name) return true;
  }
  return false;
}

bool IsGenerated(std::string_view path) {
  return IsLockfile(path) ||
         RE2::PartialMatch(re2::StringPiece(path.data(), path.size()), GeneratedNames());
}

}  // namespace fixmine::curation
