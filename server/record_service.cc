// RecordService: reads of stored records by filter.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/formats.h"
#include "common/sampling.h"
#include "common/status.h"
#include "fixmine/internal/stored_batch.pb.h"
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

// Reads the next batch of matching records after `pos` as their serialized bytes
// (RecordStore::ScanSerialized), with ReadBatch's limits. Sets *end as ReadBatch does.
absl::Status ReadSerializedBatch(storage::RecordStore* store, const storage::Filter* filter,
                                 storage::ScanPosition* pos, size_t max_records, size_t max_bytes,
                                 google::protobuf::RepeatedPtrField<std::string>* out, bool* end) {
  size_t bytes = 0;
  bool stopped = false;
  absl::Status st = store->ScanSerialized(
      filter, *pos, [&](std::string_view r, const storage::ScanPosition& after) {
        size_t size = r.size();
        if (out->size() > 0 &&
            (bytes + size > max_bytes || static_cast<size_t>(out->size()) >= max_records)) {
          stopped = true;
          return false;
        }
        out->Add()->assign(r.data(), r.size());
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

// What a record stream reads, from its request: the stream's spec (its filter and format,
// with a read session's sample and bucket; or why a read-session stream name does not decode),
// the resume token and the record limit.
struct StreamRequest {
  absl::StatusOr<StreamSpec> spec;
  std::string resume_token;
  int64_t limit = 0;
};

// Parses the raw request body of a record stream into a StreamRequest; UnparsedRequestError
// when the body is not the method's request message (what the typed methods answer through the
// status guard).
using StreamRequestParser = absl::StatusOr<StreamRequest> (*)(const grpc::ByteBuffer& raw);

// Parses the request of raw method `method` into *req; UnparsedRequestError when it is not a
// `Request`.
template <typename Request>
absl::Status ParseRawRequest(const grpc::ByteBuffer& raw, std::string_view method, Request* req) {
  grpc::ByteBuffer copy(raw);  // Deserialize consumes its buffer; this shares the slices
  if (!grpc::SerializationTraits<Request>::Deserialize(&copy, req).ok()) {
    return UnparsedRequestError(method);
  }
  return absl::OkStatus();
}

// The records of one ReadPlan, about 1 MiB per response: StreamRecords, and ReadStream for
// one stream of a read session. Each response carries the resume token of its last record.
//
// Responses are fixmine.internal.StoredRecordBatch messages serialized into the ByteBuffer the
// raw method writes: the wire twin of StreamRecordsResponse and ReadStreamResponse, whose
// `records` are each record's stored bytes. Those bytes are what serializing the parsed record
// gives (RecordStore::ScanSerialized), so a client parses the same responses as when the
// server parsed, copied and reserialized every record, at a fraction of the cost. The other
// formats render parsed records as before. A second message rather than gRPC's generic
// service: the callback service keeps its typed methods, and only these two handlers and
// their serialization change.
class RecordBatches final : public BatchSource<grpc::ByteBuffer> {
 public:
  using Step = typename BatchSource<grpc::ByteBuffer>::Step;

  // `raw` is the call's request body (a ref-counted copy), which `parse` reads in Open().
  // `store` is borrowed; `metrics` too (null: none).
  RecordBatches(storage::RecordStore* store, const grpc::ByteBuffer& raw, StreamRequestParser parse,
                Metrics* metrics)
      : store_(store), metrics_(metrics), raw_(raw), parse_(parse) {}

  // Runs after the token check and the stream slot (BatchStream::Start), so nothing of an
  // unauthorized request is parsed or compiled. The request's errors, first that it does not
  // parse (nothing of a half-parsed request is looked at), then a negative limit, then the
  // plan's and the resume token's.
  absl::Status Open() override {
    absl::StatusOr<StreamRequest> req = parse_(raw_);
    raw_.Clear();
    if (!req.ok()) return req.status();
    if (req->limit < 0) return absl::InvalidArgumentError("limit is negative; use 0 for no limit");
    if (!req->spec.ok()) return req->spec.status();
    absl::StatusOr<ReadPlan> plan = MakeReadPlan(*req->spec);
    if (!plan.ok()) return plan.status();
    plan_ = std::move(*plan);
    if (!req->resume_token.empty()) {
      auto pos = DecodeResumeToken(req->resume_token, plan_.token_context);
      if (!pos.ok()) return pos.status();
      pos_ = *pos;
    }
    remaining_ = req->limit > 0 ? req->limit : -1;
    return absl::OkStatus();
  }

  absl::StatusOr<Step> Next(grpc::ByteBuffer* resp) override {
    if (end_ || remaining_ == 0) return Step::kEnd;
    size_t max_records = remaining_ > 0 ? static_cast<size_t>(remaining_) : 100000;
    batch_.Clear();  // keeps the strings of the last batch for reuse
    int64_t count = 0;
    if (plan_.format == RecordFormat::kRaw) {
      FIXMINE_RETURN_IF_ERROR(ReadSerializedBatch(store_, plan_.filter.get(), &pos_, max_records,
                                                  kMaxBatchBytes, batch_.mutable_records(), &end_));
      count = batch_.records_size();
    } else {
      // Rendered rows can be larger than the record (commitpack carries both contents): read
      // half as much so that a response stays near 1 MiB.
      records_.Clear();
      FIXMINE_RETURN_IF_ERROR(ReadBatch(store_, plan_.filter.get(), &pos_, max_records,
                                        kMaxBatchBytes / 2, &records_, &end_));
      count = records_.size();
      std::vector<std::string> rows;
      for (const Record& r : records_) {
        FIXMINE_RETURN_IF_ERROR(RenderRecord(r, plan_.format, &rows));
      }
      for (std::string& row : rows) batch_.add_rendered(std::move(row));
    }
    if (count == 0) return Step::kEnd;
    batch_.set_record_count(count);
    if (remaining_ > 0) remaining_ -= count;
    batch_.set_resume_token(EncodeResumeToken(pos_, plan_.token_context));
    bool own_buffer = false;
    grpc::Status st = grpc::SerializationTraits<fixmine::internal::StoredRecordBatch>::Serialize(
        batch_, resp, &own_buffer);
    if (!st.ok()) return absl::InternalError("serializing a batch of records failed");
    if (metrics_ != nullptr) metrics_->AddRecordsStreamed(count);
    return Step::kBatch;
  }

 private:
  storage::RecordStore* const store_;
  Metrics* const metrics_;
  grpc::ByteBuffer raw_;  // until Open()
  const StreamRequestParser parse_;
  ReadPlan plan_;
  storage::ScanPosition pos_;
  int64_t remaining_ = -1;
  bool end_ = false;
  fixmine::internal::StoredRecordBatch batch_;
  google::protobuf::RepeatedPtrField<Record> records_;
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

absl::StatusOr<StreamRequest> ParseStreamRecordsRequest(const grpc::ByteBuffer& raw) {
  fixmine::v1::StreamRecordsRequest req;
  FIXMINE_RETURN_IF_ERROR(ParseRawRequest(raw, "/fixmine.v1.RecordService/StreamRecords", &req));
  StreamSpec spec;
  spec.filter = EffectiveFilter(req);
  spec.format = req.format();
  spec.sample_rate = req.sample_rate();
  spec.sample_seed = req.sample_seed();
  return StreamRequest{std::move(spec), req.resume_token(), req.limit()};
}

absl::StatusOr<StreamRequest> ParseReadStreamRequest(const grpc::ByteBuffer& raw) {
  fixmine::v1::ReadStreamRequest req;
  FIXMINE_RETURN_IF_ERROR(ParseRawRequest(raw, "/fixmine.v1.RecordService/ReadStream", &req));
  return StreamRequest{DecodeStreamName(req.stream()), req.resume_token(), req.limit()};
}

}  // namespace

grpc::ServerUnaryReactor* RecordServiceImpl::GetRecord(grpc::CallbackServerContext* ctx,
                                                       const fixmine::v1::GetRecordRequest* req,
                                                       fixmine::v1::GetRecordResponse* resp) {
  return Serve(ctx, guards_, Role::kRead, Cost::kLight, [=, this]() -> absl::Status {
    if (req->id().empty()) return absl::InvalidArgumentError("id is empty; pass a record id");
    auto r = store_->GetRecord(req->id());
    if (!r.ok()) return r.status();
    *resp->mutable_record() = std::move(*r);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RecordServiceImpl::CountRecords(
    grpc::CallbackServerContext* ctx, const fixmine::v1::CountRecordsRequest* req,
    fixmine::v1::CountRecordsResponse* resp) {
  return Serve(ctx, guards_, Role::kRead, Cost::kHeavy, [=, this]() -> absl::Status {
    // Read before counting: a write during the count makes the generation look older, never
    // newer, than the counted data.
    resp->set_generation(store_->Generation());
    if (req->sample_rate() != 0) {
      StreamSpec spec;
      spec.filter = EffectiveFilter(*req);
      spec.sample_rate = req->sample_rate();
      spec.sample_seed = req->sample_seed();
      auto plan = MakeReadPlan(spec);
      if (!plan.ok()) return plan.status();
      auto n = store_->Count(plan->filter.get());
      if (!n.ok()) return n.status();
      resp->set_count(*n);
      return absl::OkStatus();
    }
    auto f = ParseFilter(EffectiveFilter(*req));
    if (!f.ok()) return f.status();
    auto n = store_->Count(f->get());
    if (!n.ok()) return n.status();
    resp->set_count(*n);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RecordServiceImpl::ListRecords(grpc::CallbackServerContext* ctx,
                                                         const fixmine::v1::ListRecordsRequest* req,
                                                         fixmine::v1::ListRecordsResponse* resp) {
  return Serve(ctx, guards_, Role::kRead, Cost::kHeavy, [=, this]() -> absl::Status {
    if (req->page_size() < 0) {
      return absl::InvalidArgumentError(
          "page_size is negative; use 1 to 1000, or 0 for the default 100");
    }
    int page_size =
        req->page_size() == 0 ? kDefaultPageSize : std::min(req->page_size(), kMaxPageSize);
    auto f = ParseFilter(EffectiveFilter(*req));
    if (!f.ok()) return f.status();
    storage::ScanPosition pos;
    if (!req->page_token().empty()) {
      auto p = DecodeResumeToken(req->page_token(), (*f)->canonical());
      if (!p.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("page_token: ", std::string(p.status().message())));
      }
      pos = *p;
    }
    bool end = false;
    absl::Status st = ReadBatch(store_, f->get(), &pos, static_cast<size_t>(page_size),
                                size_t{64} << 20, resp->mutable_records(), &end);
    if (!st.ok()) return st;
    if (!end) resp->set_next_page_token(EncodeResumeToken(pos, (*f)->canonical()));
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* RecordServiceImpl::StreamRecords(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* raw) {
  return BatchStream<grpc::ByteBuffer>::Start(
      ctx, guards_, Role::kRead,
      std::make_unique<RecordBatches>(store_, *raw, &ParseStreamRecordsRequest, metrics_));
}

grpc::ServerUnaryReactor* RecordServiceImpl::CreateReadSession(
    grpc::CallbackServerContext* ctx, const fixmine::v1::CreateReadSessionRequest* req,
    fixmine::v1::CreateReadSessionResponse* resp) {
  return Serve(ctx, guards_, Role::kRead, Cost::kLight, [=, this]() -> absl::Status {
    if (req->max_streams() < 0 || req->max_streams() > static_cast<int>(kMaxReadStreams)) {
      return absl::InvalidArgumentError(absl::StrCat("max_streams is ", req->max_streams(),
                                                     "; use 1 to ", kMaxReadStreams, " (0 means ",
                                                     kDefaultReadStreams, ")"));
    }
    StreamSpec spec;
    spec.filter = EffectiveFilter(*req);
    spec.format = req->format();
    spec.sample_rate = req->sample_rate();
    spec.sample_seed = req->sample_seed();
    spec.buckets = req->max_streams() == 0 ? kDefaultReadStreams : req->max_streams();
    // Validates the filter, format and sample once, so a bad session fails here, not per stream.
    auto plan = MakeReadPlan(spec);
    if (!plan.ok()) return plan.status();
    resp->set_generation(store_->Generation());
    for (uint32_t b = 0; b < spec.buckets; ++b) {
      spec.bucket = b;
      resp->add_streams(EncodeStreamName(spec));
    }
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* RecordServiceImpl::ReadStream(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* raw) {
  return BatchStream<grpc::ByteBuffer>::Start(
      ctx, guards_, Role::kRead,
      std::make_unique<RecordBatches>(store_, *raw, &ParseReadStreamRequest, metrics_));
}

}  // namespace fixmine::server
