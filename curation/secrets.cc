#include "curation/secrets.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FIXMINE_SECRETS_AVX2 1
#endif

#include "absl/strings/ascii.h"
#include "re2/re2.h"

namespace fixmine::curation {
namespace {

struct TokenRule {
  std::string_view kind;
  const RE2* re;  // the secret is capture group 1
};

const std::array<TokenRule, 3>& TokenRules() {
  static const std::array<TokenRule, 3> rules = {
      TokenRule{"aws_access_key", new RE2("\\b((?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16})\\b")},
      TokenRule{
          "github_token",
          new RE2("\\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})")},
      TokenRule{"gitlab_token", new RE2("\\b(glpat-[A-Za-z0-9_-]{20,})")},
  };
  return rules;
}

// NAME = "VALUE" / NAME: 'VALUE' where NAME mentions a secret; the value is group 1.
const RE2& Assignment() {
  static const RE2 re(
      "(?i)(?:secret|token|passw(?:or)?d|pwd|api_?key|apikey|access_?key|private_?key|"
      "client_?secret|auth)[\\w.-]*[\"']?\\s*(?::=|=>|=|:)\\s*[\"']([^\"'\\s]+)[\"']");
  return re;
}

const RE2& KeyBegin() {
  static const RE2 re("-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----");
  return re;
}
const RE2& KeyEnd() {
  static const RE2 re("-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----");
  return re;
}

std::string Placeholder(std::string_view kind) { return "<REDACTED:" + std::string(kind) + ">"; }

// Replaces every occurrence of `secret` in `line` by the placeholder of `kind`. An occurrence
// followed by more token characters (letters, digits, '_', '-': a longer string that starts
// with the secret) is replaced with that tail, so no part of a token survives redaction.
void ReplaceAll(std::string* line, const std::string& secret, std::string_view kind) {
  std::string ph = Placeholder(kind);
  size_t pos = 0;
  while ((pos = line->find(secret, pos)) != std::string::npos) {
    size_t end = pos + secret.size();
    while (end < line->size() && (absl::ascii_isalnum(static_cast<unsigned char>((*line)[end])) ||
                                  (*line)[end] == '_' || (*line)[end] == '-')) {
      ++end;
    }
    line->replace(pos, end - pos, ph);
    pos += ph.size();
  }
}

// Scans one line (no newline). `in_key` carries a private key block across lines.
bool ScanLine(std::string* line, bool redact, bool* in_key, std::set<std::string>* kinds) {
  bool found = false;
  re2::StringPiece whole(*line);
  if (*in_key) {
    found = true;
    if (RE2::PartialMatch(whole, KeyEnd())) {
      *in_key = false;
    } else if (redact) {
      // Keep a diff line's prefix character so the patch keeps its shape.
      size_t keep =
          !line->empty() && (line->front() == '+' || line->front() == '-' || line->front() == ' ')
              ? 1
              : 0;
      size_t body = line->find_first_not_of(" \t", keep);
      if (body != std::string::npos)
        line->replace(body, std::string::npos, Placeholder("private_key"));
    }
    return found;
  }
  if (RE2::PartialMatch(whole, KeyBegin())) {
    kinds->insert("private_key");
    found = true;
    *in_key = !RE2::PartialMatch(whole, KeyEnd());
  }
  for (const TokenRule& rule : TokenRules()) {
    re2::StringPiece in(*line);
    std::string secret;
    std::vector<std::string> hits;
    while (RE2::FindAndConsume(&in, *rule.re, &secret)) hits.push_back(secret);
    for (const std::string& s : hits) {
      kinds->insert(std::string(rule.kind));
      found = true;
      if (redact) ReplaceAll(line, s, rule.kind);
    }
  }
  {
    re2::StringPiece in(*line);
    std::string value;
    std::vector<std::string> hits;
    while (RE2::FindAndConsume(&in, Assignment(), &value)) {
      if (value.size() >= kGenericSecretMinLength &&
          ShannonEntropy(value) >= kGenericSecretMinEntropy &&
          value.find("REDACTED") == std::string::npos) {
        hits.push_back(value);
      }
    }
    for (const std::string& s : hits) {
      kinds->insert("generic_secret");
      found = true;
      if (redact) ReplaceAll(line, s, "generic_secret");
    }
  }
  return found;
}

// The keywords of SecretKeywordPattern() spelled out, lower case; matched ASCII case-insensitively
// (letters only: '_', '-' and ' ' are exact).
// Grouped by first letter (KeywordAt16 looks at one group).
constexpr std::array<std::string_view, 24> kKeywords = {
    "private key", "private_key", "privatekey",  "passw",  "pwd",     "akia",
    "asia",        "agpa",        "aida",        "aroa",   "api_key", "apikey",
    "access_key",  "accesskey",   "auth",        "ghp_",   "gho_",    "ghu_",
    "ghs_",        "ghr_",        "github_pat_", "glpat-", "secret",  "token"};

inline unsigned char Lower(unsigned char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<unsigned char>(c | 0x20) : c;
}

bool KeywordAtSlow(const unsigned char* p, const unsigned char* end) {
  for (std::string_view k : kKeywords) {
    if (static_cast<size_t>(end - p) < k.size()) continue;
    size_t i = 0;
    while (i < k.size() && Lower(p[i]) == static_cast<unsigned char>(k[i])) ++i;
    if (i == k.size()) return true;
  }
  return false;
}

// One keyword as two little-endian 8-byte words: text bytes `t` match when
// ((t | fold) & mask) == value, where fold sets 0x20 (lower case) at the keyword's letters (OR
// 0x20 maps only 'A' and 'a' onto 'a', and so on) and mask covers the keyword's length.
struct KeywordWords {
  uint64_t fold[2], mask[2], value[2];
};

constexpr std::array<KeywordWords, kKeywords.size()> kKeywordWords = [] {
  std::array<KeywordWords, kKeywords.size()> out{};
  for (size_t k = 0; k < kKeywords.size(); ++k) {
    std::string_view kw = kKeywords[k];
    for (size_t i = 0; i < kw.size() && i < 16; ++i) {
      auto c = static_cast<uint64_t>(static_cast<unsigned char>(kw[i]));
      size_t w = i / 8, shift = (i % 8) * 8;
      if (c >= 'a' && c <= 'z') out[k].fold[w] |= uint64_t{0x20} << shift;
      out[k].mask[w] |= uint64_t{0xff} << shift;
      out[k].value[w] |= c << shift;
    }
  }
  return out;
}();

// Keywords by their first two bytes: kFirstSlot numbers the five first letters (0: none), and
// kPairRange[slot * 32 + (second byte & 31)] is the range of kKeywordWords with that first
// letter and a second letter in that class (keywords sharing a pair are adjacent in kKeywords).
// Bytes that are not letters may share a class with a letter; the full comparison rejects them.
constexpr std::array<uint8_t, 256> kFirstSlot = [] {
  std::array<uint8_t, 256> out{};
  uint8_t next = 1;
  for (std::string_view k : kKeywords) {
    auto c = static_cast<unsigned char>(k[0]);
    if (out[c] == 0) out[c] = next++;
    out[c & ~0x20] = out[c];  // upper case
  }
  return out;
}();

constexpr std::array<std::pair<uint8_t, uint8_t>, size_t{6}* 32> kPairRange = [] {
  std::array<std::pair<uint8_t, uint8_t>, size_t{6} * 32> out{};
  for (size_t k = 0; k < kKeywords.size(); ++k) {
    auto c0 = static_cast<unsigned char>(kKeywords[k][0]);
    auto c1 = static_cast<unsigned char>(kKeywords[k][1]);
    auto& r = out[kFirstSlot[c0] * 32 + (c1 & 31)];
    if (r.first == r.second) r.first = static_cast<uint8_t>(k);
    r.second = static_cast<uint8_t>(k + 1);
  }
  return out;
}();

// KeywordAtSlow for a position with at least 16 readable bytes.
inline bool KeywordAt16(const unsigned char* p) {
  auto [begin, end] = kPairRange[kFirstSlot[p[0]] * 32 + (p[1] & 31)];
  if (begin == end) return false;
  uint64_t t0, t1;
  std::memcpy(&t0, p, 8);
  std::memcpy(&t1, p + 8, 8);
  for (size_t i = begin; i < end; ++i) {
    const KeywordWords& k = kKeywordWords[i];
    if (((t0 | k.fold[0]) & k.mask[0]) == k.value[0] &&
        ((t1 | k.fold[1]) & k.mask[1]) == k.value[1]) {
      return true;
    }
  }
  return false;
}

bool KeywordAt(const unsigned char* p, const unsigned char* end) {
  if constexpr (std::endian::native == std::endian::little) {
    if (end - p >= 16) return KeywordAt16(p);
  }
  return KeywordAtSlow(p, end);
}

// The first two bytes of each keyword (case-folded), and the lead bytes of U+017F (C5 BF) and
// U+212A (E2 84), which RE2's (?i) folds onto 's' and 'k'.
bool PairCandidate(unsigned char a, unsigned char b) {
  unsigned char la = Lower(a), lb = Lower(b);
  switch (la) {
    case 'a':
      return lb == 'k' || lb == 's' || lb == 'g' || lb == 'i' || lb == 'r' || lb == 'p' ||
             lb == 'c' || lb == 'u';
    case 'p':
      return lb == 'r' || lb == 'a' || lb == 'w';
    case 'g':
      return lb == 'h' || lb == 'i' || lb == 'l';
    case 's':
      return lb == 'e';
    case 't':
      return lb == 'o';
    case 0xc5:
      return b == 0xbf;
    case 0xe2:
      return b == 0x84;
    default:
      return false;
  }
}

// The most bytes a keyword can span when its s and k letters are the 2- and 3-byte folds.
constexpr size_t kMaxKeywordBytes = size_t{3} * 11;

enum class Probe { kNo, kKeyword, kFold };

// Checks the candidate position `p` (PairCandidate is true there or the caller did not check).
inline Probe ProbeAt(const unsigned char* p, const unsigned char* end) {
  if (p[0] >= 0x80 && end - p >= 2 && PairCandidate(p[0], p[1])) return Probe::kFold;
  if (!KeywordAt(p, end)) return Probe::kNo;
  // A keyword spelled with a fold character may start before this one and end after it; RE2
  // would report that earlier start. Such a fold character lies within reach after `p`.
  size_t reach = std::min(static_cast<size_t>(end - p), kMaxKeywordBytes);
  if (std::memchr(p, 0xc5, reach) || std::memchr(p, 0xe2, reach)) return Probe::kFold;
  return Probe::kKeyword;
}

// Candidate bits of a block (bit i: position p + i may start a keyword or is a fold lead pair).
// The second byte of each pair comes from a load one byte further on, so a block of N
// positions reads N + 1 bytes. OR 0x20 lower-cases letters and maps no other byte onto a
// lower-case letter.
#define FIXMINE_CANDIDATES(EQ, OR, AND)                                                \
  OR(OR(OR(OR(AND(EQ(l0, 'a'),                                                         \
                  OR(OR(OR(EQ(l1, 'k'), EQ(l1, 's')), OR(EQ(l1, 'g'), EQ(l1, 'i'))),   \
                     OR(OR(EQ(l1, 'r'), EQ(l1, 'p')), OR(EQ(l1, 'c'), EQ(l1, 'u'))))), \
              AND(EQ(l0, 'p'), OR(OR(EQ(l1, 'r'), EQ(l1, 'a')), EQ(l1, 'w')))),        \
           AND(EQ(l0, 'g'), OR(OR(EQ(l1, 'h'), EQ(l1, 'i')), EQ(l1, 'l')))),           \
        OR(AND(EQ(l0, 's'), EQ(l1, 'e')), AND(EQ(l0, 't'), EQ(l1, 'o')))),             \
     OR(AND(EQ(v0, 0xc5), EQ(v1, 0xbf)), AND(EQ(v0, 0xe2), EQ(v1, 0x84))))

// What a block scan stopped at: a keyword at `at`, a fold character (hand the text to RE2), or
// the end of the blocks (`at` is where the remaining bytes start).
struct Stop {
  Probe what;
  const unsigned char* at;
};

// Probes the candidate bits of the block at `p`; true when one is a keyword or a fold.
inline bool ProbeBits(uint32_t bits, const unsigned char* p, const unsigned char* end, Stop* stop) {
  for (; bits != 0; bits &= bits - 1) {
    const unsigned char* at = p + std::countr_zero(bits);
    Probe r = ProbeAt(at, end);
    if (r != Probe::kNo) {
      *stop = {r, at};
      return true;
    }
  }
  return false;
}

// Scans blocks of N positions (each reads N + 1 bytes) from `p`. The loop lives here, not in
// the caller, so that the 30 comparison constants stay in registers.
#if defined(__SSE2__)
Stop ScanBlocks16(const unsigned char* p, const unsigned char* end) {
#define EQ(v, c) _mm_cmpeq_epi8(v, _mm_set1_epi8(static_cast<char>(c)))
  Stop stop{Probe::kNo, p};
  for (; end - p >= 17; p += 16) {
    __m128i v0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i v1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 1));
    __m128i l0 = _mm_or_si128(v0, _mm_set1_epi8(0x20));
    __m128i l1 = _mm_or_si128(v1, _mm_set1_epi8(0x20));
    __m128i m = FIXMINE_CANDIDATES(EQ, _mm_or_si128, _mm_and_si128);
    auto bits = static_cast<uint32_t>(_mm_movemask_epi8(m));
    if (bits != 0 && ProbeBits(bits, p, end, &stop)) return stop;
  }
#undef EQ
  return {Probe::kNo, p};
}
#endif

