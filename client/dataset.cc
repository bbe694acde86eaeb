#include "client/dataset.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "client/shard.h"
#include "client/zstd_reader.h"
#include "client/zstd_writer.h"
#include "common/json.h"
#include "common/record_json.h"
#include "curation/canonical.h"
#include "curation/dedup.h"
#include "curation/quality.h"
#include "fixmine/v1/records.pb.h"
#include "fmt/format.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "storage/keys.h"

namespace fixmine::client {
namespace {

namespace fs = std::filesystem;
using fixmine::v1::Record;

constexpr char kSplits[][11] = {"train", "validation", "test", "fresh"};

// Members of one LSH bucket compared with each other at most: each member is compared with
// the next kBucketWindow members in canonical order, so a bucket shared by very many records
// (boilerplate) costs O(n * window), not O(n^2).
constexpr size_t kBucketWindow = 256;

// ---------------------------------------------------------------------------------------------
// Files and markers.

std::string MapShardPath(const DatasetOptions& o, int64_t i) {
  return fmt::format("{}/map/train-{}-of-{}.jsonl.zst", o.dir, i, o.map_shards);
}
std::string MapDonePath(const DatasetOptions& o, int64_t i) {
  return fmt::format("{}/map/train-{}-of-{}.done", o.dir, i, o.map_shards);
}
std::string SignaturesPath(const DatasetOptions& o, int64_t i, int64_t j) {
  return fmt::format("{}/stages/signatures/{}-of-{}.part-{}-of-{}.tsv", o.dir, i, o.map_shards, j,
                     o.partitions);
}
std::string SignaturesDone(const DatasetOptions& o, int64_t i) {
  return fmt::format("{}/stages/signatures/{}-of-{}.done", o.dir, i, o.map_shards);
}
std::string PairsPath(const DatasetOptions& o, int64_t j) {
  return fmt::format("{}/stages/pairs/{}-of-{}.tsv", o.dir, j, o.partitions);
}
std::string PairsDone(const DatasetOptions& o, int64_t j) {
  return fmt::format("{}/stages/pairs/{}-of-{}.done", o.dir, j, o.partitions);
}
std::string LabelsPath(const DatasetOptions& o, int64_t i) {
  return fmt::format("{}/stages/clusters/labels-{}-of-{}.tsv", o.dir, i, o.map_shards);
}
std::string ClustersDone(const DatasetOptions& o) {
  return o.dir + "/stages/clusters/clusters.done";
}
// The final shard of split `split` from map shard i, relative to DIR (as the card names it).
std::string DataFile(const DatasetOptions& o, std::string_view split, int64_t i) {
  return fmt::format("data/{}-{:05d}-of-{:05d}.jsonl.zst", split, i, o.map_shards);
}
std::string FilterDone(const DatasetOptions& o, int64_t i) {
  return fmt::format("{}/stages/filter/{}-of-{}.done", o.dir, i, o.map_shards);
}
std::string CardDone(const DatasetOptions& o) { return o.dir + "/stages/card.done"; }

bool Exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

absl::Status MakeParent(const std::string& path) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) {
    return absl::InternalError(
        fmt::format("creating \"{}\": {}", fs::path(path).parent_path().string(), ec.message()));
  }
  return absl::OkStatus();
}

absl::Status Rename(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) return absl::InternalError(fmt::format("renaming \"{}\": {}", from, ec.message()));
  return absl::OkStatus();
}

