#include "common/encoding.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace fixmine {
namespace {

// Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF), one byte at a time: the
// reference for IsValidUtf8's word-at-a-time ASCII skipping.
bool ReferenceValid(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = c >= 0xc2 && c <= 0xdf   ? 2
               : c >= 0xe0 && c <= 0xef ? 3
               : c >= 0xf0 && c <= 0xf4 ? 4
                                        : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = c & (n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);
    for (size_t k = 1; k < n; ++k) {
      auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    uint32_t min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n;
  }
  return true;
}

TEST(EncodingTest, IsValidUtf8EqualsByteByByteCheck) {
  const std::vector<std::string> pieces = {
      "\xc3\xa9",     "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\xef\xbf\xbf",
      "\x80",         "\xbf",         "\xc0\x80",         "\xc1\xbf",         "\xe0\x80\x80",
      "\xe0\x9f\xbf", "\xed\xa0\x80", "\xf0\x80\x80\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
      "\xff",         "\xc3",         "\xe2\x82",         "\xf0\x9f\x98",     "\xc3\x28"};
  std::mt19937 rng(9);
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s;
    int parts = static_cast<int>(rng() % 6);
    for (int i = 0; i < parts; ++i) {
      s.append(rng() % 24, 'a');  // ASCII runs across the 8-byte words
      if (rng() % 3 != 0) s += pieces[rng() % pieces.size()];
    }
    ASSERT_EQ(IsValidUtf8(s), ReferenceValid(s)) << iter;
  }
  for (int c = 0; c < 256; ++c) {
    for (size_t at = 0; at < 20; ++at) {
      std::string s(20, 'x');
      s[at] = static_cast<char>(c);
      ASSERT_EQ(IsValidUtf8(s), c < 0x80) << c << " at " << at;
    }
  }
}

}  // namespace
}  // namespace fixmine
