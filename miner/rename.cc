// Rename detection written from git's documented behaviour of diffcore-rename (git 2.32+):
// exact matches, then unique-basename matches, then a scored matrix keeping the best few
// candidates per destination.
#include "miner/rename.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <unordered_map>

#include "miner/binary_probe.h"

namespace fixmine::miner {
namespace {

constexpr uint32_t kHashBase = 107927;
constexpr int kChunkMax = 64;
constexpr size_t kCandidatesPerDestination = 4;
// How many identical sources one destination looks at, at most.
constexpr int kExactAlternatives = 100;
constexpr size_t kBigFileThreshold = size_t{512} << 20;

bool IsRegular(uint32_t mode) { return (mode & 0170000) == 0100000; }

std::string_view Basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// 1 when both paths have the same last component, else 0.
int BasenameSame(std::string_view a, std::string_view b) { return Basename(a) == Basename(b); }

bool IsBinary(std::string_view data) {
  if (data.size() > kBigFileThreshold) return true;
  return LooksBinary(data);
}

using Hashes = std::vector<std::pair<uint32_t, uint32_t>>;

// A candidate in the score matrix. `destination` < 0 marks an empty slot.
struct Candidate {
  int score = 0;
  int name_score = 0;
  long destination = -1;
  size_t source = 0;
};

// Negative when `a` ranks before `b`: filled slots first, higher score, then same basename.
int Rank(const Candidate& a, const Candidate& b) {
  if (a.destination < 0) return b.destination >= 0 ? 1 : 0;
  if (b.destination < 0) return -1;
  if (a.score == b.score) return b.name_score - a.name_score;
  return b.score - a.score;
}

void KeepIfBetter(Candidate* slots, const Candidate& c) {
  size_t worst = 0;
  for (size_t i = 1; i < kCandidatesPerDestination; ++i) {
    if (Rank(slots[i], slots[worst]) > 0) worst = i;
  }
  if (Rank(slots[worst], c) > 0) slots[worst] = c;
}

class Detector {
 public:
  Detector(const std::vector<RenameEntry>& src, const std::vector<RenameEntry>& dst,
           const RenameOptions& opt, const BlobReader& read)
      : src_(src),
        dst_(dst),
        opt_(opt),
        read_(read),
        src_used_(src.size(), false),
        dst_done_(dst.size(), false),
        src_data_(src.size()),
        dst_data_(dst.size()) {}

  absl::StatusOr<RenameResult> Run() {
    if (src_.empty() || dst_.empty()) return std::move(result_);
    Exact();
    int min_score = opt_.min_score_percent * kMaxScore / 100;
    if (min_score <= 0) min_score = kMaxScore / 2;
    int min_basename_score = min_score + static_cast<int>(0.5 * (kMaxScore - min_score));
    if (auto st = Basenames(min_basename_score); !st.ok()) return st;
    if (auto st = Matrix(min_score); !st.ok()) return st;
    return std::move(result_);
  }

 private:
  struct Data {
    bool loaded = false;
    std::string_view bytes;
    std::optional<Hashes> hashes;
  };

  void Record(size_t s, size_t d, int score) {
    src_used_[s] = true;
    dst_done_[d] = true;
    result_.pairs.push_back({s, d, score});
  }

  void Exact() {
    std::unordered_map<std::string, std::vector<size_t>> by_id;
    for (size_t i = 0; i < src_.size(); ++i) {
      by_id[std::string(reinterpret_cast<const char*>(src_[i].id.id), GIT_OID_RAWSZ)].push_back(i);
    }
    for (size_t d = 0; d < dst_.size(); ++d) {
      auto it =
          by_id.find(std::string(reinterpret_cast<const char*>(dst_[d].id.id), GIT_OID_RAWSZ));
      if (it == by_id.end()) continue;
      long best = -1;
      int best_score = -1;
      int tries = kExactAlternatives;
      for (size_t s : it->second) {
        // Symlinks and gitlinks pair only with the same kind of entry.
        if ((!IsRegular(src_[s].mode) || !IsRegular(dst_[d].mode)) &&
            src_[s].mode != dst_[d].mode) {
          continue;
        }
        if (src_used_[s]) continue;
        int score = 1 + BasenameSame(src_[s].path, dst_[d].path);
        if (score > best_score) {
          best = static_cast<long>(s);
          best_score = score;
          if (score == 2) break;
        }
        if (--tries == 0) break;
      }
      if (best >= 0) Record(static_cast<size_t>(best), d, kMaxScore);
    }
  }

