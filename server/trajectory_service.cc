// TrajectoryService: reads of stored pull-request trajectories by filter.
#include "server/trajectory_service.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "common/trajectory_format.h"
#include "server/auth.h"
#include "server/limits.h"
#include "server/resume_token.h"
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

// The token check of every TrajectoryService call (read tokens suffice). Without an
// authorizer nothing is allowed (fail closed).
absl::Status AllowRead(grpc::CallbackServerContext* ctx, const CallGuards& guards) {
  if (guards.auth == nullptr) return absl::InternalError("server started without an authorizer");
  return guards.auth->Check(*ctx, Role::kRead);
}

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

class StreamReactor final
    : public grpc::ServerWriteReactor<fixmine::v1::StreamTrajectoriesResponse> {
 public:
  // Checks the token, takes a stream slot (RESOURCE_EXHAUSTED when none is free; freed in
  // OnDone) and starts streaming. `ctx` and `guards` are borrowed.
  StreamReactor(storage::RecordStore* store, storage::TrajectoryStore* trajectories,
                const fixmine::v1::StreamTrajectoriesRequest& req, grpc::CallbackServerContext* ctx,
                const CallGuards& guards, size_t max_chat_patch_bytes)
      : store_(store),
        trajectories_(trajectories),
        ctx_(ctx),
        max_chat_patch_bytes_(max_chat_patch_bytes) {
    auto fail = [this](const absl::Status& st) { Finish(ToGrpcStatus(st)); };
    if (absl::Status st = AllowRead(ctx, guards); !st.ok()) {
      fail(st);
      return;
    }
    if (guards.streams != nullptr) {
      if (absl::Status st = guards.streams->Enter(ctx); !st.ok()) {
        fail(st);
        return;
      }
      streams_ = guards.streams;
    }
    if (req.limit() < 0) {
      fail(absl::InvalidArgumentError("limit is negative; use 0 for no limit"));
      return;
    }
    auto chat = ParseTrajectoryFormat(req.format());
    if (!chat.ok()) {
      fail(chat.status());
      return;
    }
    chat_ = *chat;
    auto filter = storage::TrajectoryFilter::Parse(req.filter());
    if (!filter.ok()) {
      fail(filter.status());
      return;
    }
    filter_ = std::move(*filter);
    context_ =
        absl::StrCat(std::string(kTokenContext), chat_ ? "chat\n" : "raw\n", filter_->canonical());
    if (!req.resume_token().empty()) {
      auto pos = DecodeResumeToken(req.resume_token(), context_);
      if (!pos.ok()) {
        fail(pos.status());
        return;
      }
      if (pos->index != kIndex) {
        fail(absl::InvalidArgumentError(
            "resume_token was not issued by StreamTrajectories; pass one of its tokens unchanged"));
        return;
      }
      after_ = pos->last_key;
    }
    remaining_ = req.limit() > 0 ? req.limit() : -1;
    Next();
  }

  void OnWriteDone(bool ok) override {
    if (streams_ != nullptr) streams_->WriteDone(ctx_);
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::ABORTED, "writing to the client failed"));
      return;
    }
    Next();
  }
  void OnCancel() override { cancelled_ = true; }
  void OnDone() override {
    if (streams_ != nullptr) streams_->Leave(ctx_);
    delete this;
  }

 private:
  void Next() {
    if (cancelled_) {
      Finish(grpc::Status::CANCELLED);
      return;
    }
    if (end_ || remaining_ == 0) {
      Finish(grpc::Status::OK);
      return;
    }
    resp_.Clear();
    size_t max = remaining_ > 0 ? std::min<size_t>(remaining_, kMaxBatchTrajectories)
                                : kMaxBatchTrajectories;
    size_t bytes = 0;
    bool stopped = false;
    absl::Status st = trajectories_->Scan(
        filter_.get(), after_, [&](const Trajectory& t, const std::string& key) {
          size_t size = t.ByteSizeLong();
          if (resp_.trajectory_count() > 0 && bytes + size > kMaxBatchBytes) {
            stopped = true;
            return false;
          }
          if (chat_) {
            std::string row = Chat(store_, t, max_chat_patch_bytes_);
            bytes += row.size();
            resp_.add_rendered(std::move(row));
          } else {
            *resp_.add_trajectories() = t;
            bytes += size;
          }
          resp_.set_trajectory_count(resp_.trajectory_count() + 1);
          after_ = key;
          if (static_cast<size_t>(resp_.trajectory_count()) >= max) {
            stopped = true;
            return false;
          }
          return true;
        });
    if (!st.ok()) {
      Finish(ToGrpcStatus(st));
      return;
    }
    end_ = !stopped;
    if (resp_.trajectory_count() == 0) {
      Finish(grpc::Status::OK);
      return;
    }
    if (remaining_ > 0) remaining_ -= resp_.trajectory_count();
    resp_.set_resume_token(EncodeResumeToken({kIndex, after_}, context_));
    if (streams_ != nullptr) streams_->WriteStarted(ctx_);
    StartWrite(&resp_);
  }

  storage::RecordStore* store_;
  storage::TrajectoryStore* trajectories_;
  grpc::CallbackServerContext* ctx_;
  const size_t max_chat_patch_bytes_;
  StreamRegistry* streams_ = nullptr;
  std::unique_ptr<storage::TrajectoryFilter> filter_;
  std::string context_;
  std::string after_;
  bool chat_ = false;
  fixmine::v1::StreamTrajectoriesResponse resp_;
  int64_t remaining_ = -1;
  bool end_ = false;
  std::atomic<bool> cancelled_{false};
};

}  // namespace

grpc::ServerUnaryReactor* TrajectoryServiceImpl::GetTrajectory(
    grpc::CallbackServerContext* ctx, const fixmine::v1::GetTrajectoryRequest* req,
    fixmine::v1::GetTrajectoryResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  auto done = [&](const absl::Status& st) {
    reactor->Finish(ToGrpcStatus(st));
    return reactor;
  };
  if (absl::Status st = AllowRead(ctx, guards_); !st.ok()) return done(st);
  if (req->id().empty())
    return done(absl::InvalidArgumentError("id is empty; pass a trajectory id"));
  auto chat = ParseTrajectoryFormat(req->format());
  if (!chat.ok()) return done(chat.status());
  auto t = trajectories_->Get(req->id());
  if (!t.ok()) return done(t.status());
  if (*chat) resp->set_rendered(Chat(store_, *t, max_chat_patch_bytes_));
  *resp->mutable_trajectory() = std::move(*t);
  return done(absl::OkStatus());
}

grpc::ServerWriteReactor<fixmine::v1::StreamTrajectoriesResponse>*
TrajectoryServiceImpl::StreamTrajectories(grpc::CallbackServerContext* ctx,
                                          const fixmine::v1::StreamTrajectoriesRequest* req) {
  return new StreamReactor(store_, trajectories_, *req, ctx, guards_, max_chat_patch_bytes_);
}

}  // namespace fixmine::server
