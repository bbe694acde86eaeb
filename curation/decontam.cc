#include "curation/decontam.h"

#include <set>
#include <utility>

namespace fixmine::curation {
namespace {

bool IsSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsIdentStart(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' || c >= 0x80;
}
bool IsIdentPart(unsigned char c) { return IsIdentStart(c) || IsDigit(c); }

// The texts of `record` a benchmark must not share an n-gram with: the message, the added
// lines of each file (joined, markers removed) and each pre-image.
std::vector<std::string> CheckedTexts(const fixmine::v1::Record& record) {
  std::vector<std::string> out = {record.message()};
  for (const auto& f : record.files()) {
    std::string added;
    for (const auto& h : f.hunks()) {
      std::string_view text = h.text();
      while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (!line.empty() && line[0] == '+') {
          added.append(line.substr(1));
          added.push_back('\n');
        }
      }
    }
    if (!added.empty()) out.push_back(std::move(added));
    if (!f.old_content().empty()) out.push_back(f.old_content());
  }
  return out;
}

}  // namespace

std::vector<std::string> CodeTokens(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (IsSpace(c)) {
      ++i;
      continue;
    }
    size_t start = i;
    if (IsIdentStart(c)) {
      while (i < text.size() && IsIdentPart(static_cast<unsigned char>(text[i]))) ++i;
      std::string token(text.substr(start, i - start));
      for (char& ch : token) {
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
      }
      out.push_back(std::move(token));
    } else if (IsDigit(c)) {
      while (i < text.size() &&
             (IsIdentPart(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
        ++i;
      }
      out.emplace_back(text.substr(start, i - start));
    } else {
      out.emplace_back(1, text[i]);
      ++i;
    }
  }
  return out;
}

uint64_t NgramHash(const std::vector<std::string>& tokens, size_t begin, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t k = begin; k < begin + n; ++k) {
    for (unsigned char c : tokens[k]) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
    h ^= 0x1f;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::vector<uint64_t> NgramHashes(std::string_view text, int n) {
  std::vector<std::string> tokens = CodeTokens(text);
  std::set<uint64_t> seen;
  std::vector<uint64_t> out;
  if (n <= 0 || tokens.size() < static_cast<size_t>(n)) return out;
  for (size_t i = 0; i + n <= tokens.size(); ++i) {
    uint64_t h = NgramHash(tokens, i, n);
    if (seen.insert(h).second) out.push_back(h);
  }
  return out;
}

void NgramIndex::Add(int n, uint64_t hash, const std::string& benchmark, const std::string& item) {
  auto& sources = by_n_[n][hash];
  for (const NgramSource& s : sources) {
    if (s.benchmark == benchmark) return;
  }
  sources.push_back({benchmark, item});
}

bool NgramIndex::Check(fixmine::v1::Record* record) const {
  std::vector<std::pair<std::string, std::string>> keys;  // (benchmark, item), in found order
  std::vector<std::string> evidence;
  if (!by_n_.empty()) {
    for (const std::string& text : CheckedTexts(*record)) {
      std::vector<std::string> tokens = CodeTokens(text);
      for (const auto& [n, hashes] : by_n_) {
        if (tokens.size() < static_cast<size_t>(n)) continue;
        for (size_t i = 0; i + n <= tokens.size(); ++i) {
          auto it = hashes.find(NgramHash(tokens, i, n));
          if (it == hashes.end()) continue;
          for (const NgramSource& s : it->second) {
            std::pair<std::string, std::string> key = {s.benchmark, s.item};
            bool known = false;
            for (const auto& k : keys) known |= k == key;
            if (known) continue;
            std::string gram;
            for (size_t k = i; k < i + n; ++k) {
              if (k > i) gram.push_back(' ');
              gram += tokens[k];
            }
            keys.push_back(std::move(key));
            evidence.push_back(std::move(gram));
          }
        }
      }
    }
  }
  bool same = static_cast<size_t>(record->contamination_size()) == keys.size();
  for (size_t k = 0; same && k < keys.size(); ++k) {
    const auto& c = record->contamination(static_cast<int>(k));
    same = c.benchmark() == keys[k].first && c.item() == keys[k].second && c.ngram() == evidence[k];
  }
  if (same) return false;
  record->clear_contamination();
  for (size_t k = 0; k < keys.size(); ++k) {
    auto* c = record->add_contamination();
    c->set_benchmark(keys[k].first);
    c->set_item(keys[k].second);
    c->set_ngram(evidence[k]);
  }
  return true;
}

}  // namespace fixmine::curation
