#include "server/resume_token.h"

#include <cstdint>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace fixmine::server {
namespace {

constexpr char kVersion = 1;

// FNV-1a 64: a stable hash across processes and releases (std::hash is not).
uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

void PutU32(std::string* out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

bool GetU32(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  *v = 0;
  for (int i = 0; i < 4; ++i) *v = (*v << 8) | static_cast<unsigned char>((*in)[i]);
  in->remove_prefix(4);
  return true;
}

}  // namespace

std::string EncodeResumeToken(const storage::ScanPosition& pos,
                              std::string_view filter_canonical) {
  std::string raw;
  raw.push_back(kVersion);
  uint64_t h = Fnv1a(filter_canonical);
  for (int i = 7; i >= 0; --i) raw.push_back(static_cast<char>((h >> (8 * i)) & 0xff));
  PutU32(&raw, static_cast<uint32_t>(pos.index.size()));
  raw.append(pos.index);
  PutU32(&raw, static_cast<uint32_t>(pos.last_key.size()));
  raw.append(pos.last_key);
  std::string out;
  absl::WebSafeBase64Escape(raw, &out);
  return out;
}

absl::StatusOr<storage::ScanPosition> DecodeResumeToken(std::string_view token,
                                                        std::string_view filter_canonical) {
  auto bad = [] {
    return absl::InvalidArgumentError(
        "resume_token is malformed; pass the resume_token of a previous response unchanged");
  };
  std::string raw;
  if (!absl::WebSafeBase64Unescape(std::string(token), &raw)) return bad();
  std::string_view in(raw);
  if (in.size() < 9 || in[0] != kVersion) return bad();
  uint64_t h = 0;
  for (int i = 1; i <= 8; ++i) h = (h << 8) | static_cast<unsigned char>(in[i]);
  in.remove_prefix(9);
  if (h != Fnv1a(filter_canonical)) {
    return absl::InvalidArgumentError(
        "resume_token was issued for a different filter; resume with the same filter, or "
        "start without a token");
  }
  storage::ScanPosition pos;
  uint32_t n;
  if (!GetU32(&in, &n) || in.size() < n) return bad();
  pos.index = std::string(in.substr(0, n));
  in.remove_prefix(n);
  if (!GetU32(&in, &n) || in.size() != n) return bad();
  pos.last_key = std::string(in);
  return pos;
}

}  // namespace fixmine::server
