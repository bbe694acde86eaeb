#include "storage/record_index.h"

#include <algorithm>
#include <set>

#include "common/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format.h"
#include "google/protobuf/wire_format_lite.h"
#include "storage/keys.h"

namespace fixmine::storage::internal {
namespace {

using fixmine::v1::Record;

// The distinct non-empty languages of a record's files, each once (lang_index entries).
std::set<std::string> Languages(const Record& record) {
  std::set<std::string> out;
  for (const auto& file : record.files()) {
    if (!file.language().empty() && file.language().find('\0') == std::string::npos) {
      out.insert(file.language());
    }
  }
  return out;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

// Which key space a scan walks and its bounds.
struct ScanPlan {
  enum class Kind { kPrimary, kLang, kTime };
  Kind kind = Kind::kPrimary;
  std::string index;  // ScanPosition::index
  std::string lower;  // first key (inclusive); empty: the start
  std::string upper;  // end key (exclusive); empty: no end
  // Every key of the key space starts with this (resume positions are checked against it).
  std::string key_prefix;
  bool empty = false;  // the hints contradict each other: nothing can match
};

ScanPlan PlanScan(const Filter* filter) {
  ScanPlan plan;
  if (filter == nullptr) {
    plan.index = "records";
    return plan;
  }
  const FilterHints& hints = filter->hints();
  if (hints.min_time && hints.max_time && *hints.min_time > *hints.max_time) plan.empty = true;
  if (hints.repo) {
    plan.kind = ScanPlan::Kind::kPrimary;
    plan.index = "records:" + *hints.repo;
    plan.key_prefix = keys::RepoPrefix(*hints.repo);
    plan.lower = plan.key_prefix;
    plan.upper = keys::PrefixSuccessor(plan.key_prefix);
    // Newest first: the latest allowed time is the low end of the range.
    if (hints.max_time) plan.lower = keys::PrimaryTimePrefix(*hints.repo, *hints.max_time);
    if (hints.min_time) {
      plan.upper = keys::PrefixSuccessor(keys::PrimaryTimePrefix(*hints.repo, *hints.min_time));
    }
    if (hints.repo->empty() || hints.repo->find('\0') != std::string::npos) plan.empty = true;
  } else if (hints.language) {
    plan.kind = ScanPlan::Kind::kLang;
    plan.index = "lang:" + *hints.language;
    plan.key_prefix = keys::LangPrefix(*hints.language);
    plan.lower = plan.key_prefix;
    plan.upper = keys::PrefixSuccessor(plan.key_prefix);
    if (hints.language->empty() || hints.language->find('\0') != std::string::npos) {
      plan.empty = true;  // never indexed
    }
  } else if (hints.min_time || hints.max_time) {
    plan.kind = ScanPlan::Kind::kTime;
    plan.index = "time";
    if (hints.min_time) keys::AppendBigEndian64(&plan.lower, keys::BiasedTime(*hints.min_time));
    if (hints.max_time) {
      std::string max;
      keys::AppendBigEndian64(&max, keys::BiasedTime(*hints.max_time));
      plan.upper = keys::PrefixSuccessor(max);
    }
  } else {
    plan.index = "records";
  }
  return plan;
}

bool PositionFits(const ScanPlan& plan, std::string_view key) {
  switch (plan.kind) {
    case ScanPlan::Kind::kPrimary:
      return StartsWith(key, plan.key_prefix) && keys::PrimaryRepoLength(key).has_value();
    case ScanPlan::Kind::kLang:
      return StartsWith(key, plan.key_prefix);
    case ScanPlan::Kind::kTime:
      return key.size() > 8;
  }
  return false;
}

absl::Status NotParsing(std::string_view key) {
  return absl::DataLossError(
      fmt::format("scanning records: the record at key {} does not parse", HexKey(key)));
}

// What InspectRecordLayout found in a stored record.
struct CanonicalLayout {
  // True when the bytes are laid out as Record::SerializeAsString writes them at the top level:
  // known fields only, in field-number order, a singular field at most once, no singular scalar
  // or string holding its default value, and every length within the value.
  bool canonical = false;
  // Where the run of `files` (field 11, all adjacent in such a layout) begins and ends; equal
  // when there are none.
  size_t files_begin = 0;
  size_t files_end = 0;
};

// The top-level fields of Record, by number: whether known, repeated, and their wire type.
struct RecordFieldTable {
  static constexpr int kMax = 64;
  struct Entry {
    bool known = false;
    bool repeated = false;
    bool scalar_varint = false;  // singular varint (int, bool, enum): its default is 0
    bool string = false;         // singular string or bytes: its default is empty
    google::protobuf::internal::WireFormatLite::WireType wire{};
  };
  Entry entries[kMax];

  RecordFieldTable() {
    using google::protobuf::FieldDescriptor;
    using google::protobuf::internal::WireFormat;
    const google::protobuf::Descriptor* d = Record::descriptor();
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      // A map's order is not fixed: leaving it unknown sends such records down the parse path.
      if (f->number() >= kMax || f->is_map()) continue;
      Entry& e = entries[f->number()];
      e.known = true;
      e.repeated = f->is_repeated();
      e.wire = WireFormat::WireTypeForField(f);
      // proto3 writes a singular field without presence only when it is not its default.
      bool implicit = !e.repeated && !f->has_presence();
      e.scalar_varint =
          implicit && e.wire == google::protobuf::internal::WireFormatLite::WIRETYPE_VARINT;
      e.string = implicit && (f->type() == FieldDescriptor::TYPE_STRING ||
                              f->type() == FieldDescriptor::TYPE_BYTES);
    }
  }
};

// Walks the top-level tags of a stored record without parsing it: a few bytes per field, the
// contents skipped. Nested messages are not inspected: every writer of the records family
// (RecordIndex::AppendAdd, AppendRewrite) stores Record::SerializeAsString of this schema, so
// they are laid out as a reserialization would lay them out.
CanonicalLayout InspectRecordLayout(std::string_view value) {
  using google::protobuf::internal::WireFormatLite;
  static const RecordFieldTable* const table = new RecordFieldTable();
  CanonicalLayout out;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(value.data()),
                                            static_cast<int>(value.size()));
  int last = 0;
  bool files_seen = false;
  for (;;) {
    size_t at = static_cast<size_t>(in.CurrentPosition());
    uint32_t tag = in.ReadTag();
    if (tag == 0) break;
    int number = static_cast<int>(WireFormatLite::GetTagFieldNumber(tag));
    if (number < last || number >= RecordFieldTable::kMax) return out;
    const RecordFieldTable::Entry& e = table->entries[number];
    if (!e.known || WireFormatLite::GetTagWireType(tag) != e.wire) return out;
    if (number == last && !e.repeated) return out;
    if (number == 11) {
      if (!files_seen) out.files_begin = at;
      files_seen = true;
    }
    if (e.scalar_varint) {
      uint64_t v = 0;
      if (!in.ReadVarint64(&v) || v == 0) return out;
    } else if (e.string) {
      uint32_t length = 0;
      if (!in.ReadVarint32(&length) || length == 0 || !in.Skip(static_cast<int>(length))) {
        return out;
      }
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return out;
    }
    if (number == 11) out.files_end = static_cast<size_t>(in.CurrentPosition());
    last = number;
  }
  if (!in.ConsumedEntireMessage() || static_cast<size_t>(in.CurrentPosition()) != value.size()) {
    return out;
  }
  if (!files_seen) out.files_begin = out.files_end = 0;
  out.canonical = true;
  return out;
}

}  // namespace

