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
      "arregla", "arreglado", "arreglar", "corregido", "corregir", "fallo", "corrigido", "corrigir",
      "corre\u00e7\u00e3o", "conserta", "consertado", "falha"};
  return *words;
}

// Keywords of scripts without spaces between words (matched anywhere), and Russian stems:
// исправ- (исправить, исправлен, исправление), ошибк- (ошибка, ошибки).
constexpr std::string_view kFixSubstrings[] = {"\u4fee\u590d",
                                               "\u4fee\u6b63",
                                               "\u9519\u8bef",
                                               "\u7f3a\u9677",  // 修复 修正 错误 缺陷
                                               "\u30d0\u30b0",
                                               "\u4e0d\u5177\u5408",  // バグ 不具合
                                               "\u0438\u0441\u043f\u0440\u0430\u0432",
                                               "\u0418\u0441\u043f\u0440\u0430\u0432",
                                               "\u043e\u0448\u0438\u0431\u043a",
                                               "\u041e\u0448\u0438\u0431\u043a"};

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

// The first non-blank line of `message`, trimmed.
std::string_view FirstLine(std::string_view message) {
  while (!message.empty()) {
    size_t nl = message.find('\n');
    std::string_view line = message.substr(0, nl);
    absl::string_view t = absl::StripAsciiWhitespace(absl::string_view(line.data(), line.size()));
    if (!t.empty()) return std::string_view(t.data(), t.size());
    if (nl == std::string_view::npos) break;
    message.remove_prefix(nl + 1);
  }
  return {};
}

// A release or version bump: "Release LevelDB 1.14", "Bump version to 2.0.1", "v1.2.3",
// "chore(release): 1.4.0". A version number (digits.digits) is required, so "Release the lock
// before closing" is not one.
bool IsReleaseSubject(std::string_view subject) {
  static const RE2 kind(
      "(?i)^\\s*(?:\\[?release\\]?\\b|releasing\\b|released\\b|prepar(?:e|es|ed|ing)\\s+(?:for\\s+)"
      "?"
      "(?:the\\s+)?(?:\\S+\\s+)?release\\b|bump(?:s|ed|ing)?\\s+(?:the\\s+)?(?:\\S+\\s+)?"
      "version\\b|"
      "version\\s+bump\\b|chore\\(release\\)|v?\\d+\\.\\d+(?:\\.\\d+)*\\s*$|version\\s+v?\\d)");
  static const RE2 version("\\d+\\.\\d+");
  re2::StringPiece s(subject.data(), subject.size());
  return RE2::PartialMatch(s, kind) && RE2::PartialMatch(s, version);
}

// A formatting-only change: a formatter run ("Run clang-format", "Apply black"), "Reformat
// ...", conventional "style:"/"format:" subjects, code style, indentation or stray white space.
// "Fix formatting of long double" (a formatting library's bug) is not one.
bool IsFormattingSubject(std::string_view subject) {
  // Tool names count only when run ("Run clang-format", "Format with black") or as the whole
  // subject's start ("gofmt all files"): "Fix clang-format crash" is a fix in LLVM. Likewise
  // "reformat", "code style" and "indentation" only lead the subject.
  static const RE2 re(
      "(?i)(?:\\b(?:run|ran|running|apply|applied|applying|with|using|via|by)\\s+"
      "(?:clang[-_]format|gofmt|go\\s+fmt|rustfmt|cargo\\s+fmt|prettier|black|isort|yapf|"
      "autopep8|ruff\\s+format)\\b|"
      "^(?:clang[-_]format|gofmt|go\\s+fmt|rustfmt|cargo\\s+fmt|prettier|black|isort|yapf)"
      "(?:\\s*$|\\s+(?:all|the|everything|src|source|code|files|changes|everywhere|over|on)\\b)|"
      "^reformat(?:s|ted|ting)?\\b|^(?:style|format|fmt)(?:\\([^)]*\\))?!?:|"
      "^(?:(?:fix(?:ed)?|improve[ds]?|update[ds]?)\\s+)?(?:the\\s+)?(?:code|coding)\\s+style\\b|"
      "^(?:fix(?:ed)?\\s+)?(?:the\\s+)?indentation(?:\\s*$|\\s+in\\s+\\S+\\s*$)|"
      "\\b(?:trailing|extra|stray)\\s+(?:white\\s?space|spaces|blanks)\\b|"
      "^(?:fix(?:ed)?|remove[ds]?|clean(?:ed)?\\s?up|strip(?:ped)?)\\s+(?:the\\s+)?white\\s?space"
      "(?:\\s*$|\\s+(?:in|on|at)\\b)|^format(?:ted|ting)?\\s+(?:the\\s+)?(?:code|files|sources?|"
      "source\\s+code|all|everything|headers)\\b)");
  return RE2::PartialMatch(re2::StringPiece(subject.data(), subject.size()), re);
}

