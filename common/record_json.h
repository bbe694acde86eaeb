#pragma once

#include <string>
#include <string_view>

#include "fixmine/v1/records.pb.h"

namespace fixmine {

// Appends `record` to `out` as one line of proto JSON (no trailing newline), byte for byte what
// ToJsonLine (protobuf 3.21's MessageToJsonString with preserve_proto_field_names) prints for it:
// fields in number order, defaults left out, int64 quoted, enums by name, and protobuf's string
// escaping (", \, control and C1 characters, <, >, and a few invisible code points as \uXXXX).
// Fields are read through reflection, so fields added to the proto later are printed too.
// Returns false, leaving `out` as it was, when a string is not valid UTF-8 (protobuf's escaper
// drops such bytes) or the message uses a field kind this writer does not render (bytes, maps,
// floating point, well-known types): call ToJsonLine then. Thread-safe; several times faster
// than ToJsonLine, which serializes, re-parses and escapes byte by byte.
bool AppendRecordJson(const fixmine::v1::Record& record, std::string* out);

// Appends `record` and a newline to `out`: AppendRecordJson, or ToJsonLine where that returns
// false (the output is the same either way; "{}" if even protobuf cannot print it).
void AppendRecordJsonLine(const fixmine::v1::Record& record, std::string* out);

// Appends `text` as a JSON string literal (quotes included) escaped as protobuf 3.21 escapes it.
// Returns false when `text` is not valid UTF-8; `out` then holds a partial literal.
bool AppendJsonString(std::string_view text, std::string* out);

}  // namespace fixmine
