#include "common/encoding.h"

#include <iconv.h>

#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/ascii.h"

namespace fixmine {

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    if (end - p >= 8) {
      // ASCII eight bytes at a time (source text is mostly ASCII after its first non-ASCII
      // byte too); on a word with a high bit, go straight to its first such byte.
      uint64_t w;
      std::memcpy(&w, p, 8);
      uint64_t high = w & 0x8080808080808080ull;
      if (high == 0) {
        p += 8;
        continue;
      }
      if constexpr (std::endian::native == std::endian::little) {
        p += std::countr_zero(high) / 8;
      }
    }
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    p += n + 1;
  }
  return true;
}

std::string Latin1ToUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 4);
  for (unsigned char c : bytes) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

namespace {

bool IsUtf8Name(std::string_view name) {
  std::string n = absl::AsciiStrToLower(std::string(name));
  return n == "utf-8" || n == "utf8";
}

// Converts with iconv; false when the encoding is unknown or the bytes are invalid in it.
bool IconvToUtf8(std::string_view bytes, const std::string& from, std::string* out) {
  iconv_t cd = iconv_open("UTF-8", from.c_str());
  // iconv_open reports failure as (iconv_t)-1, an integer cast to a pointer.
  if (cd == reinterpret_cast<iconv_t>(-1)) return false;  // NOLINT(performance-no-int-to-ptr)
  out->clear();
  std::string buf(bytes.size() * 4 + 16, '\0');
  char* in = const_cast<char*>(bytes.data());
  size_t in_left = bytes.size();
  bool ok = true;
  while (in_left > 0) {
    char* o = buf.data();
    size_t o_left = buf.size();
    size_t r = iconv(cd, &in, &in_left, &o, &o_left);
    out->append(buf.data(), buf.size() - o_left);
    if (r == static_cast<size_t>(-1)) {
      if (errno == E2BIG) continue;
      ok = false;
      break;
    }
  }
  iconv_close(cd);
  return ok && IsValidUtf8(*out);
}

}  // namespace

DecodedText DecodeToUtf8(std::string_view bytes, std::string_view declared) {
  DecodedText d;
  if (!declared.empty() && !IsUtf8Name(declared)) {
    std::string name(declared);
    if (IconvToUtf8(bytes, name, &d.text)) {
      d.encoding = absl::AsciiStrToUpper(name);
      return d;
    }
  }
  if (IsValidUtf8(bytes)) {
    d.text.assign(bytes);
    d.encoding = "UTF-8";
  } else {
    d.text = Latin1ToUtf8(bytes);
    d.encoding = "ISO-8859-1";
  }
  return d;
}

}  // namespace fixmine