// Writes `text` to `path` through a temporary sibling and a rename.
absl::Status WriteAtomically(const std::string& path, const std::string& text) {
  if (absl::Status st = MakeParent(path); !st.ok()) return st;
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    f.flush();
    if (!f) return absl::InternalError(fmt::format("writing \"{}\" failed (disk full?)", tmp));
  }
  return Rename(tmp, path);
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("cannot read \"{}\"", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<google::protobuf::Struct> ReadMarker(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  google::protobuf::Struct s;
  google::protobuf::util::JsonParseOptions opts;
  if (!google::protobuf::util::JsonStringToMessage(*text, &s, opts).ok()) {
    return absl::DataLossError(fmt::format("the marker \"{}\" is not JSON", path));
  }
  return s;
}

int64_t Int(const google::protobuf::Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? 0 : static_cast<int64_t>(it->second.number_value());
}

// FAILED_PRECONDITION naming the first missing marker of `paths`.
absl::Status NeedMarkers(const std::vector<std::string>& paths, std::string_view stage) {
  for (const std::string& p : paths) {
    if (!Exists(p)) {
      return absl::FailedPreconditionError(fmt::format(
          "the {} stage is not complete: \"{}\" is missing; run (or rerun) that stage first", stage,
          p));
    }
  }
  return absl::OkStatus();
}

std::string Quote(std::string_view s) {
  std::string out;
  AppendValidJsonString(s, &out);
  return out;
}

absl::Status CheckOptions(const DatasetOptions& o) {
  if (o.dir.empty()) return absl::InvalidArgumentError("--dir is required");
  if (o.map_shards < 1) return absl::InvalidArgumentError("--map-shards must be 1 or more");
  if (o.partitions < 1) return absl::InvalidArgumentError("--partitions must be 1 or more");
  if (o.near_dup_threshold < 0 || o.near_dup_threshold > 1) {
    return absl::InvalidArgumentError(
        fmt::format("--near-dup-threshold {} is out of range; use 0 to 1", o.near_dup_threshold));
  }
  return absl::OkStatus();
}

absl::Status CheckIndex(int64_t index, int64_t count, std::string_view what) {
  if (index < 0 || index >= count) {
    return absl::InvalidArgumentError(
        fmt::format("shard index {} is out of range: {} has {} tasks (0 to {})", index, what, count,
                    count - 1));
  }
  return absl::OkStatus();
}

absl::StatusOr<Record> ParseRecord(const std::string& line, const std::string& file,
                                   int64_t line_no) {
  Record r;
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(line, &r, opts).ok()) {
    return absl::DataLossError(
        fmt::format("\"{}\" line {}: not a record in proto JSON", file, line_no));
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// What the dedup stages carry of a record.

struct Node {
  std::string id;
  int64_t author_time = 0;
  std::string repo;
  int64_t commit_time = 0;
  int64_t shard = 0;  // map shard holding the record
};

bool NodeBefore(const Node& a, const Node& b) {
  return curation::CanonicalBefore(a.author_time, a.id, b.author_time, b.id);
}

void AppendNode(const Node& n, std::string* out) {
  *out += fmt::format("{}\t{}\t{}\t{}\t{}", n.id, n.author_time, n.repo, n.commit_time, n.shard);
}

bool ParseInt(std::string_view s, int64_t* v) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::string t(s);
  errno = 0;
  *v = std::strtoll(t.c_str(), &end, 10);
  return errno == 0 && *end == '\0';
}

// Reads a node from fields[at .. at+4].
bool ParseNode(const std::vector<std::string_view>& f, size_t at, Node* n) {
  if (f.size() < at + 5) return false;
  n->id = std::string(f[at]);
  n->repo = std::string(f[at + 2]);
  return ParseInt(f[at + 1], &n->author_time) && ParseInt(f[at + 3], &n->commit_time) &&
         ParseInt(f[at + 4], &n->shard);
}

std::string HexOf(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

std::string SignatureHex(const std::vector<uint32_t>& sig) {
  std::string out;
  for (uint32_t v : sig) out += fmt::format("{:08x}", v);
  return out;
}

bool ParseSignature(std::string_view hex, std::vector<uint32_t>* sig) {
  if (hex.size() != static_cast<size_t>(curation::kMinHashSize) * 8) return false;
  sig->clear();
  for (size_t i = 0; i < hex.size(); i += 8) {
    uint32_t v = 0;
    for (size_t k = 0; k < 8; ++k) {
      char c = hex[i + k];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return false;
      v = v << 4 | static_cast<uint32_t>(d);
    }
    sig->push_back(v);
  }
  return true;
}

// Union-find over record ids.
class Components {
 public:
  void Add(const std::string& id) { parent_.try_emplace(id, id); }
  std::string Find(const std::string& id) {
    std::string root = id;
    while (parent_.at(root) != root) root = parent_.at(root);
    std::string cur = id;
    while (cur != root) {
      std::string next = parent_.at(cur);
      parent_[cur] = root;
      cur = next;
    }
    return root;
  }
  void Union(const std::string& a, const std::string& b) {
    Add(a);
    Add(b);
    std::string ra = Find(a), rb = Find(b);
    if (ra != rb) parent_[std::max(ra, rb)] = std::min(ra, rb);
  }
  // Members by root.
  std::map<std::string, std::vector<std::string>> Groups() {
    std::map<std::string, std::vector<std::string>> out;
    std::vector<std::string> ids;
    for (const auto& [id, p] : parent_) ids.push_back(id);
    for (const std::string& id : ids) out[Find(id)].push_back(id);
    return out;
  }

 private:
  std::unordered_map<std::string, std::string> parent_;
};

absl::Status CheckLine(const std::string& file, int64_t line_no, bool ok) {
  if (ok) return absl::OkStatus();
  return absl::DataLossError(fmt::format("\"{}\" line {} does not parse", file, line_no));
}

// Calls fn(fields, line_no) for each line of a text file.
template <typename Fn>
absl::Status ForEachTsvLine(const std::string& path, Fn fn) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("cannot read \"{}\"", path));
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    std::vector<std::string_view> f;
    std::string_view rest = line;
    for (size_t tab; (tab = rest.find('\t')) != std::string_view::npos;
         rest.remove_prefix(tab + 1)) {
      f.push_back(rest.substr(0, tab));
    }
    f.push_back(rest);
    if (absl::Status st = fn(f, n); !st.ok()) return st;
  }
  if (in.bad()) return absl::InternalError(fmt::format("reading \"{}\" failed", path));
  return absl::OkStatus();
}

// Reads map shard `index`, calling `fn` with each record (which it may change) and counting
// them in `*count`; stops at the first error of reading, parsing or `fn`.
absl::Status ForEachMapRecord(const DatasetOptions& o, int64_t index, int64_t* count,
                              const std::function<absl::Status(fixmine::v1::Record*)>& fn) {
  ZstdLineReader reader;
  std::string input = MapShardPath(o, index);
  if (absl::Status st = reader.Open(input); !st.ok()) return st;
  std::string line;
  while (true) {
    auto more = reader.Next(&line);
    if (!more.ok()) return more.status();
    if (!*more) return absl::OkStatus();
    if (line.empty()) continue;
    auto r = ParseRecord(line, input, *count + 1);
    if (!r.ok()) return r.status();
    ++*count;
    if (absl::Status st = fn(&*r); !st.ok()) return st;
  }
}

// The .done markers of the `count` tasks of a stage, `path(i)` each.
std::vector<std::string> Markers(int64_t count, const std::function<std::string(int64_t)>& path) {
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) out.push_back(path(i));
  return out;
}

// What a stage task leaves when it succeeded: its .done marker's text and its summary line.
struct StageDone {
  std::string marker;
  std::string summary;
};

// Runs one task of `stage` whose completion marker is `done`. The task is skipped (with a line
// in `log`) when the marker exists; it fails FAILED_PRECONDITION when a marker of `need` (of
// the stage `need_stage`) is missing; otherwise `body` runs (the marker's folder made first),
// and when it succeeds its marker is written atomically and its summary logged. A task that
// fails writes no marker, so that a rerun does it again.
absl::Status RunStage(std::string_view stage, const std::string& done,
                      const std::vector<std::string>& need, std::string_view need_stage,
                      std::ostream& log, const std::function<absl::StatusOr<StageDone>()>& body) {
  if (Exists(done)) {
    log << fmt::format("dataset {}: complete ({} exists); skipping\n", stage, done);
    return absl::OkStatus();
  }
  if (absl::Status st = NeedMarkers(need, need_stage); !st.ok()) return st;
  if (absl::Status st = MakeParent(done); !st.ok()) return st;
  absl::StatusOr<StageDone> result = body();
  if (!result.ok()) return result.status();
  if (absl::Status st = WriteAtomically(done, result->marker); !st.ok()) return st;
  log << result->summary;
  return absl::OkStatus();
}

}  // namespace

