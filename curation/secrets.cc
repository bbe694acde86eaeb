#include "curation/secrets.h"

#include <array>
#include <cmath>
#include <string>

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
      TokenRule{"github_token",
                new RE2("\\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})")},
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

std::string Placeholder(std::string_view kind) {
  return "<REDACTED:" + std::string(kind) + ">";
}

// Replaces every occurrence of `secret` in `line` by the placeholder of `kind`.
void ReplaceAll(std::string* line, const std::string& secret, std::string_view kind) {
  std::string ph = Placeholder(kind);
  size_t pos = 0;
  while ((pos = line->find(secret, pos)) != std::string::npos) {
    line->replace(pos, secret.size(), ph);
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
      size_t keep = !line->empty() && (line->front() == '+' || line->front() == '-' ||
                                       line->front() == ' ')
                        ? 1
                        : 0;
      size_t body = line->find_first_not_of(" \t", keep);
      if (body != std::string::npos) line->replace(body, std::string::npos, Placeholder("private_key"));
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

}  // namespace

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
  // Every rule needs one of these substrings on the line it matches (case folded, a superset of
  // each rule's literal part), so one DFA pass over the whole text finds the candidate lines and
  // only those lines run the per-rule expressions. A private key block continues on the lines
  // after its BEGIN line, which are scanned one by one until the block ends.
  static const RE2 maybe(
      "(?i)PRIVATE KEY|private_?key|AKIA|ASIA|AGPA|AIDA|AROA|gh[pousr]_|github_pat_|glpat-|"
      "secret|token|passw|pwd|api_?key|access_?key|auth");
  bool found = false;
  bool in_key = false;
  size_t pos = 0;  // where the search for the next candidate line starts
  std::string line;
  while (pos < text->size()) {
    size_t start = pos;
    if (!in_key) {
      re2::StringPiece hit;
      if (!maybe.Match(*text, pos, text->size(), RE2::UNANCHORED, &hit, 1)) break;
      size_t at = static_cast<size_t>(hit.data() - text->data());
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
