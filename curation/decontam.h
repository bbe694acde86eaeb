#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "fixmine/v1/records.pb.h"

namespace fixmine::curation {

// Benchmark decontamination (docs/curation.md, "Decontamination"): n-grams over normalised
// code tokens.
inline constexpr int kDefaultNgram = 13;

// Splits `text` into normalised tokens: identifiers ([A-Za-z_$] then [A-Za-z0-9_$], bytes >=
// 0x80 count as letters) ASCII-lower-cased; numbers (a digit, then letters, digits, '_' and
// '.'); every other non-white-space byte is a token of its own. White space separates tokens
// and is dropped; comments are tokens like any other text. Thread-safe.
std::vector<std::string> CodeTokens(std::string_view text);

// The 64-bit hash of the n-gram `tokens[begin, begin + n)`: FNV-1a over the tokens, each
// followed by a 0x1f byte. Stable across runs and builds (it is stored).
uint64_t NgramHash(const std::vector<std::string>& tokens, size_t begin, size_t n);

// Hashes of every n-gram of `text`'s tokens, each once (none when there are fewer than n).
std::vector<uint64_t> NgramHashes(std::string_view text, int n);

// Where an n-gram came from.
struct NgramSource {
  std::string benchmark;
  std::string item;
};

// The n-grams of every loaded benchmark, by n. Not thread-safe to modify; const methods may be
// called from any thread.
class NgramIndex {
 public:
  // Adds the n-gram `hash` of size `n` from (`benchmark`, `item`); the first source of a hash
  // and benchmark is kept.
  void Add(int n, uint64_t hash, const std::string& benchmark, const std::string& item);
  // True when nothing is loaded.
  bool empty() const { return by_n_.empty(); }
  // Replaces `record`'s contamination with one entry per (benchmark, item) whose n-grams occur
  // in its message, its added lines or a pre-image (old_content), the first matching n-gram's
  // tokens joined by single spaces as evidence. Returns true when the entries changed.
  bool Check(fixmine::v1::Record* record) const;

 private:
  // n -> hash -> sources (n in order, so the entries' order is stable).
  std::map<int, absl::flat_hash_map<uint64_t, std::vector<NgramSource>>> by_n_;
};

}  // namespace fixmine::curation