std::string SplitOf(const DatasetOptions& o, std::string_view repo, int64_t commit_time) {
  if (o.fresh_after && commit_time > *o.fresh_after) return "fresh";
  if (o.split != "repo") return "train";
  // FNV-1a's high bits barely change with the last bytes ("r1", "r2"): mix them (splitmix64's
  // finaliser) before taking the top 53 bits as a fraction.
  uint64_t h = Fnv1a64("split:" + std::string(repo));
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  h ^= h >> 31;
  double u = static_cast<double>(h >> 11) * 0x1.0p-53;
  if (u < o.train) return "train";
  if (u < o.train + o.validation) return "validation";
  return "test";
}

// ---------------------------------------------------------------------------------------------
// signatures: map shard I -> one row per key of each record, in the key's bucket partition.
// Row: KEY \t ID \t AUTHOR_TIME \t REPO \t COMMIT_TIME \t SHARD [\t FINGERPRINT \t SIGNATURE]
// KEY: "f" + fingerprint, "c" + commit id, or "b" + hex of an LSH band bucket (then the row
// carries the record's fingerprint, maybe empty, and its 64-value signature in hex).

absl::Status RunSignaturesTask(const DatasetOptions& o, int64_t index, std::ostream& log) {
  if (absl::Status st = CheckOptions(o); !st.ok()) return st;
  if (absl::Status st = CheckIndex(index, o.map_shards, "the signatures stage (--map-shards)");
      !st.ok()) {
    return st;
  }
  return RunStage(
      "signatures", SignaturesDone(o, index), {MapDonePath(o, index)}, "map (fixmine extract)", log,
      [&]() -> absl::StatusOr<StageDone> {
        std::vector<std::unique_ptr<std::ofstream>> parts;
        std::vector<int64_t> rows(static_cast<size_t>(o.partitions), 0);
        for (int64_t j = 0; j < o.partitions; ++j) {
          parts.push_back(std::make_unique<std::ofstream>(SignaturesPath(o, index, j) + ".tmp",
                                                          std::ios::binary | std::ios::trunc));
          if (!*parts.back()) {
            return absl::InternalError(
                fmt::format("creating \"{}.tmp\" failed", SignaturesPath(o, index, j)));
          }
        }
        int64_t records = 0, with_fp = 0, with_sig = 0;
        std::string node, row;
        absl::Status read = ForEachMapRecord(o, index, &records, [&](fixmine::v1::Record* r) {
          Node n{r->id(), r->author().time(), r->repo(), r->committer().time(), index};
          node.clear();
          AppendNode(n, &node);
          auto emit = [&](const std::string& key, std::string_view extra) {
            auto j = static_cast<size_t>(Fnv1a64(key) % static_cast<uint64_t>(o.partitions));
            row.assign(key);
            row += '\t';
            row += node;
            if (!extra.empty()) {
              row += "\t";
              row += extra;
            }
            row += "\n";
            *parts[j] << row;
            ++rows[j];
          };
          // The store's fingerprint, recomputed when the shard was written without it.
          std::string fp = r->patch_fingerprint();
          if (fp.empty()) fp = curation::PatchFingerprint(*r);
          if (!fp.empty()) {
            ++with_fp;
            emit("f" + fp, "");
          }
          emit("c" + r->commit(), "");
          if (o.near_dup_threshold <= 0) return absl::OkStatus();
          google::protobuf::RepeatedField<uint32_t> sig;
          if (r->minhash_size() == curation::kMinHashSize) {
            sig = r->minhash();
          } else {
            for (uint32_t v : curation::MinHashSignature(*r)) sig.Add(v);
          }
          std::vector<std::string> buckets = storage::keys::LshBucketPrefixes(sig);
          if (buckets.empty()) return absl::OkStatus();
          ++with_sig;
          std::string extra = fp;  // the band rows' fingerprint and signature
          extra += '\t';
          extra += SignatureHex(std::vector<uint32_t>(sig.begin(), sig.end()));
          for (const std::string& b : buckets) emit("b" + HexOf(b), extra);
          return absl::OkStatus();
        });
        if (!read.ok()) return read;
        std::string rows_json;
        for (int64_t j = 0; j < o.partitions; ++j) {
          parts[static_cast<size_t>(j)]->flush();
          if (!*parts[static_cast<size_t>(j)]) {
            return absl::InternalError(
                fmt::format("writing \"{}.tmp\" failed (disk full?)", SignaturesPath(o, index, j)));
          }
          parts[static_cast<size_t>(j)].reset();
          std::string path = SignaturesPath(o, index, j);
          if (absl::Status st = Rename(path + ".tmp", path); !st.ok()) return st;
          rows_json += fmt::format("{}{}", j == 0 ? "" : ",", rows[static_cast<size_t>(j)]);
        }
        return StageDone{
            fmt::format("{{\"stage\":\"signatures\",\"shard_index\":{},\"records\":{},"
                        "\"with_fingerprint\":{},\"with_signature\":{},\"rows\":[{}]}}\n",
                        index, records, with_fp, with_sig, rows_json),
            fmt::format("dataset signatures: shard {} of {}: {} records ({} with a fingerprint, {} "
                        "with a MinHash "
                        "signature) -> {} partitions\n",
                        index, o.map_shards, records, with_fp, with_sig, o.partitions)};
      });
}

// ---------------------------------------------------------------------------------------------
// buckets: partition J of every map shard -> duplicate pairs.
// "E" \t NODE_A \t NODE_B               exact duplicates (B joined to its group's canonical A)
// "N" \t NODE_A \t NODE_B \t EQUAL      MinHash positions equal, at or above the threshold
// "S" \t ID \t SIGNATURE                 the signature of a record in an "N" line

