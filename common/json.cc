#include "common/json.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace fixmine {

absl::StatusOr<std::string> ToJsonLine(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  auto st = google::protobuf::util::MessageToJsonString(message, &out, opts);
  if (!st.ok()) {
    return absl::InternalError(absl::StrCat("rendering JSON: ", st.ToString()));
  }
  return out;
}

absl::StatusOr<std::string> ToPrettyJson(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  opts.add_whitespace = true;
  opts.always_print_primitive_fields = true;
  auto st = google::protobuf::util::MessageToJsonString(message, &out, opts);
  if (!st.ok()) {
    return absl::InternalError(absl::StrCat("rendering JSON: ", st.ToString()));
  }
  return out;
}

}  // namespace fixmine