  absl::Status Load(bool source, size_t i, Data** out) {
    Data& d = source ? src_data_[i] : dst_data_[i];
    if (!d.loaded) {
      absl::StatusOr<std::string_view> bytes = read_(source ? src_[i].id : dst_[i].id);
      if (!bytes.ok()) return bytes.status();
      d.bytes = *bytes;
      d.loaded = true;
    }
    *out = &d;
    return absl::OkStatus();
  }

  const Hashes& HashesOf(Data* d) {
    if (!d->hashes) d->hashes = SpanHashes(d->bytes, !IsBinary(d->bytes));
    return *d->hashes;
  }

  // git's estimate_similarity: 0 for anything but two regular files or sizes too far apart.
  absl::StatusOr<int> Estimate(size_t s, size_t d, int min_score) {
    if (!IsRegular(src_[s].mode) || !IsRegular(dst_[d].mode)) return 0;
    Data* a = nullptr;
    Data* b = nullptr;
    if (auto st = Load(true, s, &a); !st.ok()) return st;
    if (auto st = Load(false, d, &b); !st.ok()) return st;
    uint64_t max_size = std::max(a->bytes.size(), b->bytes.size());
    uint64_t base_size = std::min(a->bytes.size(), b->bytes.size());
    uint64_t delta = max_size - base_size;
    if (max_size * static_cast<uint64_t>(kMaxScore - min_score) <
        delta * static_cast<uint64_t>(kMaxScore)) {
      return 0;
    }
    if (b->bytes.empty()) return 0;
    uint64_t copied = CopiedBytes(HashesOf(a), HashesOf(b));
    return static_cast<int>(copied * kMaxScore / max_size);
  }

  absl::Status Basenames(int min_score) {
    // Basename -> index, or -1 when the basename is not unique on its side.
    std::unordered_map<std::string_view, long> sources, dests;
    for (size_t i = 0; i < src_.size(); ++i) {
      if (src_used_[i]) continue;
      auto [it, fresh] = sources.emplace(Basename(src_[i].path), static_cast<long>(i));
      if (!fresh) it->second = -1;
    }
    for (size_t i = 0; i < dst_.size(); ++i) {
      if (dst_done_[i]) continue;
      auto [it, fresh] = dests.emplace(Basename(dst_[i].path), static_cast<long>(i));
      if (!fresh) it->second = -1;
    }
    for (size_t i = 0; i < src_.size(); ++i) {
      if (src_used_[i]) continue;
      std::string_view base = Basename(src_[i].path);
      auto d = dests.find(base);
      if (d == dests.end()) continue;
      if (sources.at(base) < 0 || d->second < 0) continue;
      auto di = static_cast<size_t>(d->second);
      if (dst_done_[di]) continue;
      absl::StatusOr<int> score = Estimate(i, di, min_score);
      if (!score.ok()) return score.status();
      if (*score < min_score) continue;
      Record(i, di, *score);
    }
    return absl::OkStatus();
  }

