#pragma once

#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/status.h>

#include <cstddef>
#include <memory>
#include <string_view>

#include "absl/status/status.h"

namespace fixmine::server {

// Longest status message the server sends; longer ones are cut ("… (N bytes)"), so that an
// error can never push the response metadata past a client's limit (8 KiB by default in gRPC).
inline constexpr size_t kMaxStatusMessageBytes = 2048;

// The one conversion from absl::Status to grpc::Status, used at the service edge: same code,
// same message, cut to kMaxStatusMessageBytes.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The INVALID_ARGUMENT a request body that does not parse as `method`'s request message gets
// ("/fixmine.v1.RecordService/StreamRecords"): from the interceptor below, and from the raw
// methods that parse their requests themselves (server/record_service.cc).
absl::Status UnparsedRequestError(std::string_view method);

// A server interceptor that guards every status the server sends, whoever made it:
// - a request whose body did not parse as the method's request message (gRPC's callback API
//   drops the parse error and answers UNIMPLEMENTED with no message) is answered
//   INVALID_ARGUMENT with a message naming the method;
// - a message longer than kMaxStatusMessageBytes is cut.
// Register it first, so that the other interceptors (metrics, access log) see the final status.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
StatusGuardInterceptorFactory();

}  // namespace fixmine::server