absl::StatusOr<std::optional<std::string>> RecordIndex::KeyOf(const rocksdb::ReadOptions* ro,
                                                              std::string_view id,
                                                              std::string_view what) const {
  std::string key;
  FIXMINE_ASSIGN_OR_RETURN(bool found, core_->Get(ro, Family::kIds, id, &key, what));
  if (!found) return std::optional<std::string>();
  return std::optional<std::string>(std::move(key));
}

absl::StatusOr<std::optional<Record>> RecordIndex::ReadAt(const rocksdb::ReadOptions* ro,
                                                          std::string_view key,
                                                          std::string_view what) const {
  std::string value;
  FIXMINE_ASSIGN_OR_RETURN(bool found, core_->Get(ro, Family::kRecords, key, &value, what));
  if (!found) return std::optional<Record>();
  Record record;
  if (!record.ParseFromString(value)) {
    return absl::DataLossError(
        fmt::format("{}: the record at key {} does not parse", what, HexKey(key)));
  }
  return std::optional<Record>(std::move(record));
}

absl::StatusOr<Record> RecordIndex::Get(std::string_view id) const {
  std::string what = fmt::format("reading record {}", QuoteInput(id));
  std::unique_ptr<ReadView> view = core_->View();
  FIXMINE_ASSIGN_OR_RETURN(std::optional<std::string> key, KeyOf(&view->options(), id, what));
  if (!key) return absl::NotFoundError(fmt::format("record {} not found", QuoteInput(id)));
  FIXMINE_ASSIGN_OR_RETURN(std::optional<Record> record, ReadAt(&view->options(), *key, what));
  if (!record) {
    return absl::DataLossError(
        fmt::format("{}: the id points to key {} which holds no record", what, HexKey(*key)));
  }
  return *std::move(record);
}