  absl::Status Matrix(int min_score) {
    std::vector<size_t> srcs, dsts;
    for (size_t i = 0; i < src_.size(); ++i) {
      if (!src_used_[i]) srcs.push_back(i);
    }
    for (size_t i = 0; i < dst_.size(); ++i) {
      if (!dst_done_[i]) dsts.push_back(i);
    }
    if (srcs.empty() || dsts.empty()) return absl::OkStatus();
    if (opt_.rename_limit > 0) {
      auto limit = static_cast<uint64_t>(opt_.rename_limit);
      if (static_cast<uint64_t>(srcs.size()) * dsts.size() > limit * limit) {
        result_.inexact_skipped = true;
        return absl::OkStatus();
      }
    }
    std::vector<Candidate> mx(dsts.size() * kCandidatesPerDestination);
    for (size_t k = 0; k < dsts.size(); ++k) {
      size_t d = dsts[k];
      Candidate* slots = &mx[k * kCandidatesPerDestination];
      for (size_t s : srcs) {
        absl::StatusOr<int> score = Estimate(s, d, min_score);
        if (!score.ok()) return score.status();
        Candidate c;
        c.score = *score;
        c.name_score = BasenameSame(src_[s].path, dst_[d].path);
        c.destination = static_cast<long>(d);
        c.source = s;
        KeepIfBetter(slots, c);
      }
    }
    std::stable_sort(mx.begin(), mx.end(),
                     [](const Candidate& a, const Candidate& b) { return Rank(a, b) < 0; });
    for (const Candidate& c : mx) {
      if (c.destination < 0 || c.score < min_score) break;
      auto d = static_cast<size_t>(c.destination);
      if (dst_done_[d] || src_used_[c.source]) continue;
      Record(c.source, d, c.score);
    }
    return absl::OkStatus();
  }

  const std::vector<RenameEntry>& src_;
  const std::vector<RenameEntry>& dst_;
  const RenameOptions& opt_;
  const BlobReader& read_;
  std::vector<bool> src_used_;
  std::vector<bool> dst_done_;
  std::vector<Data> src_data_;
  std::vector<Data> dst_data_;
  RenameResult result_;
};

}  // namespace

std::vector<std::pair<uint32_t, uint32_t>> SpanHashes(std::string_view data, bool is_text) {
  Hashes chunks;
  uint32_t acc1 = 0, acc2 = 0;
  uint32_t n = 0;
  const size_t size = data.size();
  for (size_t i = 0; i < size; ++i) {
    uint32_t c = static_cast<unsigned char>(data[i]);
    if (is_text && c == '\r' && i + 1 < size && data[i + 1] == '\n') continue;
    uint32_t old1 = acc1;
    acc1 = (acc1 << 7) ^ (acc2 >> 25);
    acc2 = (acc2 << 7) ^ (old1 >> 25);
    acc1 += c;
    if (++n < kChunkMax && c != '\n') continue;
    chunks.emplace_back((acc1 + acc2 * 0x61) % kHashBase, n);
    n = 0;
    acc1 = acc2 = 0;
  }
  if (n > 0) chunks.emplace_back((acc1 + acc2 * 0x61) % kHashBase, n);
  std::sort(chunks.begin(), chunks.end());
  Hashes out;
  for (const auto& [h, cnt] : chunks) {
    if (!out.empty() && out.back().first == h) {
      out.back().second += cnt;
    } else {
      out.emplace_back(h, cnt);
    }
  }
  return out;
}

uint64_t CopiedBytes(const std::vector<std::pair<uint32_t, uint32_t>>& src,
                     const std::vector<std::pair<uint32_t, uint32_t>>& dst) {
  uint64_t copied = 0;
  size_t i = 0, j = 0;
  while (i < src.size() && j < dst.size()) {
    if (src[i].first < dst[j].first) {
      ++i;
    } else if (src[i].first > dst[j].first) {
      ++j;
    } else {
      copied += std::min(src[i].second, dst[j].second);
      ++i;
      ++j;
    }
  }
  return copied;
}

absl::StatusOr<RenameResult> FindRenames(const std::vector<RenameEntry>& sources,
                                         const std::vector<RenameEntry>& destinations,
                                         const RenameOptions& options, const BlobReader& read) {
  Detector d(sources, destinations, options, read);
  return d.Run();
}

}  // namespace fixmine::miner
