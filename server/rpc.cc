#include "server/rpc.h"

namespace fixmine::server {

absl::Status Admit(const grpc::ServerContextBase& ctx, const CallGuards& guards, Role role) {
  if (guards.auth == nullptr) return absl::InternalError("server started without an authorizer");
  return guards.auth->Check(ctx, role);
}

grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* ctx, const CallGuards& guards,
                                Role role, Cost cost, std::function<absl::Status()> work) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (absl::Status st = Admit(*ctx, guards, role); !st.ok()) {
    reactor->Finish(ToGrpcStatus(st));
    return reactor;
  }
  if (cost == Cost::kLight || guards.heavy == nullptr) {
    reactor->Finish(ToGrpcStatus(work()));
    return reactor;
  }
  // The gRPC thread returns at once; the worker finishes the call. A call cancelled while it
  // waited in the queue is not started.
  absl::Status queued = guards.heavy->Submit([ctx, reactor, work = std::move(work)] {
    if (ctx->IsCancelled()) {
      reactor->Finish(grpc::Status::CANCELLED);
      return;
    }
    reactor->Finish(ToGrpcStatus(work()));
  });
  if (!queued.ok()) reactor->Finish(ToGrpcStatus(queued));
  return reactor;
}

}  // namespace fixmine::server