#if defined(FIXMINE_SECRETS_AVX2)
__attribute__((target("avx2"))) Stop ScanBlocks32(const unsigned char* p,
                                                  const unsigned char* end) {
#define EQ(v, c) _mm256_cmpeq_epi8(v, _mm256_set1_epi8(static_cast<char>(c)))
  Stop stop{Probe::kNo, p};
  for (; end - p >= 33; p += 32) {
    __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 1));
    __m256i l0 = _mm256_or_si256(v0, _mm256_set1_epi8(0x20));
    __m256i l1 = _mm256_or_si256(v1, _mm256_set1_epi8(0x20));
    __m256i m = FIXMINE_CANDIDATES(EQ, _mm256_or_si256, _mm256_and_si256);
    auto bits = static_cast<uint32_t>(_mm256_movemask_epi8(m));
    if (bits != 0 && ProbeBits(bits, p, end, &stop)) return stop;
  }
#undef EQ
  return {Probe::kNo, p};
}

bool HasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}
#endif
#undef FIXMINE_CANDIDATES

const RE2& KeywordRe() {
  static const RE2 re(SecretKeywordPattern());
  return re;
}

size_t FindWithRe2(std::string_view text, size_t from) {
  re2::StringPiece hit;
  if (!KeywordRe().Match(re2::StringPiece(text.data(), text.size()), from, text.size(),
                         RE2::UNANCHORED, &hit, 1)) {
    return std::string_view::npos;
  }
  return static_cast<size_t>(hit.data() - text.data());
}

}  // namespace

