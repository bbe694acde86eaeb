// libFuzzer target: commit message transcoding and label extraction, as a repository supplies
// them (any bytes, any declared `encoding` header). The first input byte picks the declared
// encoding; the rest is the message. Checks: the decoded text is valid UTF-8, ISO-8859-1
// decoding keeps one code point per byte, and every labeller accepts the text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/encoding.h"
#include "curation/labels.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* const kDeclared[] = {
      "",       "UTF-8",        "ISO-8859-1",  "Shift_JIS", "EUC-JP",    "GBK",
      "KOI8-R", "windows-1252", "ISO-2022-JP", "UTF-16",    "bogus-enc", "latin1"};
  if (size == 0) return 0;
  std::string_view declared = kDeclared[data[0] % (sizeof(kDeclared) / sizeof(kDeclared[0]))];
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

  fixmine::DecodedText decoded = fixmine::DecodeToUtf8(bytes, declared);
  if (!fixmine::IsValidUtf8(decoded.text) || decoded.encoding.empty()) std::abort();
  std::string latin = fixmine::Latin1ToUtf8(bytes);
  if (!fixmine::IsValidUtf8(latin) || latin.size() < bytes.size() ||
      latin.size() > 2 * bytes.size()) {
    std::abort();
  }

  const std::string& text = decoded.text;
  std::string_view subject(text);
  if (size_t nl = subject.find('\n'); nl != std::string_view::npos) subject = subject.substr(0, nl);
  auto fix = fixmine::curation::LabelFix(text);
  if (fix.is_fix && fix.evidence.empty()) std::abort();  // a fix always says why
  auto revert = fixmine::curation::LabelRevert(subject, text);
  if (!revert.reverted_commit.empty() && !revert.is_revert) std::abort();
  static const std::vector<std::string> kExtraBots = {"ci-bot", "Jenkins"};
  (void)fixmine::curation::BotReason(subject, text, kExtraBots);
  (void)fixmine::curation::DetectMessageLanguage(text);
  return 0;
}
