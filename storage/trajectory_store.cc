#include "storage/trajectory_store.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "common/status.h"
#include "common/time.h"
#include "fmt/format.h"
#include "rocksdb/db.h"
#include "rocksdb/snapshot.h"
#include "rocksdb/write_batch.h"
#include "storage/keys.h"
#include "storage/rocks_access.h"

namespace fixmine::storage {

using fixmine::v1::Trajectory;

// ---------------------------------------------------------------------------------------------
// Filter

namespace {

constexpr size_t kMaxFilterBytes = 4096;

enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kHas };
enum class FieldKind { kString, kText, kNumber, kTime, kBool };

struct Field {
  std::string_view name;
  FieldKind kind;
};

constexpr Field kTrajectoryFields[] = {
    {"repo", FieldKind::kString},         {"kind", FieldKind::kString},
    {"merge_commit", FieldKind::kString}, {"title", FieldKind::kText},
    {"source_branch", FieldKind::kText},  {"step_count", FieldKind::kNumber},
    {"pr_number", FieldKind::kNumber},    {"merged_at", FieldKind::kTime},
    {"any_fix", FieldKind::kBool},        {"is_fix", FieldKind::kBool},
};

std::string_view OpText(Op op) {
  switch (op) {
    case Op::kEq:
      return "=";
    case Op::kNe:
      return "!=";
    case Op::kLt:
      return "<";
    case Op::kLe:
      return "<=";
    case Op::kGt:
      return ">";
    case Op::kGe:
      return ">=";
    case Op::kHas:
      return ":";
  }
  return "?";
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle_folded) {
  if (needle_folded.empty()) return true;
  auto it = std::search(
      haystack.begin(), haystack.end(), needle_folded.begin(), needle_folded.end(),
      [](char h, char n) { return absl::ascii_tolower(static_cast<unsigned char>(h)) == n; });
  return it != haystack.end();
}

std::string_view TextOf(const Trajectory& t, std::string_view name) {
  if (name == "repo") return t.repo();
  if (name == "kind") return t.kind();
  if (name == "merge_commit") return t.merge_commit();
  if (name == "title") return t.title();
  return t.source_branch();
}

int64_t NumberOf(const Trajectory& t, std::string_view name) {
  if (name == "step_count") return t.step_count();
  if (name == "pr_number") return t.pr_number();
  return t.merged_by().time();
}

}  // namespace

struct TrajectoryFilter::Term {
  const Field* field = nullptr;
  Op op = Op::kEq;
  bool negated = false;
  std::string text;    // string value as written (unquoted)
  std::string folded;  // lower case, for ':'
  int64_t number = 0;  // number or time
  bool flag = true;    // bool value
};

TrajectoryFilter::~TrajectoryFilter() = default;