const char* SecretKeywordPattern() {
  return "(?i)PRIVATE KEY|private_?key|AKIA|ASIA|AGPA|AIDA|AROA|gh[pousr]_|github_pat_|glpat-|"
         "secret|token|passw|pwd|api_?key|access_?key|auth";
}

size_t FindSecretKeyword(std::string_view text, size_t from) {
  if (from >= text.size()) return std::string_view::npos;
  const auto* base = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char* end = base + text.size();
  const unsigned char* p = base + from;
  auto probe = [&](const unsigned char* at) -> std::optional<size_t> {
    switch (ProbeAt(at, end)) {
      case Probe::kNo:
        return std::nullopt;
      case Probe::kKeyword:
        return static_cast<size_t>(at - base);
      case Probe::kFold:
        return FindWithRe2(text, from);
    }
    return std::nullopt;
  };
  auto stopped = [&](const Stop& stop) -> std::optional<size_t> {
    p = stop.at;
    if (stop.what == Probe::kKeyword) return static_cast<size_t>(stop.at - base);
    if (stop.what == Probe::kFold) return FindWithRe2(text, from);
    return std::nullopt;
  };
#if defined(FIXMINE_SECRETS_AVX2)
  if (HasAvx2()) {
    if (auto r = stopped(ScanBlocks32(p, end))) return *r;
  }
#endif
#if defined(__SSE2__)
  if (auto r = stopped(ScanBlocks16(p, end))) return *r;
#endif
  for (; p < end; ++p) {
    if (end - p >= 2 && !PairCandidate(p[0], p[1])) continue;
    if (end - p < 2) {
      // A keyword is at least three bytes; a lone last byte matches nothing.
      break;
    }
    if (auto r = probe(p)) return *r;
  }
  return std::string_view::npos;
}

