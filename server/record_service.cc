// RecordService: reads of stored records by filter.
#include <memory>

#include "absl/strings/str_cat.h"
#include "server/resume_token.h"
#include "server/services.h"
#include "server/status_convert.h"

namespace fixmine::server {
namespace {

using fixmine::v1::Record;

constexpr size_t kMaxBatchBytes = size_t{1} << 20;  // about 1 MiB per streamed response
constexpr int kMaxPageSize = 1000;
constexpr int kDefaultPageSize = 100;
constexpr size_t kMaxFilterBytes = 4096;

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* ctx, const absl::Status& st) {
  auto* r = ctx->DefaultReactor();
  r->Finish(ToGrpcStatus(st));
  return r;
}

absl::StatusOr<std::unique_ptr<storage::Filter>> ParseFilter(const std::string& text) {
  if (text.size() > kMaxFilterBytes) {
    return absl::InvalidArgumentError(absl::StrCat("filter is ", text.size(), " bytes; at most ",
                                                   kMaxFilterBytes, " are accepted"));
  }
  return storage::Filter::Parse(text);
}

// Reads the next batch of matching records after `pos`. Sets *end when the scan reached the end.
absl::Status ReadBatch(storage::RecordStore* store, const storage::Filter* filter,
                       storage::ScanPosition* pos, size_t max_records, size_t max_bytes,
                       google::protobuf::RepeatedPtrField<Record>* out, bool* end) {
  size_t bytes = 0;
  bool stopped = false;
  absl::Status st = store->Scan(filter, *pos, [&](const Record& r, const storage::ScanPosition& after) {
    size_t size = r.ByteSizeLong();
    if (out->size() > 0 && (bytes + size > max_bytes || static_cast<size_t>(out->size()) >= max_records)) {
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

class StreamReactor final : public grpc::ServerWriteReactor<fixmine::v1::StreamRecordsResponse> {
 public:
  StreamReactor(storage::RecordStore* store, const fixmine::v1::StreamRecordsRequest& req)
      : store_(store) {
    if (req.limit() < 0) {
      Finish(ToGrpcStatus(absl::InvalidArgumentError("limit is negative; use 0 for no limit")));
      return;
    }
    auto f = ParseFilter(storage::Filter::ApplyPreset(req.filter(), req.preset()));
    if (!f.ok()) {
      Finish(ToGrpcStatus(f.status()));
      return;
    }
    filter_ = std::move(*f);
    if (!req.resume_token().empty()) {
      auto pos = DecodeResumeToken(req.resume_token(), filter_->canonical());
      if (!pos.ok()) {
        Finish(ToGrpcStatus(pos.status()));
        return;
      }
      pos_ = *pos;
    }
    remaining_ = req.limit() > 0 ? req.limit() : -1;
    Next();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::ABORTED, "writing to the client failed"));
      return;
    }
    Next();
  }

  void OnCancel() override { cancelled_ = true; }

  void OnDone() override { delete this; }

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
    size_t max_records = remaining_ > 0 ? static_cast<size_t>(remaining_) : 100000;
    absl::Status st =
        ReadBatch(store_, filter_.get(), &pos_, max_records, kMaxBatchBytes, resp_.mutable_records(), &end_);
    if (!st.ok()) {
      Finish(ToGrpcStatus(st));
      return;
    }
    if (resp_.records_size() == 0) {
      Finish(grpc::Status::OK);
      return;
    }
    if (remaining_ > 0) remaining_ -= resp_.records_size();
    resp_.set_resume_token(EncodeResumeToken(pos_, filter_->canonical()));
    StartWrite(&resp_);
  }

  storage::RecordStore* store_;
  std::unique_ptr<storage::Filter> filter_;
  storage::ScanPosition pos_;
  fixmine::v1::StreamRecordsResponse resp_;
  int64_t remaining_ = -1;
  bool end_ = false;
  std::atomic<bool> cancelled_{false};
};

}  // namespace

grpc::ServerUnaryReactor* RecordServiceImpl::GetRecord(grpc::CallbackServerContext* ctx,
                                                       const fixmine::v1::GetRecordRequest* req,
                                                       fixmine::v1::GetRecordResponse* resp) {
  if (req->id().empty()) return Done(ctx, absl::InvalidArgumentError("id is empty; pass a record id"));
  auto r = store_->GetRecord(req->id());
  if (!r.ok()) return Done(ctx, r.status());
  *resp->mutable_record() = std::move(*r);
  return Done(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* RecordServiceImpl::CountRecords(
    grpc::CallbackServerContext* ctx, const fixmine::v1::CountRecordsRequest* req,
    fixmine::v1::CountRecordsResponse* resp) {
  auto f = ParseFilter(storage::Filter::ApplyPreset(req->filter(), req->preset()));
  if (!f.ok()) return Done(ctx, f.status());
  auto n = store_->Count(f->get());
  if (!n.ok()) return Done(ctx, n.status());
  resp->set_count(*n);
  return Done(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* RecordServiceImpl::ListRecords(
    grpc::CallbackServerContext* ctx, const fixmine::v1::ListRecordsRequest* req,
    fixmine::v1::ListRecordsResponse* resp) {
  if (req->page_size() < 0) {
    return Done(ctx, absl::InvalidArgumentError(
                         "page_size is negative; use 1 to 1000, or 0 for the default 100"));
  }
  int page_size = req->page_size() == 0 ? kDefaultPageSize : std::min(req->page_size(), kMaxPageSize);
  auto f = ParseFilter(storage::Filter::ApplyPreset(req->filter(), req->preset()));
  if (!f.ok()) return Done(ctx, f.status());
  storage::ScanPosition pos;
  if (!req->page_token().empty()) {
    auto p = DecodeResumeToken(req->page_token(), (*f)->canonical());
    if (!p.ok()) {
      return Done(ctx, absl::InvalidArgumentError(absl::StrCat(
                           "page_token: ", std::string(p.status().message()))));
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
  return new StreamReactor(store_, *req);
}

}  // namespace fixmine::server
