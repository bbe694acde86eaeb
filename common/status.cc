#include "common/status.h"

#include <string>

#include "fmt/format.h"

namespace fixmine {
namespace {

// Length of the well-formed UTF-8 character at the start of `s`, or 0 when it is not one (a
// stray continuation byte, a truncated or overlong sequence, a surrogate, past U+10FFFF).
size_t Utf8CharLength(std::string_view s) {
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
  if (n == 0 || c > 0xf4 || s.size() < n) return 0;
  for (size_t i = 1; i < n; ++i) {
    if ((b(i) & 0xc0) != 0x80) return 0;
  }
  if (c == 0xe0 && b(1) < 0xa0) return 0;   // overlong
  if (c == 0xed && b(1) >= 0xa0) return 0;  // surrogate
  if (c == 0xf0 && b(1) < 0x90) return 0;   // overlong
  if (c == 0xf4 && b(1) >= 0x90) return 0;  // past U+10FFFF
  return n;
}

// The longest prefix of `s` of at most `max_bytes` that ends on a character boundary (bytes
// that are not UTF-8 count as one character each).
size_t CutPoint(std::string_view s, size_t max_bytes) {
  size_t at = 0;
  while (at < s.size()) {
    size_t n = Utf8CharLength(s.substr(at));
    if (n == 0) n = 1;
    if (at + n > max_bytes) break;
    at += n;
  }
  return at;
}

}  // namespace

absl::Status Annotate(const absl::Status& status, std::string_view context) {
  if (status.ok()) return status;
  std::string msg(context);
  msg.append(": ");
  msg.append(status.message().data(), status.message().size());
  return absl::Status(status.code(), msg);
}

std::string QuoteInput(std::string_view text, size_t max_bytes) {
  size_t keep = text.size() <= max_bytes ? text.size() : CutPoint(text, max_bytes);
  std::string out = "\"";
  for (size_t at = 0; at < keep;) {
    size_t n = Utf8CharLength(text.substr(at));
    unsigned char c = static_cast<unsigned char>(text[at]);
    if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7f))) {
      out += fmt::format("\\x{:02x}", c);
      ++at;
      continue;
    }
    out.append(text.substr(at, n));
    at += n;
  }
  if (keep == text.size()) return out + "\"";
  return fmt::format("{}\u2026\" ({} bytes)", out, text.size());
}

std::string CutMessage(std::string_view message, size_t max_bytes) {
  if (message.size() <= max_bytes) return std::string(message);
  return fmt::format("{}\u2026 ({} bytes)", message.substr(0, CutPoint(message, max_bytes)),
                     message.size());
}

}  // namespace fixmine
