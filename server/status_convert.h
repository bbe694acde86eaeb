#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace fixmine::server {

// The one conversion from absl::Status to grpc::Status, used at the service edge: same code,
// same message.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace fixmine::server
