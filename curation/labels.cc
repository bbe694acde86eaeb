#include "curation/labels.h"

#include <cld2/public/compact_lang_det.h>

#include <algorithm>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "re2/re2.h"

namespace fixmine::curation {
namespace {

// Latin-script keywords, compared with whole words of the message in ASCII lower case.
const absl::flat_hash_set<std::string>& FixWords() {
  static const auto* words = new absl::flat_hash_set<std::string>{
      // English
      "fix", "fixes", "fixed", "fixing", "bugfix", "bugfixes", "hotfix", "bug", "bugs", "crash",
      "crashes", "crashed", "regression", "regressions", "segfault", "segfaults",
      // German
      "behebt", "behoben", "beheben", "fehler", "fehlerbehebung", "absturz", "korrigiert",
      "korrigieren",
      // French
      "corrige", "corrig\u00e9", "corriger", "correction", "bogue", "plantage",
      // Spanish and Portuguese
      "arregla", "arreglado", "arreglar", "corregido", "corregir", "fallo", "corrigido",
      "corrigir", "corre\u00e7\u00e3o", "conserta", "consertado", "falha"};
  return *words;
}

// Keywords of scripts without spaces between words (matched anywhere), and Russian stems:
// исправ- (исправить, исправлен, исправление), ошибк- (ошибка, ошибки).
constexpr std::string_view kFixSubstrings[] = {
    "\u4fee\u590d", "\u4fee\u6b63", "\u9519\u8bef", "\u7f3a\u9677",  // 修复 修正 错误 缺陷
    "\u30d0\u30b0", "\u4e0d\u5177\u5408",                          // バグ 不具合
    "\u0438\u0441\u043f\u0440\u0430\u0432", "\u0418\u0441\u043f\u0440\u0430\u0432",
    "\u043e\u0448\u0438\u0431\u043a", "\u041e\u0448\u0438\u0431\u043a"};

// "fixes #123", "closes GH-12", "resolved ABC-9": a closing keyword naming an issue.
const RE2& ClosingRef() {
  static const RE2 re(
      "(?i)\\b(?:fix|fixes|fixed|close|closes|closed|resolve|resolves|resolved)\\s*:?\\s+"
      "((?:[\\w.-]+/[\\w.-]+)?#\\d+|GH-\\d+|[A-Z][A-Z0-9]+-\\d+)");
  return re;
}

// Issue references: "#123" (also "owner/repo#123"), "GH-123", Jira-style "ABC-123".
const RE2& IssueRef() {
  static const RE2 re(
      "(?:^|[^\\w&])((?:[\\w.-]+/[\\w.-]+)?#\\d+|GH-\\d+|\\b[A-Z][A-Z0-9]{1,9}-\\d+)\\b");
  return re;
}

void AddUnique(std::vector<std::string>* v, std::string s) {
  if (std::find(v->begin(), v->end(), s) == v->end()) v->push_back(std::move(s));
}

bool ContainsFolded(std::string_view haystack, std::string_view needle) {
  std::string h = absl::AsciiStrToLower(absl::string_view(haystack.data(), haystack.size()));
  std::string n = absl::AsciiStrToLower(absl::string_view(needle.data(), needle.size()));
  return !n.empty() && h.find(n) != std::string::npos;
}

}  // namespace

FixLabel LabelFix(std::string_view message) {
  FixLabel out;
  static const RE2 word_re("([\\p{L}\\p{N}_]+)");
  re2::StringPiece in(message.data(), message.size());
  std::string word;
  while (RE2::FindAndConsume(&in, word_re, &word)) {
    if (FixWords().contains(absl::AsciiStrToLower(word))) AddUnique(&out.evidence, "keyword:" + word);
  }
  for (std::string_view k : kFixSubstrings) {
    if (message.find(k) != std::string_view::npos) AddUnique(&out.evidence, "keyword:" + std::string(k));
  }
  in = re2::StringPiece(message.data(), message.size());
  std::string ref;
  while (RE2::FindAndConsume(&in, ClosingRef(), &ref)) AddUnique(&out.evidence, "closes:" + ref);
  in = re2::StringPiece(message.data(), message.size());
  while (RE2::FindAndConsume(&in, IssueRef(), &ref)) AddUnique(&out.issue_refs, ref);
  out.is_fix = !out.evidence.empty();
  return out;
}

RevertLabel LabelRevert(std::string_view subject, std::string_view message) {
  static const RE2 subject_re("^Revert \"(.*)\"$");
  static const RE2 body_re("This reverts commit ([0-9a-fA-F]{7,64})");
  RevertLabel out;
  if (RE2::FullMatch(re2::StringPiece(subject.data(), subject.size()), subject_re)) {
    out.evidence.push_back("subject Revert \"...\"");
  }
  std::string id;
  if (RE2::PartialMatch(re2::StringPiece(message.data(), message.size()), body_re, &id)) {
    out.reverted_commit = absl::AsciiStrToLower(id);
    out.evidence.push_back("This reverts commit " + out.reverted_commit + ".");
  }
  out.is_revert = !out.evidence.empty();
  return out;
}

std::string BotReason(std::string_view name, std::string_view email,
                      const std::vector<std::string>& extra_bots) {
  std::string lname = absl::AsciiStrToLower(absl::string_view(name.data(), name.size()));
  if (lname.size() >= 5 && lname.compare(lname.size() - 5, 5, "[bot]") == 0) {
    return "name ends with [bot]";
  }
  if (ContainsFolded(email, "[bot]@")) return "e-mail has [bot]@";
  for (std::string_view known : {"dependabot", "renovate", "github-actions", "greenkeeper",
                                 "snyk-bot", "pre-commit-ci"}) {
    if (ContainsFolded(name, known) || ContainsFolded(email, known)) {
      return "known bot " + std::string(known);
    }
  }
  for (const std::string& b : extra_bots) {
    if (ContainsFolded(name, b) || ContainsFolded(email, b)) return "configured bot " + b;
  }
  return "";
}

std::string DetectMessageLanguage(std::string_view message) {
  if (message.empty()) return "";
  // CLD2's cost grows with the text; a commit message's language shows in its first few
  // kilobytes. Cut at a character boundary so CLD2 never sees half a UTF-8 sequence.
  if (message.size() > kLanguageDetectionPrefix) {
    size_t cut = kLanguageDetectionPrefix;
    while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
    message = message.substr(0, cut);
  }
  bool reliable = false;
  CLD2::Language top3[3];
  int percent3[3];
  int text_bytes = 0;
  CLD2::Language lang = CLD2::ExtDetectLanguageSummary(
      message.data(), static_cast<int>(message.size()), /*is_plain_text=*/true, top3, percent3,
      &text_bytes, &reliable);
  if (!reliable || lang == CLD2::UNKNOWN_LANGUAGE || lang == CLD2::TG_UNKNOWN_LANGUAGE) return "";
  return CLD2::LanguageCode(lang);
}

}  // namespace fixmine::curation
