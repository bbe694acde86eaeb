#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"

namespace fixmine {

// Renders `message` as one line of proto JSON with the proto field names (snake_case), enums as
// names, and fields at their default value left out. Thread-safe.
absl::StatusOr<std::string> ToJsonLine(const google::protobuf::Message& message);

// Renders `message` as indented proto JSON (for `--output json`), defaults included.
absl::StatusOr<std::string> ToPrettyJson(const google::protobuf::Message& message);

}  // namespace fixmine
