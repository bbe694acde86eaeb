#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace fixmine::miner {

// The license of a repository's top-level license files.
struct RepositoryLicense {
  // SPDX expression (curation::DetectLicenseText); "" when no file is recognised. Two or more
  // files with different licenses that are named as one license each ("LICENSE-MIT",
  // "LICENSE-APACHE": Rust's dual-licensing habit) give "A OR B" in tree order.
  std::string spdx;
  // A license file exists but its text matched no rule well, or several files disagree without
  // the "LICENSE-X" naming (then `spdx` is the first one's).
  bool unsure = false;
};

// Reads the top-level LICENSE / LICENCE / COPYING / UNLICENSE files (any case, optional
// extension or "-X" suffix) of revision `rev` of the repository at `path` and recognises them
// (docs/curation.md, "license"). NOT_FOUND when `path` is not a repository, INVALID_ARGUMENT
// when `rev` does not resolve to a commit; an empty repository has no license. Thread-safe
// (opens its own repository handle).
absl::StatusOr<RepositoryLicense> DetectRepositoryLicenseDetail(const std::string& path,
                                                                const std::string& rev);

// DetectRepositoryLicenseDetail(path, rev)->spdx.
absl::StatusOr<std::string> DetectRepositoryLicense(const std::string& path,
                                                    const std::string& rev);

}  // namespace fixmine::miner
