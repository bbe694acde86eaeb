#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"

namespace fixmine {

// Renders `message` as one line of proto JSON with the proto field names (snake_case), enums as
// names, and fields at their default value left out. Thread-safe.
absl::StatusOr<std::string> ToJsonLine(const google::protobuf::Message& message);

// Renders `message` as indented proto JSON (for `--output json`), defaults included.
absl::StatusOr<std::string> ToPrettyJson(const google::protobuf::Message& message);

// Appends `s` as a JSON string literal (quotes included): quotes, backslashes and control
// characters escaped, valid UTF-8 kept as it is, and each invalid byte written as U+FFFD, so the
// output is always valid JSON. For text that may not be UTF-8 (export rows, log lines); see
// AppendJsonString in common/record_json.h for the protobuf-exact escaper.
void AppendValidJsonString(std::string_view s, std::string* out);

}  // namespace fixmine
