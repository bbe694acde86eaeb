#include "curation/license.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "re2/re2.h"

namespace fixmine::curation {
namespace {

// `text` in ASCII lower case with every run of white space (and comment markers some files
// carry, '#', '*') turned into one space.
std::string Normalize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool space = true;
  for (char c : text) {
    bool ws = absl::ascii_isspace(static_cast<unsigned char>(c)) || c == '#' || c == '*';
    if (ws) {
      if (!space) out.push_back(' ');
      space = true;
    } else {
      out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
      space = false;
    }
  }
  return out;
}

bool Has(const std::string& t, std::string_view phrase) {
  return t.find(phrase) != std::string::npos;
}

}  // namespace

LicenseDetection DetectLicenseText(std::string_view text) {
  LicenseDetection out;
  std::string t = Normalize(text.substr(0, 200000));
  // The GNU family: the title stated first wins (the GPL's text mentions the LGPL and the other
  // way round; libgit2's COPYING carries the LGPL of bundled code after its own GPL).
  struct Gnu {
    std::string_view title;
    std::string_view family;
  };
  constexpr Gnu kGnu[] = {{"gnu affero general public license", "AGPL"},
                          {"gnu lesser general public license", "LGPL"},
                          {"gnu library general public license", "LGPL-lib"},
                          {"gnu general public license", "GPL"}};
  size_t gnu_at = std::string::npos;
  std::string_view family;
  for (const Gnu& g : kGnu) {
    size_t at = t.find(g.title);
    if (at < gnu_at) {
      gnu_at = at;
      family = g.family;
    }
  }
  // Other licenses' texts mention the GNU ones (MPL-2.0 names the GPL and LGPL as "Secondary
  // Licenses"): the GNU branch applies only when no other license's opening phrase comes first.
  for (std::string_view other :
       {"mozilla public license", "apache license", "permission is hereby granted, free of charge",
        "redistribution and use in source and binary forms", "boost software license",
        "this software is provided 'as-is', without any express or implied warranty",
        "this is free and unencumbered software released into the public domain"}) {
    if (t.find(other) < gnu_at) gnu_at = std::string::npos;
  }
  if (gnu_at != std::string::npos) {
    // The first version number after the first title ("Version 2, June 1991", "either version
    // 2 of the License", "Version 2.1, February 1999").
    static const RE2 version_re("version (\\d)(?:\\.(\\d))?");
    std::string major, minor;
    RE2::PartialMatch(re2::StringPiece(t.data() + gnu_at, t.size() - gnu_at), version_re, &major,
                      &minor);
    std::string id;
    if (family == "AGPL") {
      id = "AGPL-3.0";
    } else if (family == "LGPL-lib") {
      id = "LGPL-2.0";
    } else if (family == "LGPL") {
      if (major == "3") id = "LGPL-3.0";
      if (major == "2") id = minor == "1" ? "LGPL-2.1" : "LGPL-2.0";
    } else if (major == "3" || major == "2") {
      id = absl::StrCat("GPL-", major, ".0");
    }
    if (id.empty()) {
      out.unsure = true;  // "GNU General Public License" with no version
      return out;
    }
    // "-only" / "-or-later" only when a notice before the license's own terms says so: the
    // terms end with "How to Apply" advice that always mentions "any later version".
    size_t terms = t.find("terms and conditions");
    std::string_view notice = std::string_view(t).substr(0, terms);
    if (Has(t, "only valid version of the gpl") || Has(t, "only valid version of the license") ||
        notice.find("version 2 only") != std::string_view::npos ||
        notice.find("version 3 only") != std::string_view::npos) {
      id += "-only";
    } else if (notice.find("any later version") != std::string_view::npos) {
      id += "-or-later";
    }
    if (Has(t, "unlimited permission to link the compiled version of this")) {
      id += " WITH GCC-exception-2.0";
    } else if (Has(t, "gcc runtime library exception")) {
      id += " WITH GCC-exception-3.1";
    } else if (Has(t, "give you permission to link this library with independent modules")) {
      id += " WITH Classpath-exception-2.0";
    }
    out.spdx = std::move(id);
    return out;
  }
  if (Has(t, "apache license") && Has(t, "version 2.0")) {
    out.spdx = Has(t, "llvm exceptions to the apache 2.0 license")
                   ? "Apache-2.0 WITH LLVM-exception"
                   : "Apache-2.0";
  } else if (Has(t, "mozilla public license") && (Has(t, "version 2.0") || Has(t, "v. 2.0"))) {
    out.spdx = "MPL-2.0";
  } else if (Has(t, "this is free and unencumbered software released into the public domain")) {
    out.spdx = "Unlicense";
  } else if (Has(t,
                 "permission to use, copy, modify, and/or distribute this software for any "
                 "purpose") ||
             Has(t,
                 "permission to use, copy, modify, and distribute this software for any "
                 "purpose with or without fee")) {
    out.spdx = "ISC";
  } else if (Has(t, "boost software license") && Has(t, "version 1.0")) {
    out.spdx = "BSL-1.0";
  } else if (Has(t,
                 "this software is provided 'as-is', without any express or implied "
                 "warranty") &&
             Has(t, "altered source versions must be plainly marked as such")) {
    out.spdx = "Zlib";
  } else if (Has(t,
                 "permission is hereby granted, free of charge, to any person obtaining a "
                 "copy")) {
    out.spdx = "MIT";
  } else if (Has(t, "redistribution and use in source and binary forms")) {
    out.spdx = Has(t, "neither the name") || Has(t, "names of its contributors") ? "BSD-3-Clause"
                                                                                 : "BSD-2-Clause";
  } else {
    out.unsure = true;
  }
  return out;
}

std::string DetectLicense(std::string_view text) { return DetectLicenseText(text).spdx; }

bool IsLicenseFileName(std::string_view name) {
  static const RE2 re("(?i)(un)?(licen[cs]e|copying)([.-][a-z0-9]+)?");
  return RE2::FullMatch(re2::StringPiece(name.data(), name.size()), re);
}

}  // namespace fixmine::curation