absl::StatusOr<int64_t> RecordIndex::ReadCounter(const rocksdb::ReadOptions* ro,
                                                 std::string_view key) const {
  std::string value;
  FIXMINE_ASSIGN_OR_RETURN(
      bool found, core_->Get(ro, Family::kCounters, key, &value, "reading a record counter"));
  if (!found) return 0;
  std::optional<int64_t> n = keys::DecodeCounter(value);
  if (!n) return absl::DataLossError("reading a record counter: bad value size");
  return *n;
}

absl::Status RecordIndex::ScanValues(const Filter* filter, const ScanPosition& from,
                                     const ValueVisitor& visit) const {
  ScanPlan plan = PlanScan(filter);
  if (from.index.empty()) {
    if (!from.last_key.empty()) {
      return absl::InvalidArgumentError("scanning records: the start position has no index");
    }
  } else if (from.index != plan.index) {
    return absl::InvalidArgumentError(fmt::format(
        "scanning records: the start position is in index \"{}\" but this filter scans \"{}\"",
        from.index, plan.index));
  } else if (!from.last_key.empty() && !PositionFits(plan, from.last_key)) {
    return absl::InvalidArgumentError(fmt::format(
        "scanning records: the start position's key does not belong to index \"{}\"", plan.index));
  }
  if (plan.empty) return absl::OkStatus();

  std::unique_ptr<ReadView> view = core_->View();
  const rocksdb::ReadOptions& point = view->options();
  // Long scans stream through the data once; keep them from evicting the hot blocks.
  rocksdb::ReadOptions ro = view->scan_options();
  rocksdb::Slice upper(plan.upper);
  if (!plan.upper.empty()) ro.iterate_upper_bound = &upper;
  Family cf = Family::kRecords;
  if (plan.kind == ScanPlan::Kind::kLang) cf = Family::kLang;
  if (plan.kind == ScanPlan::Kind::kTime) cf = Family::kTime;
  std::unique_ptr<rocksdb::Iterator> it = core_->NewIterator(ro, cf);

  const std::string& start = std::max(plan.lower, from.last_key);
  it->Seek(start);
  if (!from.last_key.empty() && it->Valid() && it->key() == rocksdb::Slice(from.last_key)) {
    it->Next();
  }
  ScanPosition after;
  after.index = plan.index;
  std::string pinned;
  for (; it->Valid(); it->Next()) {
    std::string_view value;
    if (plan.kind == ScanPlan::Kind::kPrimary) {
      value = it->value().ToStringView();
    } else {
      std::string_view index_key = it->key().ToStringView();
      std::string_view primary = plan.kind == ScanPlan::Kind::kLang
                                     ? keys::PrimaryFromLangKey(index_key)
                                     : keys::PrimaryFromTimeKey(index_key);
      FIXMINE_ASSIGN_OR_RETURN(
          bool found, core_->Get(&point, Family::kRecords, primary, &pinned, "scanning records"));
      // An index entry always has its record in the same snapshot (one batch writes both);
      // skip rather than fail should one ever dangle.
      if (!found) continue;
      value = pinned;
    }
    std::string_view key = it->key().ToStringView();
    FIXMINE_ASSIGN_OR_RETURN(bool matched, visit.match(key, value));
    if (!matched) continue;
    after.last_key.assign(key.data(), key.size());
    if (!visit.take(after)) return absl::OkStatus();
  }
  return FromRocks(it->status(), "scanning records");
}