absl::Status RunBucketsTask(const DatasetOptions& o, int64_t index, std::ostream& log) {
  if (absl::Status st = CheckOptions(o); !st.ok()) return st;
  if (absl::Status st = CheckIndex(index, o.partitions, "the buckets stage (--partitions)");
      !st.ok()) {
    return st;
  }
  return RunStage(
      "buckets", PairsDone(o, index),
      Markers(o.map_shards, [&](int64_t i) { return SignaturesDone(o, i); }), "signatures", log,
      [&]() -> absl::StatusOr<StageDone> {
        struct Member {
          Node node;
          std::string fp, sig;  // bucket rows only: fingerprint, signature in hex
        };
        std::map<std::string, std::vector<Member>> groups;
        int64_t rows = 0;
        for (int64_t i = 0; i < o.map_shards; ++i) {
          std::string path = SignaturesPath(o, i, index);
          absl::Status st = ForEachTsvLine(path, [&](const std::vector<std::string_view>& f,
                                                     int64_t n) {
            Member m;
            bool ok = f.size() >= 6 && !f[0].empty() && ParseNode(f, 1, &m.node);
            if (ok && f[0][0] == 'b') {
              ok = f.size() == 8 && f[7].size() == static_cast<size_t>(curation::kMinHashSize) * 8;
            } else {
              ok = ok && f.size() == 6;
            }
            if (ok && f.size() == 8) {
              m.fp = std::string(f[6]);
              m.sig = std::string(f[7]);
            }
            if (absl::Status c = CheckLine(path, n, ok); !c.ok()) return c;
            ++rows;
            groups[std::string(f[0])].push_back(std::move(m));
            return absl::OkStatus();
          });
          if (!st.ok()) return st;
        }
        std::string out;
        int64_t exact = 0, near = 0, compared = 0;
        std::set<std::pair<std::string, std::string>> near_seen;
        std::map<std::string, std::string> sigs;  // id -> signature hex, for the "S" lines
        for (auto& [key, members] : groups) {
          if (members.size() < 2) continue;
          std::sort(members.begin(), members.end(),
                    [](const Member& a, const Member& b) { return NodeBefore(a.node, b.node); });
          if (key[0] == 'f' || key[0] == 'c') {
            for (size_t k = 1; k < members.size(); ++k) {
              if (members[k].node.id == members[0].node.id) continue;
              out += "E\t";
              AppendNode(members[0].node, &out);
              out += "\t";
              AppendNode(members[k].node, &out);
              out += "\n";
              ++exact;
            }
            continue;
          }
          std::vector<std::vector<uint32_t>> decoded(members.size());
          for (size_t k = 0; k < members.size(); ++k) {
            if (!ParseSignature(members[k].sig, &decoded[k])) {
              return absl::DataLossError(
                  fmt::format("a signature of record {} does not parse", members[k].node.id));
            }
          }
          for (size_t a = 0; a < members.size(); ++a) {
            for (size_t b = a + 1; b < members.size() && b <= a + kBucketWindow; ++b) {
              const Node& na = members[a].node;
              const Node& nb = members[b].node;
              if (na.id == nb.id || !near_seen.emplace(na.id, nb.id).second) continue;
              // Exact duplicates of each other: at most one is an exact canonical, so clusters
              // would drop the pair. Left out here, it costs neither the pairs file nor clusters'
              // memory.
              if (!members[a].fp.empty() && members[a].fp == members[b].fp) continue;
              ++compared;
              int equal = curation::MinHashAgreement(decoded[a], decoded[b]);
              if (!curation::IsNearDuplicate(equal, decoded[a].size(), o.near_dup_threshold))
                continue;
              out += "N\t";
              AppendNode(na, &out);
              out += "\t";
              AppendNode(nb, &out);
              out += fmt::format("\t{}\n", equal);
              sigs.emplace(na.id, members[a].sig);
              sigs.emplace(nb.id, members[b].sig);
              ++near;
            }
          }
        }
        for (const auto& [id, sig] : sigs) out += fmt::format("S\t{}\t{}\n", id, sig);
        if (absl::Status st = WriteAtomically(PairsPath(o, index), out); !st.ok()) return st;
        return StageDone{
            fmt::format("{{\"stage\":\"buckets\",\"partition\":{},\"rows\":{},\"keys\":{},"
                        "\"exact_pairs\":{},\"near_pairs\":{},\"compared\":{}}}\n",
                        index, rows, groups.size(), exact, near, compared),
            fmt::format("dataset buckets: partition {} of {}: {} rows, {} keys -> {} exact pairs, "
                        "{} near pairs "
                        "({} compared)\n",
                        index, o.partitions, rows, groups.size(), exact, near, compared)};
      });
}

// ---------------------------------------------------------------------------------------------
// clusters: every pair -> per map shard, the labels of its non-canonical records.
// ID \t KIND ("d" exact, "n" near) \t CANONICAL_ID \t SIMILARITY \t CANONICAL_REPO \t
// CANONICAL_COMMIT_TIME

