#pragma once

// The canonical-record rule of dedup (docs/curation.md, "Canonical records"), shared by the
// server's store (storage/dedup_index.cc) and the offline sharded dedup stages, so that both
// label the same corpus the same way whatever the order, sharding or batching. Header-only,
// pure functions; thread-safe.
//
// The rule:
//  - Exact-duplicate group: records joined, transitively, by an equal non-empty
//    patch_fingerprint or by an equal commit id (necessarily in different repositories).
//  - Its canonical record: the least by CanonicalBefore (earliest author time in seconds, then
//    smallest record id compared bytewise). Every other member gets duplicate_of = its id.
//  - Near duplicates: among exact canonicals with a MinHash signature only, every pair with
//    IsNearDuplicate(agreement) (in practice the pairs that share an LSH bucket) is an edge;
//    the connected components of those edges are the near groups. A group's canonical is its
//    least member by CanonicalBefore; every other member gets near_duplicate_of = its id and
//    near_duplicate_similarity = SimilarityPercent of its agreement with it (which may be
//    below the threshold when the two are joined through others).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fixmine::curation {

// True when the record (author time `time_a` in Unix seconds, id `id_a`) comes before the
// record (`time_b`, `id_b`) in the canonical order: earlier author time first, then the
// smaller id, bytes compared as unsigned. A strict weak order; the least record of a group is
// its canonical.
inline bool CanonicalBefore(int64_t time_a, std::string_view id_a, int64_t time_b,
                            std::string_view id_b) {
  if (time_a != time_b) return time_a < time_b;
  return id_a < id_b;  // char_traits<char>::compare compares as unsigned char
}

// The number of positions at which two MinHash signatures agree; -1 when their sizes differ
// or either is empty (no estimate).
template <typename A, typename B>
int MinHashAgreement(const A& a, const B& b) {
  if (a.size() != b.size() || a.empty()) return -1;
  int equal = 0;
  auto ib = b.begin();
  for (auto ia = a.begin(); ia != a.end(); ++ia, ++ib) equal += *ia == *ib;
  return equal;
}

// True when `equal` agreeing positions of `size` make a near-duplicate pair at `threshold`
// (estimated Jaccard similarity, 0 to 1): equal / size >= threshold. Never for a threshold of
// 0 or less (the check is off) or for no estimate (equal < 0).
inline bool IsNearDuplicate(int equal, size_t size, double threshold) {
  if (threshold <= 0 || equal < 0 || size == 0) return false;
  return static_cast<double>(equal) / static_cast<double>(size) >= threshold;
}

// The estimate `equal` / `size` in percent, rounded half up; 0 for no estimate.
inline int32_t SimilarityPercent(int equal, size_t size) {
  if (equal < 0 || size == 0) return 0;
  return static_cast<int32_t>((static_cast<size_t>(equal) * 100 + size / 2) / size);
}

}  // namespace fixmine::curation
