#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "storage/record_store.h"

namespace fixmine::server {

// Encodes a scan position and the filter it belongs to as an opaque, URL-safe token with an
// integrity check (docs/api.md, "Resume tokens").
std::string EncodeResumeToken(const storage::ScanPosition& pos, std::string_view filter_canonical);

// Decodes a token. INVALID_ARGUMENT when it is malformed or damaged (any changed, added or
// removed character), or when it was issued for a filter other than `filter_canonical` (a token
// is only valid with the filter it came from).
absl::StatusOr<storage::ScanPosition> DecodeResumeToken(std::string_view token,
                                                        std::string_view filter_canonical);

// The envelope of every opaque value the server hands out to be sent back (resume and page
// tokens, read-session stream names): `raw` followed by its 64-bit FNV-1a checksum, in
// unpadded URL-safe base64. Pure.
std::string SealOpaque(std::string_view raw);

// Opens text made by SealOpaque: the raw bytes, or nullopt when the text is not exactly what
// SealOpaque makes of some bytes (a character outside the alphabet, padding, non-zero spare
// bits) or the checksum does not match. Any one changed byte of a sealed text is caught. Pure.
std::optional<std::string> OpenOpaque(std::string_view text);

}  // namespace fixmine::server
