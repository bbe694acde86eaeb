#include "curation/dedup.h"

#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "fmt/format.h"

namespace fixmine::curation {
namespace {

using fixmine::v1::FileChange;
using fixmine::v1::Record;

// ' ', '\t', '\n', '\v', '\f' or '\r' (9 to 13).
bool IsSpace(char c) { return c == ' ' || static_cast<unsigned char>(c - '\t') <= '\r' - '\t'; }

// Appends `line` without its white space. Every byte is stored and the end moves past the
// ones that stay: no branch per byte (changed lines are hundreds of MB over a history).
void AppendStripped(std::string_view line, std::string* out) {
  size_t start = out->size();
  out->resize(start + line.size());
  char* d = out->data() + start;
  for (char c : line) {
    *d = c;
    d += !IsSpace(c);
  }
  out->resize(static_cast<size_t>(d - out->data()));
}

// Appends, for each added or deleted line of the hunk text `text`, its marker, the line
// without the marker and without white space, and a newline: ForEachChangedLine with
// AppendStripped, in one pass over the text (the output is at most one byte longer).
void AppendChangedLinesStripped(std::string_view text, std::string* out) {
  size_t start = out->size();
  out->resize(start + text.size() + 1);
  char* d = out->data() + start;
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    const auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* line_end = nl != nullptr ? nl : end;
    if (*p == '+' || *p == '-') {
      *d++ = *p;
      for (const char* q = p + 1; q < line_end; ++q) {
        *d = *q;
        d += !IsSpace(*q);
      }
      *d++ = '\n';
    }
    p = nl != nullptr ? nl + 1 : end;
  }
  out->resize(static_cast<size_t>(d - out->data()));
}

// Calls `fn(marker, line)` for each added or deleted line of `file`'s hunks, marker '+' or
// '-', `line` without the marker and the newline.
template <typename Fn>
void ForEachChangedLine(const FileChange& file, Fn fn) {
  for (const auto& hunk : file.hunks()) {
    std::string_view text = hunk.text();
    while (!text.empty()) {
      size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      if (!line.empty() && (line[0] == '+' || line[0] == '-')) fn(line[0], line.substr(1));
    }
  }
}

uint64_t Fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// splitmix64's finaliser: a fast, well-mixed 64-bit permutation.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// One seed per MinHash position, fixed forever (stored signatures are compared with new ones).
const std::array<uint64_t, kMinHashSize>& Seeds() {
  static const std::array<uint64_t, kMinHashSize> seeds = [] {
    std::array<uint64_t, kMinHashSize> s{};
    uint64_t x = 0x66697865646d696eULL;  // "fixedmin"
    for (auto& v : s) v = x = Mix(x);
    return s;
  }();
  return seeds;
}

}  // namespace

std::string PatchFingerprint(const Record& record) {
  std::vector<const FileChange*> files;
  for (const FileChange& f : record.files()) files.push_back(&f);
  std::stable_sort(files.begin(), files.end(),
                   [](const FileChange* a, const FileChange* b) { return a->path() < b->path(); });
  std::string text;
  bool any = false;
  for (const FileChange* f : files) {
    // The path is length-prefixed so no path/line combination can imitate another. A file
    // without changed lines contributes nothing: its header is taken back.
    size_t mark = text.size();
    text += fmt::format("file {} {}\n", f->path().size(), f->path());
    size_t body = text.size();
    for (const auto& hunk : f->hunks()) AppendChangedLinesStripped(hunk.text(), &text);
    if (text.size() == body) {
      text.resize(mark);
      continue;
    }
    any = true;
  }
  if (!any) return "";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  std::string out;
  for (int i = 0; i < 16; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

std::vector<uint32_t> MinHashSignature(const Record& record) {
  absl::flat_hash_set<uint64_t> shingles;
  std::string norm;
  for (const FileChange& f : record.files()) {
    ForEachChangedLine(f, [&](char marker, std::string_view line) {
      if (marker != '+') return;
      norm.clear();
      AppendStripped(line, &norm);
      if (!norm.empty()) shingles.insert(Fnv1a64(norm));
    });
  }
  if (static_cast<int>(shingles.size()) < kMinHashMinLines) return {};
  const auto& seeds = Seeds();
  std::vector<uint32_t> sig(kMinHashSize, std::numeric_limits<uint32_t>::max());
  for (uint64_t s : shingles) {
    for (int i = 0; i < kMinHashSize; ++i) {
      auto v = static_cast<uint32_t>(Mix(s ^ seeds[i]) >> 32);
      sig[i] = std::min(sig[i], v);
    }
  }
  return sig;
}

void SetDedupFields(bool with_minhash, Record* record) {
  record->set_patch_fingerprint(PatchFingerprint(*record));
  record->clear_minhash();
  if (!with_minhash) return;
  for (uint32_t v : MinHashSignature(*record)) record->add_minhash(v);
}

}  // namespace fixmine::curation