absl::Status RunClustersTask(const DatasetOptions& o, std::ostream& log) {
  if (absl::Status st = CheckOptions(o); !st.ok()) return st;
  return RunStage(
      "clusters", ClustersDone(o),
      Markers(o.partitions, [&](int64_t j) { return PairsDone(o, j); }), "buckets", log,
      [&]() -> absl::StatusOr<StageDone> {
        std::unordered_map<std::string, Node> nodes;
        std::unordered_map<std::string, std::vector<uint32_t>> sigs;
        Components exact_cc;
        std::vector<std::pair<std::string, std::string>> near_pairs;
        for (int64_t j = 0; j < o.partitions; ++j) {
          std::string path = PairsPath(o, j);
          absl::Status st =
              ForEachTsvLine(path, [&](const std::vector<std::string_view>& f, int64_t n) {
                if (f[0] == "S") {
                  std::vector<uint32_t> sig;
                  bool ok = f.size() == 3 && ParseSignature(f[2], &sig);
                  if (ok) sigs[std::string(f[1])] = std::move(sig);
                  return CheckLine(path, n, ok);
                }
                Node a, b;
                bool ok = (f[0] == "E" && f.size() == 11) || (f[0] == "N" && f.size() == 12);
                ok = ok && ParseNode(f, 1, &a) && ParseNode(f, 6, &b);
                if (absl::Status c = CheckLine(path, n, ok); !c.ok()) return c;
                nodes.emplace(a.id, a);
                nodes.emplace(b.id, b);
                if (f[0] == "E") {
                  exact_cc.Union(a.id, b.id);
                } else {
                  near_pairs.emplace_back(a.id, b.id);
                }
                return absl::OkStatus();
              });
          if (!st.ok()) return st;
        }
        struct Label {
          std::string id, kind, canonical;
          int similarity = 0;
        };
        std::vector<std::vector<Label>> labels(static_cast<size_t>(o.map_shards));
        auto canonical_of = [&](const std::vector<std::string>& members) {
          const Node* best = &nodes.at(members[0]);
          for (const std::string& id : members) {
            if (NodeBefore(nodes.at(id), *best)) best = &nodes.at(id);
          }
          return best;
        };
        std::unordered_map<std::string, bool> removed;
        int64_t exact_clusters = 0, exact_removed = 0;
        for (const auto& [root, members] : exact_cc.Groups()) {
          const Node* canon = canonical_of(members);
          ++exact_clusters;
          for (const std::string& id : members) {
            if (id == canon->id) continue;
            const Node& n = nodes.at(id);
            if (n.shard < 0 || n.shard >= o.map_shards) {
              return absl::DataLossError(fmt::format("record {} names map shard {}", id, n.shard));
            }
            labels[static_cast<size_t>(n.shard)].push_back({id, "d", canon->id, 0});
            removed[id] = true;
            ++exact_removed;
          }
        }
        Components near_cc;
        for (const auto& [a, b] : near_pairs) {
          if (removed.count(a) > 0 || removed.count(b) > 0) continue;  // exact canonicals only
          near_cc.Union(a, b);
        }
        int64_t near_clusters = 0, near_labelled = 0;
        for (const auto& [root, members] : near_cc.Groups()) {
          const Node* canon = canonical_of(members);
          ++near_clusters;
          auto cs = sigs.find(canon->id);
          for (const std::string& id : members) {
            if (id == canon->id) continue;
            auto ms = sigs.find(id);
            if (cs == sigs.end() || ms == sigs.end()) {
              return absl::DataLossError(
                  fmt::format("no signature for record {} or {} in the pairs", id, canon->id));
            }
            const Node& n = nodes.at(id);
            labels[static_cast<size_t>(n.shard)].push_back(
                {id, "n", canon->id,
                 curation::SimilarityPercent(curation::MinHashAgreement(ms->second, cs->second),
                                             cs->second.size())});
            ++near_labelled;
          }
        }
        for (int64_t i = 0; i < o.map_shards; ++i) {
          auto& list = labels[static_cast<size_t>(i)];
          std::sort(list.begin(), list.end(),
                    [](const Label& a, const Label& b) { return a.id < b.id; });
          std::string text;
          for (const Label& l : list) {
            const Node& c = nodes.at(l.canonical);
            text += fmt::format("{}\t{}\t{}\t{}\t{}\t{}\n", l.id, l.kind, l.canonical, l.similarity,
                                c.repo, c.commit_time);
          }
          if (absl::Status st = WriteAtomically(LabelsPath(o, i), text); !st.ok()) return st;
        }
        return StageDone{
            fmt::format("{{\"stage\":\"clusters\",\"records_in_pairs\":{},"
                        "\"exact_clusters\":{},\"exact_removed\":{},\"near_clusters\":{},"
                        "\"near_labelled\":{}}}\n",
                        nodes.size(), exact_clusters, exact_removed, near_clusters, near_labelled),
            fmt::format("dataset clusters: {} exact clusters ({} duplicates removed), {} "
                        "near-duplicate clusters "
                        "({} records labelled)\n",
                        exact_clusters, exact_removed, near_clusters, near_labelled)};
      });
}

