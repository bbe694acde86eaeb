#include "server/status_convert.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace fixmine::server {

absl::Status UnparsedRequestError(std::string_view method) {
  return absl::InvalidArgumentError(
      absl::StrCat("the request body of ", std::string(method),
                   " does not parse as its request message (bytes that are not a "
                   "serialized protobuf of that message, or a string field that is not "
                   "UTF-8); send the method's request message as the proto defines it"));
}

namespace {

class StatusGuardInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit StatusGuardInterceptor(grpc::experimental::ServerRpcInfo* info)
      : method_(info->method() != nullptr ? info->method() : "") {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using H = grpc::experimental::InterceptionHookPoints;
    // The callback API deserializes before the handler runs and passes a null message on when
    // the bytes did not parse; it then finishes the call itself with UNIMPLEMENTED and no
    // message, without asking the handler.
    if (methods->QueryInterceptionHookPoint(H::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      unparsed_ = true;
    }
    if (methods->QueryInterceptionHookPoint(H::PRE_SEND_STATUS)) {
      grpc::Status st = methods->GetSendStatus();
      if (unparsed_ && st.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
        methods->ModifySendStatus(ToGrpcStatus(UnparsedRequestError(method_)));
      } else if (st.error_message().size() > kMaxStatusMessageBytes) {
        methods->ModifySendStatus(
            grpc::Status(st.error_code(), CutMessage(st.error_message(), kMaxStatusMessageBytes),
                         st.error_details()));
      }
    }
    methods->Proceed();
  }

 private:
  std::string method_;
  bool unparsed_ = false;
};

class StatusGuardFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new StatusGuardInterceptor(info);
  }
};

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      CutMessage(std::string_view(status.message().data(), status.message().size()),
                                 kMaxStatusMessageBytes));
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
StatusGuardInterceptorFactory() {
  return std::make_unique<StatusGuardFactory>();
}

}  // namespace fixmine::server
