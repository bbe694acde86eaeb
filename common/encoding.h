#pragma once

#include <string>
#include <string_view>

namespace fixmine {

// True when `bytes` is well-formed UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF).
bool IsValidUtf8(std::string_view bytes);

// Decodes every byte as ISO-8859-1 into UTF-8. Lossless: each byte maps to one code point.
std::string Latin1ToUtf8(std::string_view bytes);

// Text decoded to UTF-8 and the encoding it was decoded from.
struct DecodedText {
  std::string text;
  // "UTF-8" when the input was valid UTF-8 and kept as is, else the source encoding's name.
  std::string encoding;
};

// Decodes `bytes` to UTF-8. With a `declared` encoding (a commit's `encoding` header) other than
// UTF-8, converts from it with iconv; when that fails (unknown name, bytes invalid in it) or
// nothing is declared, keeps valid UTF-8 as is and decodes anything else as ISO-8859-1, so no
// byte is ever dropped. Thread-safe.
DecodedText DecodeToUtf8(std::string_view bytes, std::string_view declared = {});

}  // namespace fixmine
