// TrajectoryService: reads of stored pull-request trajectories by filter.
#include "server/trajectory_service.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/trajectory_format.h"
#include "server/resume_token.h"
#include "server/rpc.h"
#include "server/status_convert.h"

namespace fixmine::server {
namespace {

using fixmine::v1::Record;
using fixmine::v1::Trajectory;

constexpr size_t kMaxBatchBytes = size_t{1} << 20;  // about 1 MiB per streamed response
constexpr size_t kMaxBatchTrajectories = 1000;
// Resume tokens hash this prefix with the filter, so a record token is refused here.
constexpr std::string_view kTokenContext = "trajectories\n";
constexpr char kIndex[] = "trajectories";

// The chat row of `t`, its steps read from the record store (a step whose record is not
// stored is left out), their patches within `max_patch_bytes` (0: none).
std::string Chat(storage::RecordStore* store, const Trajectory& t, size_t max_patch_bytes) {
  std::vector<Record> records(t.step_record_ids_size());
  std::vector<const Record*> steps;
  for (int i = 0; i < t.step_record_ids_size(); ++i) {
    auto r = store->GetRecord(t.step_record_ids(i));
    if (r.ok()) {
      records[i] = std::move(*r);
      steps.push_back(&records[i]);
    } else {
      steps.push_back(nullptr);
    }
  }
  return RenderTrajectoryChat(t, steps, max_patch_bytes);
}

// The trajectories matching a filter, up to kMaxBatchTrajectories and about 1 MiB per
// response, raw or as chat rows (StreamTrajectories).
class TrajectoryBatches final : public BatchSource<fixmine::v1::StreamTrajectoriesResponse> {
 public:
  // The pointers are borrowed.
  TrajectoryBatches(storage::RecordStore* store, storage::TrajectoryStore* trajectories,
                    const fixmine::v1::StreamTrajectoriesRequest& req, size_t max_chat_patch_bytes)
      : store_(store),
        trajectories_(trajectories),
        req_(req),
        max_chat_patch_bytes_(max_chat_patch_bytes) {}

  absl::Status Open() override {
    if (req_.limit() < 0)
      return absl::InvalidArgumentError("limit is negative; use 0 for no limit");
    auto chat = ParseTrajectoryFormat(req_.format());
    if (!chat.ok()) return chat.status();
    chat_ = *chat;
    auto filter = storage::TrajectoryFilter::Parse(req_.filter());
    if (!filter.ok()) return filter.status();
    filter_ = std::move(*filter);
    context_ =
        absl::StrCat(std::string(kTokenContext), chat_ ? "chat\n" : "raw\n", filter_->canonical());
    if (!req_.resume_token().empty()) {
      auto pos = DecodeResumeToken(req_.resume_token(), context_);
      if (!pos.ok()) return pos.status();
      if (pos->index != kIndex) {
        return absl::InvalidArgumentError(
            "resume_token was not issued by StreamTrajectories; pass one of its tokens unchanged");
      }
      after_ = pos->last_key;
    }
    remaining_ = req_.limit() > 0 ? req_.limit() : -1;
    return absl::OkStatus();
  }

  absl::StatusOr<Step> Next(fixmine::v1::StreamTrajectoriesResponse* resp) override {
    if (end_ || remaining_ == 0) return Step::kEnd;
    size_t max = remaining_ > 0 ? std::min<size_t>(remaining_, kMaxBatchTrajectories)
                                : kMaxBatchTrajectories;
    size_t bytes = 0;
    bool stopped = false;
    FIXMINE_RETURN_IF_ERROR(trajectories_->Scan(
        filter_.get(), after_, [&](const Trajectory& t, const std::string& key) {
          size_t size = t.ByteSizeLong();
          if (resp->trajectory_count() > 0 && bytes + size > kMaxBatchBytes) {
            stopped = true;
            return false;
          }
          if (chat_) {
            std::string row = Chat(store_, t, max_chat_patch_bytes_);
            bytes += row.size();
            resp->add_rendered(std::move(row));
          } else {
            *resp->add_trajectories() = t;
            bytes += size;
          }
          resp->set_trajectory_count(resp->trajectory_count() + 1);
          after_ = key;
          if (static_cast<size_t>(resp->trajectory_count()) >= max) {
            stopped = true;
            return false;
          }
          return true;
        }));
    end_ = !stopped;
    if (resp->trajectory_count() == 0) return Step::kEnd;
    if (remaining_ > 0) remaining_ -= resp->trajectory_count();
    resp->set_resume_token(EncodeResumeToken({kIndex, after_}, context_));
    return Step::kBatch;
  }

 private:
  storage::RecordStore* const store_;
  storage::TrajectoryStore* const trajectories_;
  const fixmine::v1::StreamTrajectoriesRequest req_;
  const size_t max_chat_patch_bytes_;
  std::unique_ptr<storage::TrajectoryFilter> filter_;
  std::string context_;
  std::string after_;
  bool chat_ = false;
  int64_t remaining_ = -1;
  bool end_ = false;
};

}  // namespace

grpc::ServerUnaryReactor* TrajectoryServiceImpl::GetTrajectory(
    grpc::CallbackServerContext* ctx, const fixmine::v1::GetTrajectoryRequest* req,
    fixmine::v1::GetTrajectoryResponse* resp) {
  return Serve(ctx, guards_, Role::kRead, Cost::kLight, [=, this]() -> absl::Status {
    if (req->id().empty()) return absl::InvalidArgumentError("id is empty; pass a trajectory id");
    auto chat = ParseTrajectoryFormat(req->format());
    if (!chat.ok()) return chat.status();
    auto t = trajectories_->Get(req->id());
    if (!t.ok()) return t.status();
    if (*chat) resp->set_rendered(Chat(store_, *t, max_chat_patch_bytes_));
    *resp->mutable_trajectory() = std::move(*t);
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<fixmine::v1::StreamTrajectoriesResponse>*
TrajectoryServiceImpl::StreamTrajectories(grpc::CallbackServerContext* ctx,
                                          const fixmine::v1::StreamTrajectoriesRequest* req) {
  return BatchStream<fixmine::v1::StreamTrajectoriesResponse>::Start(
      ctx, guards_, Role::kRead,
      std::make_unique<TrajectoryBatches>(store_, trajectories_, *req, max_chat_patch_bytes_));
}

}  // namespace fixmine::server