double ShannonEntropy(std::string_view s) {
  if (s.empty()) return 0;
  std::array<int, 256> counts{};
  for (unsigned char c : s) ++counts[c];
  double h = 0;
  for (int n : counts) {
    if (n == 0) continue;
    double p = static_cast<double>(n) / static_cast<double>(s.size());
    h -= p * std::log2(p);
  }
  return h;
}

bool ScanSecrets(std::string* text, bool redact, std::set<std::string>* kinds) {
  // Every rule needs one of the keywords of SecretKeywordPattern() on the line it matches (case
  // folded, a superset of each rule's literal part), so one keyword search over the whole text
  // (FindSecretKeyword) finds the candidate lines and only those lines run the per-rule
  // expressions. A private key block continues on the lines after its BEGIN line, which are
  // scanned one by one until the block ends.
  bool found = false;
  bool in_key = false;
  size_t pos = 0;  // where the search for the next candidate line starts
  std::string line;
  while (pos < text->size()) {
    size_t start = pos;
    if (!in_key) {
      size_t at = FindSecretKeyword(*text, pos);
      if (at == std::string_view::npos) break;
      size_t nl = at == 0 ? std::string::npos : text->rfind('\n', at - 1);
      start = nl == std::string::npos ? 0 : nl + 1;
      if (start < pos) start = pos;
    }
    size_t nl = text->find('\n', start);
    size_t end = nl == std::string::npos ? text->size() : nl;
    line.assign(*text, start, end - start);
    bool hit_line = ScanLine(&line, redact, &in_key, kinds);
    found |= hit_line;
    if (redact && hit_line) {
      text->replace(start, end - start, line);
      end = start + line.size();
    }
    if (end >= text->size()) break;
    pos = end + 1;
  }
  return found;
}

}  // namespace fixmine::curation
