#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace fixmine {

// Parses a point in time given on a command line or in a filter: RFC 3339
// ("2024-01-31T12:00:00Z", "2024-01-31T12:00:00+02:00"), a date ("2024-01-31", midnight UTC),
// or "@SECONDS" (Unix time). Returns seconds since the epoch, or INVALID_ARGUMENT naming the
// accepted forms.
absl::StatusOr<int64_t> ParseTime(std::string_view text);

// Formats Unix seconds with a UTC offset in minutes as RFC 3339 ("2024-01-31T14:00:00+02:00").
std::string FormatRfc3339(int64_t seconds, int offset_minutes = 0);

}  // namespace fixmine
