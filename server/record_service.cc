// RecordService: reads of stored records by filter.
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/formats.h"
#include "common/sampling.h"
#include "server/read_plan.h"
#include "server/resume_token.h"
#include "server/services.h"
#include "server/status_convert.h"

namespace fixmine::server {
namespace {

using fixmine::v1::Record;

constexpr size_t kMaxBatchBytes = size_t{1} << 20;  // about 1 MiB per streamed response
constexpr int kMaxPageSize = 1000;
constexpr int kDefaultPageSize = 100;
constexpr int kDefaultReadStreams = 1;

// The token check of every RecordService call (read tokens suffice). Without an authorizer
// nothing is allowed (fail closed).
absl::Status Allow(grpc::CallbackServerContext* ctx, const CallGuards& guards) {
  if (guards.auth == nullptr) return absl::InternalError("server started without an authorizer");
  return guards.auth->Check(*ctx, Role::kRead);
}

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* ctx, const absl::Status& st) {
  auto* r = ctx->DefaultReactor();
  r->Finish(ToGrpcStatus(st));
  return r;
}

// Filter::Parse refuses a text over storage::kMaxFilterBytes itself.
absl::StatusOr<std::unique_ptr<storage::Filter>> ParseFilter(const std::string& text) {
  return storage::Filter::Parse(text);
}

// Reads the next batch of matching records after `pos`. Sets *end when the scan reached the end.
absl::Status ReadBatch(storage::RecordStore* store, const storage::Filter* filter,
                       storage::ScanPosition* pos, size_t max_records, size_t max_bytes,
                       google::protobuf::RepeatedPtrField<Record>* out, bool* end) {
  size_t bytes = 0;
  bool stopped = false;
  absl::Status st =
      store->Scan(filter, *pos, [&](const Record& r, const storage::ScanPosition& after) {
        size_t size = r.ByteSizeLong();
        if (out->size() > 0 &&
            (bytes + size > max_bytes || static_cast<size_t>(out->size()) >= max_records)) {
          stopped = true;
          return false;
        }
        *out->Add() = r;
        bytes += size;
        *pos = after;
        if (static_cast<size_t>(out->size()) >= max_records) {
          stopped = true;
          return false;
        }
        return true;
      });
  *end = !stopped;
  return st;
}

// Streams the records of one ReadPlan: StreamRecords, and ReadStream for one stream of a read
// session (Resp is StreamRecordsResponse or ReadStreamResponse; they have the same fields).
template <typename Resp>
class StreamReactor final : public grpc::ServerWriteReactor<Resp> {
 public:
  // `plan` is a validated plan, or the error to finish with.
  // The call must have passed Allow; `ctx` and `guards` are borrowed. The stream takes a slot
  // of guards.streams (finishing RESOURCE_EXHAUSTED when none is free) and frees it in OnDone.
  StreamReactor(storage::RecordStore* store, absl::StatusOr<ReadPlan> plan,
                const std::string& resume_token, int64_t limit, grpc::CallbackServerContext* ctx,
                const CallGuards& guards)
      : store_(store), ctx_(ctx) {
    if (absl::Status st = Allow(ctx, guards); !st.ok()) {
      this->Finish(ToGrpcStatus(st));
      return;
    }
    if (guards.streams != nullptr) {
      if (absl::Status st = guards.streams->Enter(ctx); !st.ok()) {
        this->Finish(ToGrpcStatus(st));
        return;
      }
      streams_ = guards.streams;
    }
    if (limit < 0) {
      this->Finish(
          ToGrpcStatus(absl::InvalidArgumentError("limit is negative; use 0 for no limit")));
      return;
    }
    if (!plan.ok()) {
      this->Finish(ToGrpcStatus(plan.status()));
      return;
    }
    plan_ = std::move(*plan);
    if (!resume_token.empty()) {
      auto pos = DecodeResumeToken(resume_token, plan_.token_context);
      if (!pos.ok()) {
        this->Finish(ToGrpcStatus(pos.status()));
        return;
      }
      pos_ = *pos;
    }
    remaining_ = limit > 0 ? limit : -1;
    Next();
  }

