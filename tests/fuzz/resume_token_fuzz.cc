// libFuzzer target: resume and page tokens (StreamRecords.resume_token, ListRecords.page_token),
// which a client sends back and may alter. The input is tried twice: as a token as sent, and as
// the decoded bytes behind a correct header and sealed with a correct checksum (so the fuzzer
// reaches the length fields without guessing the filter hash or the checksum). A token that
// decodes must round-trip through Encode unchanged, and the same token with one character
// changed must be refused.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/resume_token.h"

namespace {

constexpr std::string_view kFilter = "language = \"C\"";

void CheckRoundTrip(const fixmine::storage::ScanPosition& pos) {
  std::string token = fixmine::server::EncodeResumeToken(pos, kFilter);
  auto back = fixmine::server::DecodeResumeToken(token, kFilter);
  if (!back.ok() || back->index != pos.index || back->last_key != pos.last_key) std::abort();
  // The same token with another filter is refused.
  if (fixmine::server::DecodeResumeToken(token, "other").ok()) std::abort();
  // So is the token with one character changed (here the middle one).
  std::string damaged = token;
  char& c = damaged[damaged.size() / 2];
  c = c == 'A' ? 'B' : 'A';
  if (fixmine::server::DecodeResumeToken(damaged, kFilter).ok()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto pos = fixmine::server::DecodeResumeToken(in, kFilter);
  if (pos.ok()) CheckRoundTrip(*pos);

  // A valid header (version and the filter's hash, taken from a real token) + fuzzed payload,
  // sealed with its checksum.
  auto raw = fixmine::server::OpenOpaque(fixmine::server::EncodeResumeToken({}, kFilter));
  if (!raw.has_value() || raw->size() < 9) std::abort();
  raw->resize(9);
  raw->append(in);
  auto pos2 = fixmine::server::DecodeResumeToken(fixmine::server::SealOpaque(*raw), kFilter);
  if (pos2.ok()) CheckRoundTrip(*pos2);
  return 0;
}