absl::Status RecordIndex::Scan(
    const Filter* filter, const ScanPosition& from,
    const std::function<bool(const Record&, const ScanPosition& after)>& visit) const {
  Record record;
  ValueVisitor v;
  v.match = [&](std::string_view key, std::string_view value) -> absl::StatusOr<bool> {
    if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return NotParsing(key);
    }
    return filter == nullptr || filter->Matches(record);
  };
  v.take = [&](const ScanPosition& after) { return visit(record, after); };
  return ScanValues(filter, from, v);
}

absl::Status RecordIndex::ScanSerialized(
    const Filter* filter, const ScanPosition& from,
    const std::function<bool(std::string_view bytes, const ScanPosition& after)>& visit) const {
  Record record;
  std::string reserialized;
  std::string_view bytes;
  const bool skip_files = filter != nullptr && !filter->ReadsFiles();
  ValueVisitor v;
  v.match = [&](std::string_view key, std::string_view value) -> absl::StatusOr<bool> {
    CanonicalLayout layout = InspectRecordLayout(value);
    if (!layout.canonical) {
      // Not what this code's serializer writes (or damaged): the parse path's bytes, or its
      // error.
      if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
        return NotParsing(key);
      }
      if (filter != nullptr && !filter->Matches(record)) return false;
      reserialized.clear();
      record.AppendToString(&reserialized);
      bytes = reserialized;
      return true;
    }
    bytes = value;
    if (filter == nullptr) return true;
    bool parsed = false;
    if (skip_files) {
      // Everything but the files: the bytes before and after their one contiguous run.
      record.Clear();
      google::protobuf::io::CodedInputStream head(reinterpret_cast<const uint8_t*>(value.data()),
                                                  static_cast<int>(layout.files_begin));
      google::protobuf::io::CodedInputStream tail(
          reinterpret_cast<const uint8_t*>(value.data() + layout.files_end),
          static_cast<int>(value.size() - layout.files_end));
      parsed = record.MergeFromCodedStream(&head) && record.MergeFromCodedStream(&tail);
    } else {
      parsed = record.ParseFromArray(value.data(), static_cast<int>(value.size()));
    }
    if (!parsed) return NotParsing(key);
    return filter->Matches(record);
  };
  v.take = [&](const ScanPosition& after) { return visit(bytes, after); };
  return ScanValues(filter, from, v);
}

absl::StatusOr<int64_t> RecordIndex::Count(const Filter* filter) const {
  if (filter == nullptr) return ReadCounter(nullptr, keys::kTotalCounterKey);
  int64_t n = 0;
  FIXMINE_RETURN_IF_ERROR(Scan(filter, ScanPosition(), [&n](const Record&, const ScanPosition&) {
    ++n;
    return true;
  }));
  return n;
}

absl::Status RecordIndex::AppendAdd(const std::string& key, const Record& record,
                                    std::string_view value, rocksdb::WriteBatch* batch,
                                    std::string_view what) const {
  FIXMINE_RETURN_IF_ERROR(FromRocks(batch->Put(core_->cf(Family::kIds), record.id(), key), what));
  for (const std::string& lang : Languages(record)) {
    FIXMINE_RETURN_IF_ERROR(FromRocks(
        batch->Put(core_->cf(Family::kLang), keys::LangKey(lang, key), rocksdb::Slice()), what));
  }
  FIXMINE_RETURN_IF_ERROR(FromRocks(
      batch->Put(core_->cf(Family::kTime),
                 keys::TimeKey(keys::BiasedTime(record.committer().time()), key), rocksdb::Slice()),
      what));
  return FromRocks(batch->Put(core_->cf(Family::kRecords), key, value), what);
}

absl::Status RecordIndex::AppendRewrite(const std::string& key, const Record& record,
                                        rocksdb::WriteBatch* batch, std::string_view what) const {
  return FromRocks(batch->Put(core_->cf(Family::kRecords), key, record.SerializeAsString()), what);
}