  void OnWriteDone(bool ok) override {
    if (streams_ != nullptr) streams_->WriteDone(ctx_);
    if (!ok) {
      this->Finish(grpc::Status(grpc::StatusCode::ABORTED, "writing to the client failed"));
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
      this->Finish(grpc::Status::CANCELLED);
      return;
    }
    if (end_ || remaining_ == 0) {
      this->Finish(grpc::Status::OK);
      return;
    }
    resp_.Clear();
    size_t max_records = remaining_ > 0 ? static_cast<size_t>(remaining_) : 100000;
    bool raw = plan_.format == RecordFormat::kRaw;
    // Rendered rows can be larger than the record (commitpack carries both contents): read
    // half as much so that a response stays near 1 MiB.
    absl::Status st =
        ReadBatch(store_, plan_.filter.get(), &pos_, max_records,
                  raw ? kMaxBatchBytes : kMaxBatchBytes / 2, resp_.mutable_records(), &end_);
    if (!st.ok()) {
      this->Finish(ToGrpcStatus(st));
      return;
    }
    if (resp_.records_size() == 0) {
      this->Finish(grpc::Status::OK);
      return;
    }
    resp_.set_record_count(resp_.records_size());
    if (remaining_ > 0) remaining_ -= resp_.records_size();
    if (!raw) {
      std::vector<std::string> rows;
      for (const Record& r : resp_.records()) {
        st = RenderRecord(r, plan_.format, &rows);
        if (!st.ok()) {
          this->Finish(ToGrpcStatus(st));
          return;
        }
      }
      resp_.clear_records();
      for (std::string& row : rows) resp_.add_rendered(std::move(row));
    }
    resp_.set_resume_token(EncodeResumeToken(pos_, plan_.token_context));
    if (streams_ != nullptr) streams_->WriteStarted(ctx_);
    this->StartWrite(&resp_);
  }

  storage::RecordStore* store_;
  grpc::CallbackServerContext* ctx_;
  StreamRegistry* streams_ = nullptr;
  ReadPlan plan_;
  storage::ScanPosition pos_;
  Resp resp_;
  int64_t remaining_ = -1;
  bool end_ = false;
  std::atomic<bool> cancelled_{false};
};

// The filter a read request runs: its filter, ANDed with its preset and, unless
// include_contaminated is set, with `NOT contaminated` (docs/curation.md), so resume and page
// tokens (which hash the canonical text) tell these apart.
template <typename Request>
std::string EffectiveFilter(const Request& req) {
  std::string text = storage::Filter::ApplyPreset(req.filter(), req.preset());
  if (req.include_contaminated()) return text;
  return storage::Filter::AndTerm(text, "NOT contaminated");
}

}  // namespace

