// RecordService: reads of stored records by filter.
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/formats.h"
#include "common/sampling.h"
#include "common/status.h"
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

// The records of one ReadPlan, about 1 MiB per response: StreamRecords, and ReadStream for
// one stream of a read session (Resp is StreamRecordsResponse or ReadStreamResponse; they have
// the same fields). Each response carries the resume token of its last record.
template <typename Resp>
class RecordBatches final : public BatchSource<Resp> {
 public:
  using Step = typename BatchSource<Resp>::Step;

  // `plan` is a validated plan, or the error to finish with. `store` is borrowed.
  RecordBatches(storage::RecordStore* store, absl::StatusOr<ReadPlan> plan,
                std::string resume_token, int64_t limit)
      : store_(store),
        plan_status_(plan.status()),
        resume_token_(std::move(resume_token)),
        limit_(limit) {
    if (plan.ok()) plan_ = std::move(*plan);
  }

  absl::Status Open() override {
    if (limit_ < 0) return absl::InvalidArgumentError("limit is negative; use 0 for no limit");
    if (!plan_status_.ok()) return plan_status_;
    if (!resume_token_.empty()) {
      auto pos = DecodeResumeToken(resume_token_, plan_.token_context);
      if (!pos.ok()) return pos.status();
      pos_ = *pos;
    }
    remaining_ = limit_ > 0 ? limit_ : -1;
    return absl::OkStatus();
  }

  absl::StatusOr<Step> Next(Resp* resp) override {
    if (end_ || remaining_ == 0) return Step::kEnd;
    size_t max_records = remaining_ > 0 ? static_cast<size_t>(remaining_) : 100000;
    bool raw = plan_.format == RecordFormat::kRaw;
    // Rendered rows can be larger than the record (commitpack carries both contents): read
    // half as much so that a response stays near 1 MiB.
    FIXMINE_RETURN_IF_ERROR(ReadBatch(store_, plan_.filter.get(), &pos_, max_records,
                                      raw ? kMaxBatchBytes : kMaxBatchBytes / 2,
                                      resp->mutable_records(), &end_));
    if (resp->records_size() == 0) return Step::kEnd;
    resp->set_record_count(resp->records_size());
    if (remaining_ > 0) remaining_ -= resp->records_size();
    if (!raw) {
      std::vector<std::string> rows;
      for (const Record& r : resp->records()) {
        FIXMINE_RETURN_IF_ERROR(RenderRecord(r, plan_.format, &rows));
      }
      resp->clear_records();
      for (std::string& row : rows) resp->add_rendered(std::move(row));
    }
    resp->set_resume_token(EncodeResumeToken(pos_, plan_.token_context));
    return Step::kBatch;
  }

 private:
  storage::RecordStore* const store_;
  const absl::Status plan_status_;
  const std::string resume_token_;
  const int64_t limit_;
  ReadPlan plan_;
  storage::ScanPosition pos_;
  int64_t remaining_ = -1;
  bool end_ = false;
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

grpc::ServerWriteReactor<fixmine::v1::StreamRecordsResponse>* RecordServiceImpl::StreamRecords(
    grpc::CallbackServerContext* ctx, const fixmine::v1::StreamRecordsRequest* req) {
  StreamSpec spec;
  spec.filter = EffectiveFilter(*req);
  spec.format = req->format();
  spec.sample_rate = req->sample_rate();
  spec.sample_seed = req->sample_seed();
  return BatchStream<fixmine::v1::StreamRecordsResponse>::Start(
      ctx, guards_, Role::kRead,
      std::make_unique<RecordBatches<fixmine::v1::StreamRecordsResponse>>(
          store_, MakeReadPlan(spec), req->resume_token(), req->limit()));
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

grpc::ServerWriteReactor<fixmine::v1::ReadStreamResponse>* RecordServiceImpl::ReadStream(
    grpc::CallbackServerContext* ctx, const fixmine::v1::ReadStreamRequest* req) {
  auto spec = DecodeStreamName(req->stream());
  absl::StatusOr<ReadPlan> plan = spec.ok() ? MakeReadPlan(*spec) : spec.status();
  return BatchStream<fixmine::v1::ReadStreamResponse>::Start(
      ctx, guards_, Role::kRead,
      std::make_unique<RecordBatches<fixmine::v1::ReadStreamResponse>>(
          store_, std::move(plan), req->resume_token(), req->limit()));
}

}  // namespace fixmine::server
