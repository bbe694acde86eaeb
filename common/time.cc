#include "common/time.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "fmt/format.h"

namespace fixmine {

absl::StatusOr<int64_t> ParseTime(std::string_view text) {
  if (!text.empty() && text[0] == '@') {
    int64_t s;
    if (absl::SimpleAtoi(std::string(text.substr(1)), &s)) return s;
  }
  absl::Time t;
  std::string err;
  std::string s(text);
  if (absl::ParseTime(absl::RFC3339_full, s, &t, &err) ||
      absl::ParseTime("%Y-%m-%d", s, absl::UTCTimeZone(), &t, &err) ||
      absl::ParseTime("%Y-%m-%d %H:%M:%S", s, absl::UTCTimeZone(), &t, &err)) {
    return absl::ToUnixSeconds(t);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("time ", QuoteInput(text),
                   " is not RFC 3339 (2024-01-31T12:00:00Z), a date (2024-01-31) or @SECONDS"));
}

std::string FormatRfc3339(int64_t seconds, int offset_minutes) {
  absl::TimeZone tz = absl::FixedTimeZone(offset_minutes * 60);
  return absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", absl::FromUnixSeconds(seconds), tz);
}

}  // namespace fixmine
