#pragma once

#include <string>
#include <string_view>

namespace fixmine::curation {

// Returns the SPDX id of the license `text` states, by key phrases (case and white space
// ignored): MIT, Apache-2.0, BSD-2-Clause, BSD-3-Clause, GPL-2.0, GPL-3.0, LGPL-2.0, LGPL-2.1,
// LGPL-3.0, AGPL-3.0, MPL-2.0, ISC, Unlicense; "" when none is recognised. Thread-safe.
std::string DetectLicense(std::string_view text);

// True for a top-level file name that holds a license: LICENSE, LICENCE, COPYING or UNLICENSE,
// any case, with an optional extension (".md", ".txt", ...).
bool IsLicenseFileName(std::string_view name);

}  // namespace fixmine::curation