FixLabel LabelFix(std::string_view message) {
  FixLabel out;
  static const RE2 word_re("([\\p{L}\\p{N}_]+)");
  re2::StringPiece in(message.data(), message.size());
  std::string word;
  while (RE2::FindAndConsume(&in, word_re, &word)) {
    if (FixWords().contains(absl::AsciiStrToLower(word)))
      AddUnique(&out.evidence, "keyword:" + word);
  }
  for (std::string_view k : kFixSubstrings) {
    if (message.find(k) != std::string_view::npos)
      AddUnique(&out.evidence, "keyword:" + std::string(k));
  }
  in = re2::StringPiece(message.data(), message.size());
  std::string ref;
  while (RE2::FindAndConsume(&in, ClosingRef(), &ref)) AddUnique(&out.evidence, "closes:" + ref);
  in = re2::StringPiece(message.data(), message.size());
  while (RE2::FindAndConsume(&in, IssueRef(), &ref)) AddUnique(&out.issue_refs, ref);
  if (!out.evidence.empty()) {
    std::string_view subject = FirstLine(message);
    if (LabelRevert(subject, message).is_revert) {
      out.not_fix_reason = "revert";
    } else if (IsReleaseSubject(subject)) {
      out.not_fix_reason = "release";
    } else if (IsFormattingSubject(subject)) {
      out.not_fix_reason = "formatting";
    }
    if (!out.not_fix_reason.empty()) out.evidence.clear();
  }
  out.is_fix = !out.evidence.empty();
  return out;
}

RevertLabel LabelRevert(std::string_view subject, std::string_view message) {
  static const RE2 subject_re("^Revert \"(.*)\"$");
  static const RE2 body_re("This reverts commit ([0-9a-fA-F]{7,64})");
  RevertLabel out;
  if (RE2::FullMatch(re2::StringPiece(subject.data(), subject.size()), subject_re)) {
    out.evidence.emplace_back("subject Revert \"...\"");
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
  for (std::string_view known :
       {"dependabot", "renovate", "github-actions", "greenkeeper", "snyk-bot", "pre-commit-ci",
        "mergify", "imgbot", "allcontributors", "pyup-bot", "deepsource-autofix", "restyled-io",
        "gitter-badger", "codecov-io", "whitesource", "semantic-release-bot"}) {
    if (ContainsFolded(name, known) || ContainsFolded(email, known)) {
      return "known bot " + std::string(known);
    }
  }
  // "bot" as a whole word: letters and digits on neither side ("StepSecurity Bot", "ci-bot",
  // "bot@stepsecurity.io"), so "Abbott", "Talbot" and "robot" are people or words.
  static const RE2 word_bot("(?i)(?:^|[^a-z0-9])bot(?:$|[^a-z0-9])");
  if (RE2::PartialMatch(re2::StringPiece(name.data(), name.size()), word_bot)) {
    return "name has the word bot";
  }
  // GitHub's no-reply addresses hold a user name (a person may call themself "leha-bot"; an app
  // has "[bot]" there, caught above), so their local part is not looked at.
  std::string_view local = email.substr(0, email.find('@'));
  if (email.find('@') != std::string_view::npos &&
      !ContainsFolded(email, "@users.noreply.github.com") &&
      RE2::PartialMatch(re2::StringPiece(local.data(), local.size()), word_bot)) {
    return "e-mail has the word bot before @";
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
