#pragma once

#include <memory>

#include "fixmine/v1/trajectories.grpc.pb.h"
#include "server/services.h"
#include "storage/record_store.h"
#include "storage/trajectory_store.h"

namespace fixmine::server {

// TrajectoryService on the gRPC callback API (docs/api.md). Streams keep one write in flight
// and read the next batch only when the previous one was sent. Store and trajectories are
// borrowed and outlive the service. Thread-safe.
class TrajectoryServiceImpl final : public fixmine::v1::TrajectoryService::CallbackService {
 public:
  // Every call needs a read (or admin) token when tokens are configured, and a stream takes a
  // slot of `guards.streams` (docs/security.md). A chat row keeps its steps' patches within
  // `max_chat_patch_bytes` (the records' budget, --max-record-bytes; 0: none). All pointers
  // are borrowed.
  TrajectoryServiceImpl(storage::RecordStore* store, storage::TrajectoryStore* trajectories,
                        CallGuards guards, size_t max_chat_patch_bytes = 0)
      : store_(store),
        trajectories_(trajectories),
        guards_(guards),
        max_chat_patch_bytes_(max_chat_patch_bytes) {}

  grpc::ServerUnaryReactor* GetTrajectory(grpc::CallbackServerContext* ctx,
                                          const fixmine::v1::GetTrajectoryRequest* req,
                                          fixmine::v1::GetTrajectoryResponse* resp) override;
  grpc::ServerWriteReactor<fixmine::v1::StreamTrajectoriesResponse>* StreamTrajectories(
      grpc::CallbackServerContext* ctx, const fixmine::v1::StreamTrajectoriesRequest* req) override;

 private:
  storage::RecordStore* store_;
  storage::TrajectoryStore* trajectories_;
  CallGuards guards_;
  const size_t max_chat_patch_bytes_;
};

}  // namespace fixmine::server
