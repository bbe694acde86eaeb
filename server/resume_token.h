#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "storage/record_store.h"

namespace fixmine::server {

// Encodes a scan position and the filter it belongs to as an opaque, URL-safe token.
std::string EncodeResumeToken(const storage::ScanPosition& pos, std::string_view filter_canonical);

// Decodes a token. INVALID_ARGUMENT when it is malformed, or when it was issued for a filter
// other than `filter_canonical` (a token is only valid with the filter it came from).
absl::StatusOr<storage::ScanPosition> DecodeResumeToken(std::string_view token,
                                                        std::string_view filter_canonical);

}  // namespace fixmine::server
