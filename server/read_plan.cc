#include "server/read_plan.h"

#include <cstring>

#include "common/sampling.h"
#include "fmt/format.h"
#include "server/resume_token.h"
#include "storage/filter.h"

namespace fixmine::server {
namespace {

// The parsed filter, further narrowed to a sample and to one bucket of a read session. The
// index hints stay the inner filter's: sampling and buckets only drop records while scanning.
class ScopedFilter final : public storage::Filter {
 public:
  ScopedFilter(std::unique_ptr<storage::Filter> inner, const StreamSpec& spec)
      : inner_(std::move(inner)),
        rate_(spec.sample_rate),
        seed_(spec.sample_seed),
        bucket_(spec.bucket),
        buckets_(spec.buckets) {}

  bool Matches(const fixmine::v1::Record& record) const override {
    if (!inner_->Matches(record)) return false;
    if (rate_ > 0 && !SampleKeeps(record.id(), rate_, seed_)) return false;
    return buckets_ <= 1 || IdBucket(record.id(), buckets_) == bucket_;
  }
  // Sampling and buckets read the id only.
  bool ReadsFiles() const override { return inner_->ReadsFiles(); }
  const storage::FilterHints& hints() const override { return inner_->hints(); }
  const std::string& canonical() const override { return inner_->canonical(); }

 private:
  std::unique_ptr<storage::Filter> inner_;
  double rate_;
  uint64_t seed_;
  uint32_t bucket_;
  uint32_t buckets_;
};

constexpr char kStreamVersion = 1;
constexpr std::string_view kStreamPrefix = "rs1.";

void PutU64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU32(std::string* out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
bool GetU64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = 0;
  for (int i = 0; i < 8; ++i) *v = (*v << 8) | static_cast<unsigned char>((*in)[i]);
  in->remove_prefix(8);
  return true;
}
bool GetU32(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  *v = 0;
  for (int i = 0; i < 4; ++i) *v = (*v << 8) | static_cast<unsigned char>((*in)[i]);
  in->remove_prefix(4);
  return true;
}
bool GetString(std::string_view* in, std::string* s) {
  uint32_t n;
  if (!GetU32(in, &n) || in->size() < n) return false;
  s->assign(in->substr(0, n));
  in->remove_prefix(n);
  return true;
}

}  // namespace

absl::StatusOr<ReadPlan> MakeReadPlan(const StreamSpec& spec) {
  // The one filter size limit and message (storage/filter.h).
  if (absl::Status st = storage::CheckFilterSize(spec.filter); !st.ok()) return st;
  if (spec.buckets < 1 || spec.buckets > kMaxReadStreams || spec.bucket >= spec.buckets) {
    return absl::InvalidArgumentError(
        fmt::format("stream {} of {} is out of range; streams are 0 to N-1 with N from 1 to {}",
                    spec.bucket, spec.buckets, kMaxReadStreams));
  }
  if (spec.sample_rate != 0) {
    absl::Status st = ValidateSampleRate(spec.sample_rate);
    if (!st.ok()) return st;
  }
  auto format = ParseRecordFormat(spec.format);
  if (!format.ok()) return format.status();
  auto filter = storage::Filter::Parse(spec.filter);
  if (!filter.ok()) return filter.status();
  ReadPlan plan;
  plan.format = *format;
  plan.token_context = (*filter)->canonical();
  if (*format != RecordFormat::kRaw || spec.sample_rate != 0 || spec.buckets > 1) {
    plan.token_context += fmt::format(
        "\x1f"
        "format={}\x1f"
        "sample={:a},{}\x1f"
        "stream={}/{}",
        RecordFormatName(*format), spec.sample_rate, spec.sample_seed, spec.bucket, spec.buckets);
  }
  plan.filter = std::make_unique<ScopedFilter>(std::move(*filter), spec);
  return plan;
}

std::string EncodeStreamName(const StreamSpec& spec) {
  std::string raw;
  raw.push_back(kStreamVersion);
  PutU32(&raw, spec.bucket);
  PutU32(&raw, spec.buckets);
  uint64_t rate_bits;
  static_assert(sizeof(rate_bits) == sizeof(spec.sample_rate));
  std::memcpy(&rate_bits, &spec.sample_rate, sizeof(rate_bits));
  PutU64(&raw, rate_bits);
  PutU64(&raw, spec.sample_seed);
  PutU32(&raw, static_cast<uint32_t>(spec.format.size()));
  raw.append(spec.format);
  PutU32(&raw, static_cast<uint32_t>(spec.filter.size()));
  raw.append(spec.filter);
  return std::string(kStreamPrefix) + SealOpaque(raw);
}

absl::StatusOr<StreamSpec> DecodeStreamName(std::string_view name) {
  auto bad = [] {
    return absl::InvalidArgumentError(
        "stream is malformed; pass a stream name from CreateReadSession unchanged");
  };
  if (!name.starts_with(kStreamPrefix)) return bad();
  name.remove_prefix(kStreamPrefix.size());
  std::optional<std::string> raw = OpenOpaque(name);
  if (!raw.has_value() || raw->empty() || (*raw)[0] != kStreamVersion) return bad();
  std::string_view body(*raw);
  body.remove_prefix(1);
  StreamSpec spec;
  uint64_t rate_bits;
  if (!GetU32(&body, &spec.bucket) || !GetU32(&body, &spec.buckets) || !GetU64(&body, &rate_bits) ||
      !GetU64(&body, &spec.sample_seed) || !GetString(&body, &spec.format) ||
      !GetString(&body, &spec.filter) || !body.empty()) {
    return bad();
  }
  std::memcpy(&spec.sample_rate, &rate_bits, sizeof(rate_bits));
  return spec;
}

}  // namespace fixmine::server