namespace {

// The settings that decide what filter keeps and where, recorded in its markers so that the
// card describes what was done (and refuses tasks that disagree).
std::string FilterSettingsJson(const DatasetOptions& o) {
  return fmt::format(
      "{{\"preset\":{},\"split\":{},\"train\":{},\"validation\":{},\"test\":{},"
      "\"fresh_after\":{}}}",
      Quote(o.preset), Quote(o.split), o.train, o.validation, o.test,
      Quote(o.fresh_after ? o.fresh_after_text : ""));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// filter: map shard I and its labels -> the final shards of each split.

absl::Status RunFilterTask(const DatasetOptions& o, int64_t index, std::ostream& log) {
  if (absl::Status st = CheckOptions(o); !st.ok()) return st;
  if (absl::Status st = CheckIndex(index, o.map_shards, "the filter stage (--map-shards)");
      !st.ok()) {
    return st;
  }
  if (o.preset != "none" && !curation::IsPreset(o.preset)) {
    return absl::InvalidArgumentError(
        fmt::format("--preset \"{}\" is unknown; use default, commitpackft or none", o.preset));
  }
  return RunStage(
      "filter", FilterDone(o, index), {ClustersDone(o)}, "clusters", log,
      [&]() -> absl::StatusOr<StageDone> {
        struct Label {
          std::string kind, canonical, canonical_repo;
          int similarity = 0;
          int64_t canonical_time = 0;
        };
        std::unordered_map<std::string, Label> labels;
        std::string labels_path = LabelsPath(o, index);
        absl::Status st =
            ForEachTsvLine(labels_path, [&](const std::vector<std::string_view>& f, int64_t n) {
              Label l;
              int64_t sim = 0;
              bool ok = f.size() == 6 && (f[1] == "d" || f[1] == "n") && ParseInt(f[3], &sim) &&
                        ParseInt(f[5], &l.canonical_time);
              if (ok) {
                l.kind = std::string(f[1]);
                l.canonical = std::string(f[2]);
                l.similarity = static_cast<int>(sim);
                l.canonical_repo = std::string(f[4]);
                labels[std::string(f[0])] = std::move(l);
              }
              return CheckLine(labels_path, n, ok);
            });
        if (!st.ok()) return st;

        std::map<std::string, std::unique_ptr<ZstdFileWriter>> writers;  // split -> writer
        std::vector<std::string> splits;
        for (const char* s : kSplits) {
          std::string name(s);
          if (name == "fresh" && !o.fresh_after) continue;
          if ((name == "validation" || name == "test") && o.split != "repo") continue;
          splits.push_back(name);
        }
        for (const std::string& s : splits) {
          std::string path = o.dir + "/" + DataFile(o, s, index);
          if (absl::Status m = MakeParent(path); !m.ok()) return m;
          auto w = std::make_unique<ZstdFileWriter>();
          if (absl::Status w_st = w->Open(path + ".tmp"); !w_st.ok()) return w_st;
          writers[s] = std::move(w);
        }
        int64_t records = 0, removed = 0, cross_split = 0, preset_dropped = 0;
        std::map<std::string, int64_t> kept;  // split -> records
        std::map<std::string, std::map<std::string, int64_t>> langs, label_counts;  // name -> split
        std::string out;
        absl::Status read = ForEachMapRecord(o, index, &records, [&](fixmine::v1::Record* r) {
          r->clear_duplicate_of();
          r->clear_near_duplicate_of();
          r->clear_near_duplicate_similarity();
          r->clear_minhash();
          std::string split = SplitOf(o, r->repo(), r->committer().time());
          if (auto it = labels.find(r->id()); it != labels.end()) {
            const Label& l = it->second;
            if (l.kind == "d") {
              ++removed;  // canonical records only
              return absl::OkStatus();
            }
            if (SplitOf(o, l.canonical_repo, l.canonical_time) != split) {
              ++cross_split;  // a near duplicate never sits in another split than its canonical
              return absl::OkStatus();
            }
            r->set_near_duplicate_of(l.canonical);
            r->set_near_duplicate_similarity(l.similarity);
          }
          if (o.preset != "none" && !curation::PassesPreset(*r, o.preset)) {
            ++preset_dropped;
            return absl::OkStatus();
          }
          ++kept[split];
          std::set<std::string> record_langs;
          for (const auto& f : r->files())
            record_langs.insert(f.language().empty() ? "unknown" : f.language());
          for (const std::string& l : record_langs) ++langs[l][split];
          auto count = [&](bool yes, const char* name) {
            if (yes) ++label_counts[name][split];
          };
          count(r->labels().is_fix(), "is_fix");
          count(r->labels().is_revert(), "is_revert");
          count(r->labels().is_bot(), "is_bot");
          count(!r->near_duplicate_of().empty(), "near_duplicate");
          count(r->secrets_found(), "secrets_found");
          count(!r->trajectory_id().empty(), "trajectory_step");
          out.clear();
          AppendRecordJsonLine(*r, &out);
          return writers.at(split)->Write(out);
        });
        if (!read.ok()) return read;
        std::string files_json;
        for (const std::string& s : splits) {
          if (absl::Status c = writers.at(s)->Close(); !c.ok()) return c;
          std::string path = o.dir + "/" + DataFile(o, s, index);
          if (absl::Status rn = Rename(path + ".tmp", path); !rn.ok()) return rn;
          files_json +=
              fmt::format("{}{}:{{\"split\":{},\"records\":{}}}", files_json.empty() ? "" : ",",
                          Quote(DataFile(o, s, index)), Quote(s), kept[s]);
        }
        auto nested = [](const std::map<std::string, std::map<std::string, int64_t>>& m) {
          std::string text;
          for (const auto& [name, per_split] : m) {
            std::string inner;
            for (const auto& [split, n] : per_split) {
              inner += fmt::format("{}{}:{}", inner.empty() ? "" : ",", Quote(split), n);
            }
            text += fmt::format("{}{}:{{{}}}", text.empty() ? "" : ",", Quote(name), inner);
          }
          return text;
        };
        int64_t total_kept = 0;
        for (const auto& [s, n] : kept) total_kept += n;
        return StageDone{
            fmt::format("{{\"stage\":\"filter\",\"shard_index\":{},\"input_records\":{},"
                        "\"kept\":{},\"exact_duplicates_removed\":{},\"cross_split_dropped\":{},"
                        "\"preset_dropped\":{},\"files\":{{{}}},\"languages\":{{{}}},"
                        "\"labels\":{{{}}},\"settings\":{}}}\n",
                        index, records, total_kept, removed, cross_split, preset_dropped,
                        files_json, nested(langs), nested(label_counts), FilterSettingsJson(o)),
            fmt::format(
                "dataset filter: shard {} of {}: {} records -> {} kept; {} exact duplicates "
                "removed, {} "
                "near duplicates in another split than their canonical, {} dropped by preset {}\n",
                index, o.map_shards, records, total_kept, removed, cross_split, preset_dropped,
                o.preset)};
      });
}

// ---------------------------------------------------------------------------------------------
// card: the filter markers (and the map and clusters markers) -> README.md and stats.json.

namespace {

using Nested = std::map<std::string, std::map<std::string, int64_t>>;

void AddNested(const google::protobuf::Struct& s, const std::string& key, Nested* out) {
  auto it = s.fields().find(key);
  if (it == s.fields().end()) return;
  for (const auto& name_kv : it->second.struct_value().fields()) {
    for (const auto& split_kv : name_kv.second.struct_value().fields()) {
      (*out)[name_kv.first][split_kv.first] += static_cast<int64_t>(split_kv.second.number_value());
    }
  }
}

std::string NestedJson(const Nested& m) {
  std::string text;
  for (const auto& [name, per_split] : m) {
    std::string inner;
    for (const auto& [split, n] : per_split) {
      inner += fmt::format("{}{}:{}", inner.empty() ? "" : ",", Quote(split), n);
    }
    text += fmt::format("{}\n    {}:{{{}}}", text.empty() ? "" : ",", Quote(name), inner);
  }
  return "{" + text + "\n  }";
}

// A Markdown table: one row per name, one column per split, and a total.
std::string NestedTable(std::string_view what, const Nested& m,
                        const std::vector<std::string>& splits) {
  std::string head = fmt::format("| {} |", what), rule = "|---|";
  for (const std::string& s : splits) {
    head += fmt::format(" {} |", s);
    rule += "---:|";
  }
  head += " total |\n";
  rule += "---:|\n";
  std::string rows;
  for (const auto& [name, per_split] : m) {
    int64_t total = 0;
    rows += fmt::format("| {} |", name);
    for (const std::string& s : splits) {
      auto it = per_split.find(s);
      int64_t n = it == per_split.end() ? 0 : it->second;
      total += n;
      rows += fmt::format(" {} |", n);
    }
    rows += fmt::format(" {} |\n", total);
  }
  if (rows.empty()) return "(none)\n";
  return head + rule + rows;
}

}  // namespace

absl::Status RunCardTask(const DatasetOptions& given, std::ostream& log) {
  DatasetOptions o = given;  // the filter's settings are taken from its markers
  if (absl::Status st = CheckOptions(o); !st.ok()) return st;
  return RunStage(
      "card", CardDone(o), Markers(o.map_shards, [&](int64_t i) { return FilterDone(o, i); }),
      "filter", log, [&]() -> absl::StatusOr<StageDone> {
        std::map<std::string, std::pair<std::string, int64_t>> files;  // path -> split, records
        std::map<std::string, int64_t> split_records;
        Nested langs, labels;
        int64_t input = 0, removed = 0, cross = 0, preset_dropped = 0;
        std::string filter_settings;
        for (int64_t i = 0; i < o.map_shards; ++i) {
          auto m = ReadMarker(FilterDone(o, i));
          if (!m.ok()) return m.status();
          input += Int(*m, "input_records");
          removed += Int(*m, "exact_duplicates_removed");
          cross += Int(*m, "cross_split_dropped");
          preset_dropped += Int(*m, "preset_dropped");
          auto settings = m->fields().find("settings");
          if (settings == m->fields().end()) {
            return absl::DataLossError(
                fmt::format("the marker \"{}\" has no \"settings\"", FilterDone(o, i)));
          }
          const auto& sf = settings->second.struct_value().fields();
          auto text = [&sf](const char* key) {
            auto it = sf.find(key);
            return it == sf.end() ? std::string() : it->second.string_value();
          };
          auto number = [&sf](const char* key) {
            auto it = sf.find(key);
            return it == sf.end() ? 0.0 : it->second.number_value();
          };
          std::string these =
              fmt::format("--preset {} --split {} --split-fractions {},{},{}{}", text("preset"),
                          text("split"), number("train"), number("validation"), number("test"),
                          text("fresh_after").empty() ? std::string()
                                                      : " --fresh-after " + text("fresh_after"));
          if (i == 0) {
            o.preset = text("preset");
            o.split = text("split");
            o.train = number("train");
            o.validation = number("validation");
            o.test = number("test");
            o.fresh_after_text = text("fresh_after");
            if (o.fresh_after_text.empty()) {
              o.fresh_after.reset();
            } else {
              o.fresh_after = 0;  // only whether there is a cutoff matters here
            }
            filter_settings = these;
          } else if (these != filter_settings) {
            return absl::FailedPreconditionError(
                fmt::format("filter task 0 ran with \"{}\" but task {} with \"{}\"; rerun the "
                            "filter stage with "
                            "one set of flags (delete DIR/stages/filter and DIR/data)",
                            filter_settings, i, these));
          }
          if (auto it = m->fields().find("files"); it != m->fields().end()) {
            for (const auto& file_kv : it->second.struct_value().fields()) {
              const std::string& path = file_kv.first;
              const auto& ff = file_kv.second.struct_value().fields();
              std::string split = ff.at("split").string_value();
              auto n = static_cast<int64_t>(ff.at("records").number_value());
              files[path] = {split, n};
              split_records[split] += n;
            }
          }
          AddNested(*m, "languages", &langs);
          AddNested(*m, "labels", &labels);
        }
        int64_t repos = 0, failed = 0, commits = 0, contaminated = 0, map_records = 0;
        for (int64_t i = 0; i < o.map_shards; ++i) {
          auto m = ReadMarker(MapDonePath(o, i));
          if (!m.ok()) return m.status();
          repos += Int(*m, "repos");
          commits += Int(*m, "commits");
          contaminated += Int(*m, "contaminated");
          map_records += Int(*m, "records");
          if (auto it = m->fields().find("failed"); it != m->fields().end()) {
            failed += it->second.list_value().values_size();
          }
        }
        if (o.command.empty()) {
          o.command = fmt::format(
              "fixmine extract --repo-list REPOS --shard-count {} --out {}/map\n"
              "fixmine dataset {{signatures,buckets,clusters,filter,card}} --dir {} --map-shards "
              "{} "
              "--partitions {} --near-dup-threshold {}\n# filter: {}",
              o.map_shards, o.dir, o.dir, o.map_shards, o.partitions, o.near_dup_threshold,
              filter_settings);
        }
        auto clusters = ReadMarker(ClustersDone(o));
        if (!clusters.ok()) return clusters.status();

        std::vector<std::string> splits;  // in the card's order, the non-empty ones
        for (const char* s : kSplits) {
          if (split_records[s] > 0) splits.emplace_back(s);
        }
        int64_t kept = 0;
        for (const auto& [s, n] : split_records) kept += n;

        std::string splits_json, files_json;
        for (const char* s : kSplits) {
          if (split_records.count(s) == 0) continue;
          splits_json += fmt::format("{}\n    {}:{}", splits_json.empty() ? "" : ",", Quote(s),
                                     split_records[s]);
        }
        for (const auto& [path, f] : files) {
          files_json +=
              fmt::format("{}\n    {}:{{\"split\":{},\"records\":{}}}",
                          files_json.empty() ? "" : ",", Quote(path), Quote(f.first), f.second);
        }
        std::string fresh = o.fresh_after ? Quote(o.fresh_after_text) : "null";
        std::string stats = fmt::format(
            "{{\n  \"records\":{},\n  \"splits\":{{{}\n  }},\n  \"files\":{{{}\n  }},\n"
            "  \"languages\":{},\n  \"labels\":{},\n"
            "  "
            "\"map\":{{\"shards\":{},\"repositories\":{},\"repositories_failed\":{},\"commits\":{},"
            "\"records\":{}}},\n"
            "  "
            "\"dedup\":{{\"input_records\":{},\"exact_clusters\":{},\"exact_duplicates_removed\":{}"
            ","
            "\"near_duplicate_clusters\":{},\"near_duplicates_labelled\":{},"
            "\"near_duplicates_dropped_across_splits\":{},\"near_dup_threshold\":{},"
            "\"bucket_partitions\":{}}},\n"
            "  \"decontamination\":{{\"contaminated_left_out\":{},\"fresh_after\":{},"
            "\"fresh_records\":{}}},\n"
            "  \"filter\":{{\"preset\":{},\"dropped_by_preset\":{},\"split\":{},"
            "\"fractions\":{{\"train\":{},\"validation\":{},\"test\":{}}}}},\n"
            "  \"command\":{}\n}}\n",
            kept, splits_json, files_json, NestedJson(langs), NestedJson(labels), o.map_shards,
            repos, failed, commits, map_records, input, Int(*clusters, "exact_clusters"), removed,
            Int(*clusters, "near_clusters"), Int(*clusters, "near_labelled"), cross,
            o.near_dup_threshold, o.partitions, contaminated, fresh, split_records["fresh"],
            Quote(o.preset), preset_dropped, Quote(o.split), o.train, o.validation, o.test,
            Quote(o.command));

        std::string card =
            "---\npretty_name: fixmine code-fix records\ntags:\n- code\n- git\n"
            "- commits\n- fixmine\nconfigs:\n- config_name: default\n  data_files:\n";
        for (const std::string& s : splits) {
          card += fmt::format("  - split: {}\n    path: data/{}-*.jsonl.zst\n", s, s);
        }
        card += "dataset_info:\n  config_name: default\n  splits:\n";
        for (const std::string& s : splits) {
          card += fmt::format("  - name: {}\n    num_examples: {}\n", s, split_records[s]);
        }
        card += "---\n\n# fixmine code-fix records\n\n";
        card += fmt::format(
            "Records mined from git histories by fixmine (one JSON object per non-merge commit, "
            "the "
            "proto field names of `fixmine.v1.Record`), deduplicated across the whole corpus (one "
            "canonical record per duplicate group). {} records from {} repositories ({} failed) "
            "and "
            "{} commits.\n\n",
            kept, repos, failed, commits);
        card += "Load it with `datasets.load_dataset(\"json\", data_files={";
        for (size_t k = 0; k < splits.size(); ++k) {
          card += fmt::format("{}\"{}\": \"data/{}-*.jsonl.zst\"", k == 0 ? "" : ", ", splits[k],
                              splits[k]);
        }
        card +=
            "})`, or load this folder.\n\n## How it was made\n\n```sh\n" + o.command + "\n```\n\n";
        card += "## Splits\n\n| split | records | files |\n|---|---:|---:|\n";
        for (const std::string& s : splits) {
          int64_t n_files = 0;
          for (const auto& [path, f] : files) n_files += f.first == s;
          card += fmt::format("| {} | {} | {} |\n", s, split_records[s], n_files);
        }
        card += fmt::format(
            "\nSplit rule: {}{}. A near duplicate whose canonical record falls in another split is "
            "left out ({} records), so no duplicate straddles two splits.\n",
            o.split == "repo"
                ? fmt::format("repository-disjoint by a hash of the repository name (train {}, "
                              "validation {}, test {})",
                              o.train, o.validation, o.test)
                : std::string("all in train"),
            o.fresh_after ? fmt::format("; records committed after {} are in `fresh` (newer than "
                                        "the training data: decontamination by time)",
                                        o.fresh_after_text)
                          : std::string(),
            cross);
        card += "\n## Languages\n\nA record counts once for each language among its files.\n\n";
        card += NestedTable("language", langs, splits);
        card += "\n## Labels\n\n";
        card += NestedTable("label", labels, splits);
        card += fmt::format(
            "\n## Dedup and decontamination\n\n"
            "| figure | value |\n|---|---:|\n"
            "| records mined | {} |\n"
            "| exact-duplicate clusters | {} |\n"
            "| exact duplicates removed (only the canonical record kept) | {} |\n"
            "| near-duplicate clusters (threshold {}) | {} |\n"
            "| near duplicates labelled (`near_duplicate_of`, kept) | {} |\n"
            "| near duplicates left out across splits | {} |\n"
            "| dropped by preset `{}` | {} |\n"
            "| contaminated by a benchmark, left out | {} |\n"
            "| records in `fresh` | {} |\n\n"
            "Canonical rule: exact duplicates share a patch fingerprint or a commit id across "
            "repositories; the canonical record is the earliest by author time, then the smallest "
            "record id; the others name it in `duplicate_of` and are not in this dataset.\n",
            input, Int(*clusters, "exact_clusters"), removed, o.near_dup_threshold,
            Int(*clusters, "near_clusters"), Int(*clusters, "near_labelled"), cross, o.preset,
            preset_dropped, contaminated, split_records["fresh"]);

        if (absl::Status st = WriteAtomically(o.dir + "/stats.json", stats); !st.ok()) return st;
        if (absl::Status st = WriteAtomically(o.dir + "/README.md", card); !st.ok()) return st;
        return StageDone{
            "{\"stage\":\"card\"}\n",
            fmt::format("dataset card: {} records in {} splits -> {}/README.md, {}/stats.json\n",
                        kept, splits.size(), o.dir, o.dir)};
      });
}

}  // namespace fixmine::client