absl::StatusOr<std::unique_ptr<TrajectoryFilter>> TrajectoryFilter::Parse(std::string_view text) {
  auto error = [&](size_t pos, std::string_view what, std::string_view expected) {
    return absl::InvalidArgumentError(
        fmt::format("filter: column {}: {}; {}", pos + 1, what, expected));
  };
  if (text.size() > kMaxFilterBytes) {
    return absl::InvalidArgumentError(fmt::format(
        "filter: is {} bytes; shorten it to at most {} bytes", text.size(), kMaxFilterBytes));
  }
  std::unique_ptr<TrajectoryFilter> f(new TrajectoryFilter());
  size_t pos = 0;
  auto skip_space = [&] {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
  };
  auto word_at = [&](size_t p) {
    size_t e = p;
    while (e < text.size() &&
           (std::isalnum(static_cast<unsigned char>(text[e])) || text[e] == '_')) {
      ++e;
    }
    return text.substr(p, e - p);
  };
  std::string known;
  for (const Field& fld : kTrajectoryFields) {
    if (!known.empty()) known += ", ";
    known += fld.name;
  }
  skip_space();
  bool need_term = false;
  while (pos < text.size()) {
    Term term;
    std::string_view w = word_at(pos);
    if (w == "AND") {
      if (!need_term && !f->terms_.empty()) {
        pos += 3;
        skip_space();
        need_term = true;
        continue;
      }
      return error(pos, "AND needs a term on each side", "write TERM AND TERM");
    }
    if (w == "OR") {
      return error(pos, "OR is not supported in trajectory filters",
                   "join terms with AND; stream twice for alternatives");
    }
    if (w == "NOT") {
      term.negated = true;
      pos += 3;
      skip_space();
      w = word_at(pos);
    } else if (text[pos] == '-') {
      term.negated = true;
      ++pos;
      w = word_at(pos);
    }
    if (w.empty()) {
      return error(pos, fmt::format("unexpected {}", Quote(text.substr(pos, 1))),
                   fmt::format("expected a field: {}", known));
    }
    const Field* field = nullptr;
    for (const Field& fld : kTrajectoryFields) {
      if (fld.name == w) field = &fld;
    }
    if (field == nullptr) {
      return error(pos, fmt::format("unknown field {}", Quote(w)),
                   fmt::format("known trajectory fields: {}", known));
    }
    term.field = field;
    size_t field_pos = pos;
    pos += w.size();
    skip_space();
    // The operator.
    std::optional<Op> op;
    std::string_view rest = text.substr(pos);
    for (auto [s, o] : {std::pair{"!=", Op::kNe}, std::pair{"<=", Op::kLe},
                        std::pair{">=", Op::kGe}, std::pair{"=", Op::kEq}, std::pair{"<", Op::kLt},
                        std::pair{">", Op::kGt}, std::pair{":", Op::kHas}}) {
      if (rest.starts_with(s)) {
        op = o;
        pos += std::string_view(s).size();
        break;
      }
    }
    if (!op) {
      if (field->kind != FieldKind::kBool) {
        return error(pos, fmt::format("field {} needs an operator and a value", Quote(w)),
                     "expected one of =, !=, <, <=, >, >=, :");
      }
      term.op = Op::kEq;
      term.flag = true;
    } else {
      term.op = *op;
      bool ok_op = false;
      switch (field->kind) {
        case FieldKind::kString:
        case FieldKind::kBool:
          ok_op = *op == Op::kEq || *op == Op::kNe;
          break;
        case FieldKind::kText:
          ok_op = *op == Op::kEq || *op == Op::kNe || *op == Op::kHas;
          break;
        case FieldKind::kNumber:
        case FieldKind::kTime:
          ok_op = *op != Op::kHas;
          break;
      }
      if (!ok_op) {
        return error(pos - OpText(*op).size(),
                     fmt::format("operator '{}' is not valid for field {}", OpText(*op), Quote(w)),
                     field->kind == FieldKind::kText     ? "expected =, != or :"
                     : field->kind == FieldKind::kNumber ? "expected =, !=, <, <=, > or >="
                     : field->kind == FieldKind::kTime   ? "expected =, !=, <, <=, > or >="
                                                         : "expected = or !=");
      }
      skip_space();
      size_t value_pos = pos;
      std::string value;
      if (pos < text.size() && text[pos] == '"') {
        ++pos;
        bool closed = false;
        while (pos < text.size()) {
          char c = text[pos++];
          if (c == '\\' && pos < text.size()) {
            value.push_back(text[pos++]);
          } else if (c == '"') {
            closed = true;
            break;
          } else {
            value.push_back(c);
          }
        }
        if (!closed) return error(value_pos, "unterminated string", "end it with '\"'");
      } else {
        while (pos < text.size() && !std::isspace(static_cast<unsigned char>(text[pos]))) {
          value.push_back(text[pos++]);
        }
        if (value.empty()) {
          return error(value_pos, fmt::format("missing value for field {}", Quote(w)),
                       "expected a value after the operator");
        }
      }
      switch (field->kind) {
        case FieldKind::kString:
        case FieldKind::kText:
          term.text = value;
          term.folded = absl::AsciiStrToLower(value);
          break;
        case FieldKind::kNumber:
          if (!absl::SimpleAtoi(value, &term.number)) {
            return error(value_pos, fmt::format("{} is not an integer", Quote(value)),
                         fmt::format("expected an integer for field {}", Quote(w)));
          }
          break;
        case FieldKind::kTime: {
          auto t = ParseTime(value);
          if (!t.ok()) {
            return error(value_pos, fmt::format("{} is not a time", Quote(value)),
                         "expected RFC 3339 (2024-01-31T12:00:00Z), a date (2024-01-31) or "
                         "@SECONDS");
          }
          term.number = *t;
          break;
        }
        case FieldKind::kBool:
          if (value == "true") {
            term.flag = true;
          } else if (value == "false") {
            term.flag = false;
          } else {
            return error(value_pos, fmt::format("{} is not a boolean", Quote(value)),
                         "expected true or false");
          }
          break;
      }
    }
    (void)field_pos;
    // Canonical text of the term.
    std::string c = term.negated ? "NOT " : "";
    switch (field->kind) {
      case FieldKind::kBool:
        c += fmt::format("{} = {}", field->name, term.flag ? "true" : "false");
        break;
      case FieldKind::kNumber:
      case FieldKind::kTime:
        c += fmt::format("{} {} {}", field->name, OpText(term.op), term.number);
        break;
      default:
        c += fmt::format("{} {} {}", field->name, OpText(term.op), Quote(term.text));
    }
    if (!f->canonical_.empty()) f->canonical_ += " AND ";
    f->canonical_ += c;
    if (field->name == "repo" && term.op == Op::kEq && !term.negated) f->repo_ = term.text;
    f->terms_.push_back(std::move(term));
    need_term = false;
    skip_space();
  }
  if (need_term) return error(pos, "AND at the end", "expected a term after AND");
  return f;
}

