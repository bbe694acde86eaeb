#pragma once

#include <string>
#include <string_view>

namespace fixmine::curation {

// What DetectLicenseText found in one license file.
struct LicenseDetection {
  // An SPDX license expression: an id ("MIT", "GPL-2.0"), an id with a suffix the text states
  // ("GPL-2.0-only", "GPL-2.0-or-later"), or an id WITH an exception ("GPL-2.0-only WITH
  // GCC-exception-2.0", "Apache-2.0 WITH LLVM-exception"). "" when nothing was recognised.
  std::string spdx;
  // True when the text matched no rule well: nothing recognised, or a GNU license without a
  // version number (then `spdx` is ""). docs/curation.md, "license".
  bool unsure = false;
};

// Recognises the license `text` states, by key phrases (case and white space ignored): MIT,
// Apache-2.0, BSD-2-Clause, BSD-3-Clause, GPL-2.0, GPL-3.0, LGPL-2.0, LGPL-2.1, LGPL-3.0,
// AGPL-3.0, MPL-2.0, ISC, Unlicense, BSL-1.0, Zlib. When a text holds several licenses
// (libgit2's COPYING: the GPL, then the LGPL of bundled code), the one stated first wins, and a
// GNU license only mentioned inside another license (MPL-2.0's "Secondary Licenses") loses. GNU ids
// get "-only" or
// "-or-later" only when the text says so before the license's terms; GPL linking exceptions
// (GCC-exception-2.0, Classpath-exception-2.0, GCC-exception-3.1) and Apache's LLVM-exception
// are added with WITH. Thread-safe.
LicenseDetection DetectLicenseText(std::string_view text);

// DetectLicenseText(text).spdx. Thread-safe.
std::string DetectLicense(std::string_view text);

// True for a top-level file name that holds a license: LICENSE, LICENCE, COPYING or UNLICENSE,
// any case, with an optional extension (".md", ".txt", ...) or suffix ("LICENSE-MIT",
// "LICENSE.APACHE").
bool IsLicenseFileName(std::string_view name);

}  // namespace fixmine::curation
