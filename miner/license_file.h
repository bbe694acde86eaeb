#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace fixmine::miner {

// Returns the SPDX id of the license in the top-level LICENSE / LICENCE / COPYING / UNLICENSE
// file (any case, optional extension) of revision `rev` of the repository at `path`, detected
// by curation::DetectLicense; the first recognised file in tree order wins. "" when there is no
// such file or none is recognised. NOT_FOUND when `path` is not a repository, INVALID_ARGUMENT
// when `rev` does not resolve to a commit. Thread-safe (opens its own repository handle).
absl::StatusOr<std::string> DetectRepositoryLicense(const std::string& path,
                                                    const std::string& rev);

}  // namespace fixmine::miner
