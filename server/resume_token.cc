#include "server/resume_token.h"

#include <cstdint>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace fixmine::server {
namespace {

// Version 2 added the checksum (SealOpaque); version 1 tokens are refused as malformed.
constexpr char kVersion = 2;
constexpr size_t kChecksumBytes = 8;

// FNV-1a 64: a stable hash across processes and releases (std::hash is not). Each byte's step
// is a bijection of the state, so two inputs of the same length that differ in one byte always
// hash differently.
uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

void PutU64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetU64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
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

std::string SealOpaque(std::string_view raw) {
  std::string sealed(raw);
  PutU64(&sealed, Fnv1a(raw));
  std::string out;
  absl::WebSafeBase64Escape(sealed, &out);
  return out;
}

std::optional<std::string> OpenOpaque(std::string_view text) {
  std::string sealed;
  if (!absl::WebSafeBase64Unescape(absl::string_view(text.data(), text.size()), &sealed) ||
      sealed.size() < kChecksumBytes) {
    return std::nullopt;
  }
  // The decoder accepts more than one spelling of the same bytes (padding, spare low bits of
  // the last character, both base64 alphabets): only the one the encoder writes is valid, so
  // that every changed character is a changed token.
  std::string canonical;
  absl::WebSafeBase64Escape(sealed, &canonical);
  if (canonical != text) return std::nullopt;
  std::string_view body(sealed.data(), sealed.size() - kChecksumBytes);
  if (GetU64(std::string_view(sealed).substr(body.size())) != Fnv1a(body)) return std::nullopt;
  return std::string(body);
}

std::string EncodeResumeToken(const storage::ScanPosition& pos, std::string_view filter_canonical) {
  std::string raw;
  raw.push_back(kVersion);
  PutU64(&raw, Fnv1a(filter_canonical));
  PutU32(&raw, static_cast<uint32_t>(pos.index.size()));
  raw.append(pos.index);
  PutU32(&raw, static_cast<uint32_t>(pos.last_key.size()));
  raw.append(pos.last_key);
  return SealOpaque(raw);
}

absl::StatusOr<storage::ScanPosition> DecodeResumeToken(std::string_view token,
                                                        std::string_view filter_canonical) {
  auto bad = [] {
    return absl::InvalidArgumentError(
        "resume_token is malformed or damaged (its checksum does not match); pass the "
        "resume_token of a previous response unchanged, or start without a token");
  };
  std::optional<std::string> raw = OpenOpaque(token);
  if (!raw.has_value()) return bad();
  std::string_view in(*raw);
  if (in.size() < 9 || in[0] != kVersion) return bad();
  uint64_t h = GetU64(in.substr(1));
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
