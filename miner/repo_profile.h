#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "miner/language.h"

namespace fixmine::miner {

// Facts about a whole repository at one revision that label each of its records.
struct RepositoryProfile {
  // Source files by kind in the revision's tree (submodules and symlinks not counted).
  SourceCounts sources;
  // HeaderLanguageOfRepository(sources): what a `.h` file with no telling content is.
  std::string header_language;
};

// Reads the tree of revision `rev` of the repository at `path` (names only, no blobs).
// NOT_FOUND when `path` is not a repository, INVALID_ARGUMENT when `rev` does not resolve to a
// commit; an empty repository (no HEAD) gives an empty profile. Thread-safe (opens its own
// repository handle).
absl::StatusOr<RepositoryProfile> ProfileRepository(const std::string& path,
                                                    const std::string& rev);

}  // namespace fixmine::miner
