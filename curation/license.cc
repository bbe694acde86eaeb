#include "curation/license.h"

#include <string>

#include "absl/strings/ascii.h"
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

std::string DetectLicense(std::string_view text) {
  std::string t = Normalize(text.substr(0, 200000));
  // The more specific GNU licenses first: their texts mention the GPL too.
  if (Has(t, "gnu affero general public license")) return "AGPL-3.0";
  if (Has(t, "gnu lesser general public license")) {
    if (Has(t, "version 3")) return "LGPL-3.0";
    return "LGPL-2.1";
  }
  if (Has(t, "gnu library general public license")) return "LGPL-2.0";
  if (Has(t, "gnu general public license")) {
    if (Has(t, "version 3")) return "GPL-3.0";
    if (Has(t, "version 2")) return "GPL-2.0";
  }
  if (Has(t, "apache license") && Has(t, "version 2.0")) return "Apache-2.0";
  if (Has(t, "mozilla public license") && (Has(t, "version 2.0") || Has(t, "v. 2.0"))) {
    return "MPL-2.0";
  }
  if (Has(t, "this is free and unencumbered software released into the public domain")) {
    return "Unlicense";
  }
  if (Has(t, "permission to use, copy, modify, and/or distribute this software for any purpose") ||
      Has(t, "permission to use, copy, modify, and distribute this software for any purpose with "
             "or without fee")) {
    return "ISC";
  }
  if (Has(t, "permission is hereby granted, free of charge, to any person obtaining a copy")) {
    return "MIT";
  }
  if (Has(t, "redistribution and use in source and binary forms")) {
    if (Has(t, "neither the name") || Has(t, "names of its contributors")) return "BSD-3-Clause";
    return "BSD-2-Clause";
  }
  return "";
}

bool IsLicenseFileName(std::string_view name) {
  static const RE2 re("(?i)(un)?(licen[cs]e|copying)(\\.[a-z0-9]+)?");
  return RE2::FullMatch(re2::StringPiece(name.data(), name.size()), re);
}

}  // namespace fixmine::curation