grpc::ServerUnaryReactor* RecordServiceImpl::GetRecord(grpc::CallbackServerContext* ctx,
                                                       const fixmine::v1::GetRecordRequest* req,
                                                       fixmine::v1::GetRecordResponse* resp) {
  if (absl::Status st = Allow(ctx, guards_); !st.ok()) return Done(ctx, st);
  if (req->id().empty())
    return Done(ctx, absl::InvalidArgumentError("id is empty; pass a record id"));
  auto r = store_->GetRecord(req->id());
  if (!r.ok()) return Done(ctx, r.status());
  *resp->mutable_record() = std::move(*r);
  return Done(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* RecordServiceImpl::CountRecords(
    grpc::CallbackServerContext* ctx, const fixmine::v1::CountRecordsRequest* req,
    fixmine::v1::CountRecordsResponse* resp) {
  if (absl::Status st = Allow(ctx, guards_); !st.ok()) return Done(ctx, st);
  // Read before counting: a write during the count makes the generation look older, never
  // newer, than the counted data.
  resp->set_generation(store_->Generation());
  if (req->sample_rate() != 0) {
    StreamSpec spec;
    spec.filter = EffectiveFilter(*req);
    spec.sample_rate = req->sample_rate();
    spec.sample_seed = req->sample_seed();
    auto plan = MakeReadPlan(spec);
    if (!plan.ok()) return Done(ctx, plan.status());
    auto n = store_->Count(plan->filter.get());
    if (!n.ok()) return Done(ctx, n.status());
    resp->set_count(*n);
    return Done(ctx, absl::OkStatus());
  }
  auto f = ParseFilter(EffectiveFilter(*req));
  if (!f.ok()) return Done(ctx, f.status());
  auto n = store_->Count(f->get());
  if (!n.ok()) return Done(ctx, n.status());
  resp->set_count(*n);
  return Done(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* RecordServiceImpl::ListRecords(grpc::CallbackServerContext* ctx,
                                                         const fixmine::v1::ListRecordsRequest* req,
                                                         fixmine::v1::ListRecordsResponse* resp) {
  if (absl::Status st = Allow(ctx, guards_); !st.ok()) return Done(ctx, st);
  if (req->page_size() < 0) {
    return Done(ctx, absl::InvalidArgumentError(
                         "page_size is negative; use 1 to 1000, or 0 for the default 100"));
  }
  int page_size =
      req->page_size() == 0 ? kDefaultPageSize : std::min(req->page_size(), kMaxPageSize);
  auto f = ParseFilter(EffectiveFilter(*req));
  if (!f.ok()) return Done(ctx, f.status());
  storage::ScanPosition pos;
  if (!req->page_token().empty()) {
    auto p = DecodeResumeToken(req->page_token(), (*f)->canonical());
    if (!p.ok()) {
      return Done(ctx, absl::InvalidArgumentError(
                           absl::StrCat("page_token: ", std::string(p.status().message()))));
    }
    pos = *p;
  }
  bool end = false;
  absl::Status st = ReadBatch(store_, f->get(), &pos, static_cast<size_t>(page_size),
                              size_t{64} << 20, resp->mutable_records(), &end);
  if (!st.ok()) return Done(ctx, st);
  if (!end) resp->set_next_page_token(EncodeResumeToken(pos, (*f)->canonical()));
  return Done(ctx, absl::OkStatus());
}

grpc::ServerWriteReactor<fixmine::v1::StreamRecordsResponse>* RecordServiceImpl::StreamRecords(
    grpc::CallbackServerContext* ctx, const fixmine::v1::StreamRecordsRequest* req) {
  StreamSpec spec;
  spec.filter = EffectiveFilter(*req);
  spec.format = req->format();
  spec.sample_rate = req->sample_rate();
  spec.sample_seed = req->sample_seed();
  return new StreamReactor<fixmine::v1::StreamRecordsResponse>(
      store_, MakeReadPlan(spec), req->resume_token(), req->limit(), ctx, guards_);
}

grpc::ServerUnaryReactor* RecordServiceImpl::CreateReadSession(
    grpc::CallbackServerContext* ctx, const fixmine::v1::CreateReadSessionRequest* req,
    fixmine::v1::CreateReadSessionResponse* resp) {
  if (absl::Status st = Allow(ctx, guards_); !st.ok()) return Done(ctx, st);
  if (req->max_streams() < 0 || req->max_streams() > static_cast<int>(kMaxReadStreams)) {
    return Done(ctx, absl::InvalidArgumentError(
                         absl::StrCat("max_streams is ", req->max_streams(), "; use 1 to ",
                                      kMaxReadStreams, " (0 means ", kDefaultReadStreams, ")")));
  }
  StreamSpec spec;
  spec.filter = EffectiveFilter(*req);
  spec.format = req->format();
  spec.sample_rate = req->sample_rate();
  spec.sample_seed = req->sample_seed();
  spec.buckets = req->max_streams() == 0 ? kDefaultReadStreams : req->max_streams();
  // Validates the filter, format and sample once, so a bad session fails here, not per stream.
  auto plan = MakeReadPlan(spec);
  if (!plan.ok()) return Done(ctx, plan.status());
  resp->set_generation(store_->Generation());
  for (uint32_t b = 0; b < spec.buckets; ++b) {
    spec.bucket = b;
    resp->add_streams(EncodeStreamName(spec));
  }
  return Done(ctx, absl::OkStatus());
}

grpc::ServerWriteReactor<fixmine::v1::ReadStreamResponse>* RecordServiceImpl::ReadStream(
    grpc::CallbackServerContext* ctx, const fixmine::v1::ReadStreamRequest* req) {
  auto spec = DecodeStreamName(req->stream());
  absl::StatusOr<ReadPlan> plan = spec.ok() ? MakeReadPlan(*spec) : spec.status();
  return new StreamReactor<fixmine::v1::ReadStreamResponse>(
      store_, std::move(plan), req->resume_token(), req->limit(), ctx, guards_);
}

}  // namespace fixmine::server