bool TrajectoryFilter::Matches(const Trajectory& t) const {
  for (const Term& term : terms_) {
    bool m = false;
    std::string_view name = term.field->name;
    switch (term.field->kind) {
      case FieldKind::kString:
      case FieldKind::kText: {
        std::string_view v = TextOf(t, name);
        m = term.op == Op::kHas ? ContainsIgnoreCase(v, term.folded) : v == term.text;
        if (term.op == Op::kNe) m = v != term.text;
        break;
      }
      case FieldKind::kNumber:
      case FieldKind::kTime: {
        int64_t v = NumberOf(t, name);
        switch (term.op) {
          case Op::kEq:
            m = v == term.number;
            break;
          case Op::kNe:
            m = v != term.number;
            break;
          case Op::kLt:
            m = v < term.number;
            break;
          case Op::kLe:
            m = v <= term.number;
            break;
          case Op::kGt:
            m = v > term.number;
            break;
          case Op::kGe:
            m = v >= term.number;
            break;
          case Op::kHas:
            m = false;
            break;
        }
        break;
      }
      case FieldKind::kBool:
        m = term.op == Op::kNe ? t.any_fix() != term.flag : t.any_fix() == term.flag;
        break;
    }
    if (m == term.negated) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Store

namespace {

absl::Status FromRocksStatus(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = fmt::format("{}: {}", what, s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return absl::UnavailableError(msg);
  return absl::InternalError(msg);
}

std::string RepoPrefix(std::string_view repo) {
  std::string k = "t";
  k.append(repo);
  k.push_back('\0');
  return k;
}

std::string PrimaryKeyOf(const Trajectory& t) {
  std::string k = RepoPrefix(t.repo());
  keys::AppendBigEndian64(&k, UINT64_MAX - keys::BiasedTime(t.merged_by().time()));
  k.append(t.id());
  return k;
}

std::string IdKey(std::string_view id) {
  std::string k = "i";
  k.append(id);
  return k;
}

class RocksTrajectoryStore final : public TrajectoryStore {
 public:
  explicit RocksTrajectoryStore(internal::RocksAccess rocks) : rocks_(rocks) {}

  absl::Status Put(const std::vector<Trajectory>& trajectories) override {
    const std::string what = "storing trajectories";
    rocksdb::WriteBatch batch;
    for (const Trajectory& t : trajectories) {
      if (t.id().empty() || t.repo().empty() || t.repo().find('\0') != std::string::npos) {
        return absl::InvalidArgumentError(
            fmt::format("{}: trajectory \"{}\" needs an id and a repository name", what, t.id()));
      }
      std::string primary = PrimaryKeyOf(t);
      // A trajectory found again (a resumed job) keeps its key; should its merge time ever
      // differ, the old entry goes.
      std::string old;
      rocksdb::Status s =
          rocks_.db->Get(rocksdb::ReadOptions(), rocks_.trajectories, IdKey(t.id()), &old);
      if (s.ok() && old != primary) {
        FIXMINE_RETURN_IF_ERROR(FromRocksStatus(batch.Delete(rocks_.trajectories, old), what));
      } else if (!s.ok() && !s.IsNotFound()) {
        return FromRocksStatus(s, what);
      }
      FIXMINE_RETURN_IF_ERROR(
          FromRocksStatus(batch.Put(rocks_.trajectories, primary, t.SerializeAsString()), what));
      FIXMINE_RETURN_IF_ERROR(
          FromRocksStatus(batch.Put(rocks_.trajectories, IdKey(t.id()), primary), what));
    }
    return rocks_.write(what, &batch);
  }

  absl::StatusOr<Trajectory> Get(std::string_view id) override {
    const std::string what = fmt::format("reading trajectory {}", QuoteInput(id));
    rocksdb::ManagedSnapshot snapshot(rocks_.db);
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot.snapshot();
    std::string primary;
    rocksdb::Status s = rocks_.db->Get(ro, rocks_.trajectories, IdKey(id), &primary);
    if (s.IsNotFound()) {
      return absl::NotFoundError(fmt::format("trajectory {} not found", QuoteInput(id)));
    }
    FIXMINE_RETURN_IF_ERROR(FromRocksStatus(s, what));
    std::string value;
    s = rocks_.db->Get(ro, rocks_.trajectories, primary, &value);
    if (s.IsNotFound()) {
      return absl::NotFoundError(fmt::format("trajectory {} not found", QuoteInput(id)));
    }
    FIXMINE_RETURN_IF_ERROR(FromRocksStatus(s, what));
    Trajectory t;
    if (!t.ParseFromString(value)) {
      return absl::DataLossError(fmt::format("{}: the stored value does not parse", what));
    }
    return t;
  }

  absl::Status Scan(
      const TrajectoryFilter* filter, const std::string& after,
      const std::function<bool(const Trajectory&, const std::string& key)>& visit) override {
    if (!after.empty() && after[0] != 't') {
      return absl::InvalidArgumentError(
          "scanning trajectories: the start position is not a trajectory key");
    }
    std::string lower = "t", upper = "u";
    if (filter != nullptr && filter->repo()) {
      lower = RepoPrefix(*filter->repo());
      upper = keys::PrefixSuccessor(lower);
    }
    rocksdb::ManagedSnapshot snapshot(rocks_.db);
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot.snapshot();
    ro.fill_cache = false;
    rocksdb::Slice upper_slice(upper);
    ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(rocks_.db->NewIterator(ro, rocks_.trajectories));
    it->Seek(std::max(lower, after));
    if (!after.empty() && it->Valid() && it->key() == rocksdb::Slice(after)) it->Next();
    Trajectory t;
    for (; it->Valid(); it->Next()) {
      if (!t.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
        return absl::DataLossError("scanning trajectories: a stored value does not parse");
      }
      if (filter != nullptr && !filter->Matches(t)) continue;
      if (!visit(t, it->key().ToString())) return absl::OkStatus();
    }
    return FromRocksStatus(it->status(), "scanning trajectories");
  }

  absl::StatusOr<int64_t> RemoveRepository(std::string_view repo) override {
    const std::string what = fmt::format("removing the trajectories of {}", QuoteInput(repo));
    std::string lower = RepoPrefix(repo), upper = keys::PrefixSuccessor(lower);
    rocksdb::ReadOptions ro;
    rocksdb::Slice upper_slice(upper);
    ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(rocks_.db->NewIterator(ro, rocks_.trajectories));
    rocksdb::WriteBatch batch;
    int64_t n = 0;
    Trajectory t;
    for (it->Seek(lower); it->Valid(); it->Next()) {
      if (t.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
        FIXMINE_RETURN_IF_ERROR(
            FromRocksStatus(batch.Delete(rocks_.trajectories, IdKey(t.id())), what));
      }
      FIXMINE_RETURN_IF_ERROR(FromRocksStatus(batch.Delete(rocks_.trajectories, it->key()), what));
      ++n;
    }
    FIXMINE_RETURN_IF_ERROR(FromRocksStatus(it->status(), what));
    FIXMINE_RETURN_IF_ERROR(rocks_.write(what, &batch));
    return n;
  }

 private:
  internal::RocksAccess rocks_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TrajectoryStore>> TrajectoryStore::Of(RecordStore* store) {
  std::optional<internal::RocksAccess> rocks = internal::RocksAccessOf(store);
  if (!rocks || rocks->db == nullptr || rocks->trajectories == nullptr) {
    return absl::FailedPreconditionError("trajectories need a store opened by RecordStore::Open");
  }
  return std::unique_ptr<TrajectoryStore>(new RocksTrajectoryStore(*rocks));
}

}  // namespace fixmine::storage
