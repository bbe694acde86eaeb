#include "common/status.h"

#include <string>

namespace fixmine {

absl::Status Annotate(const absl::Status& status, std::string_view context) {
  if (status.ok()) return status;
  std::string msg(context);
  msg.append(": ");
  msg.append(status.message().data(), status.message().size());
  return absl::Status(status.code(), msg);
}

}  // namespace fixmine