absl::Status RecordIndex::AppendCounts(const std::map<std::string, int64_t>& per_repo,
                                       int64_t added, rocksdb::WriteBatch* batch,
                                       std::string_view what) const {
  for (const auto& [name, n] : per_repo) {
    FIXMINE_RETURN_IF_ERROR(
        FromRocks(batch->Merge(core_->cf(Family::kCounters), keys::RepoCounterKey(name),
                               keys::EncodeCounter(n)),
                  what));
  }
  if (added == 0) return absl::OkStatus();
  return FromRocks(batch->Merge(core_->cf(Family::kCounters), keys::kTotalCounterKey,
                                keys::EncodeCounter(added)),
                   what);
}

absl::StatusOr<int64_t> RecordIndex::AppendRemoveRepository(const ReadView& view,
                                                            std::string_view repo,
                                                            rocksdb::WriteBatch* batch,
                                                            std::vector<std::string>* ids,
                                                            std::string_view what) const {
  int64_t removed = 0;
  if (!repo.empty()) {
    std::string prefix = keys::RepoPrefix(repo);
    std::string end = keys::PrefixSuccessor(prefix);
    rocksdb::Slice upper(end);
    rocksdb::ReadOptions ro = view.scan_options();
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it = core_->NewIterator(ro, Family::kRecords);
    Record record;
    for (it->Seek(prefix); it->Valid(); it->Next()) {
      std::string_view key = it->key().ToStringView();
      if (!record.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
        return absl::DataLossError(
            fmt::format("{}: the record at key {} does not parse", what, HexKey(key)));
      }
      FIXMINE_RETURN_IF_ERROR(FromRocks(batch->Delete(core_->cf(Family::kRecords), key), what));
      FIXMINE_RETURN_IF_ERROR(FromRocks(batch->Delete(core_->cf(Family::kIds), record.id()), what));
      for (const std::string& lang : Languages(record)) {
        FIXMINE_RETURN_IF_ERROR(
            FromRocks(batch->Delete(core_->cf(Family::kLang), keys::LangKey(lang, key)), what));
      }
      if (std::optional<uint64_t> t = keys::PrimaryBiasedTime(key)) {
        FIXMINE_RETURN_IF_ERROR(
            FromRocks(batch->Delete(core_->cf(Family::kTime), keys::TimeKey(*t, key)), what));
      }
      ids->push_back(record.id());
      ++removed;
    }
    FIXMINE_RETURN_IF_ERROR(FromRocks(it->status(), what));
  }
  FIXMINE_RETURN_IF_ERROR(
      FromRocks(batch->Delete(core_->cf(Family::kCounters), keys::RepoCounterKey(repo)), what));
  if (removed > 0) {
    FIXMINE_RETURN_IF_ERROR(
        FromRocks(batch->Merge(core_->cf(Family::kCounters), keys::kTotalCounterKey,
                               keys::EncodeCounter(-removed)),
                  what));
  }
  return removed;
}

absl::Status RecordIndex::Relabel(const rocksdb::ReadOptions* ro,
                                  const std::map<std::string, DedupLabels>& labels,
                                  RecordWrites* writes, std::string_view what) const {
  for (const auto& [id, l] : labels) {
    FIXMINE_ASSIGN_OR_RETURN(std::optional<std::string> key, KeyOf(ro, id, what));
    if (!key) {
      return absl::DataLossError(
          fmt::format("{}: record \"{}\" is in the dedup index but not in the id index", what, id));
    }
    auto r = writes->rewritten.find(*key);
    if (r == writes->rewritten.end()) {
      FIXMINE_ASSIGN_OR_RETURN(std::optional<Record> rec, ReadAt(ro, *key, what));
      if (!rec) {
        return FromRocks(rocksdb::Status::NotFound(), fmt::format("{}: record \"{}\"", what, id));
      }
      r = writes->rewritten.emplace(*key, *std::move(rec)).first;
    }
    r->second.set_duplicate_of(l.duplicate_of);
    r->second.set_near_duplicate_of(l.near_duplicate_of);
    r->second.set_near_duplicate_similarity(l.near_duplicate_similarity);
  }
  return absl::OkStatus();
}

}  // namespace fixmine::storage::internal
