#include "curation/quality.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "re2/re2.h"

namespace fixmine::curation {
namespace {

using fixmine::v1::Record;

// Limits of the commitpackft rules (docs/curation.md explains each).
constexpr size_t kMinSubjectChars = 10;
constexpr size_t kMaxSubjectChars = 100;
constexpr size_t kMinSubjectWords = 3;
constexpr size_t kMaxSubjectWords = 25;
constexpr int kMaxChangedLines = 1000;
constexpr size_t kMaxPreImageBytes = 50000;

// Imperative verbs a kept subject may start with (after OctoPack's CommitPackFT, which keeps
// messages whose first word is an imperative verb).
const absl::flat_hash_set<std::string>& ImperativeVerbs() {
  static const auto* verbs = new absl::flat_hash_set<std::string>{
      "add",      "adjust",     "allow",       "apply",   "avoid",     "build",    "bump",
      "call",     "change",     "check",       "clarify", "clean",     "cleanup",  "configure",
      "convert",  "correct",    "create",      "declare", "define",    "delete",   "deprecate",
      "disable",  "display",    "document",    "drop",    "enable",    "enhance",  "ensure",
      "exclude",  "expand",     "expose",      "extend",  "extract",   "fix",      "format",
      "generate", "handle",     "hide",        "ignore",  "implement", "improve",  "include",
      "increase", "initialize", "inline",      "install", "introduce", "keep",     "limit",
      "load",     "log",        "make",        "mark",    "merge",     "migrate",  "modify",
      "move",     "normalize",  "optimize",    "parse",   "pass",      "patch",    "polish",
      "prepare",  "prevent",    "print",       "raise",   "read",      "rebuild",  "reduce",
      "refactor", "reformat",   "register",    "release", "reload",    "remove",   "rename",
      "reorder",  "reorganize", "replace",     "report",  "require",   "reset",    "resolve",
      "restore",  "restrict",   "restructure", "return",  "reuse",     "revert",   "rewrite",
      "rework",   "run",        "save",        "set",     "show",      "simplify", "skip",
      "sort",     "split",      "standardize", "stop",    "store",     "strip",    "support",
      "switch",   "sync",       "test",        "throw",   "tidy",      "track",    "tweak",
      "unify",    "update",     "upgrade",     "use",     "validate",  "verify",   "wrap",
      "write"};
  return *verbs;
}

// Subjects with one of these phrases (ASCII case folded, whole words) say nothing about the
// change.
constexpr std::string_view kBlockedPhrases[] = {
    "initial commit",   "first commit", "update readme",      "updated readme", "wip",
    "work in progress", "merge branch", "merge pull request", "minor changes",  "minor fixes",
    "small changes",    "some changes", "misc changes",       "no message",     "test commit",
    "auto commit",      "autocommit",   "checkpoint"};

bool HasPhrase(const std::string& folded, std::string_view phrase) {
  size_t pos = 0;
  auto word_char = [](char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); };
  while ((pos = folded.find(phrase, pos)) != std::string::npos) {
    size_t end = pos + phrase.size();
    bool left = pos == 0 || !word_char(folded[pos - 1]);
    bool right = end == folded.size() || !word_char(folded[end]);
    if (left && right) return true;
    ++pos;
  }
  return false;
}

std::vector<std::string> Words(std::string_view s) {
  return absl::StrSplit(absl::string_view(s.data(), s.size()), absl::ByAnyChar(" \t"),
                        absl::SkipEmpty());
}

}  // namespace

std::vector<std::string> CommitPackFtFailures(const Record& r) {
  std::vector<std::string> out;
  const std::string& subject = r.subject();
  std::vector<std::string> words = Words(subject);
  if (subject.size() < kMinSubjectChars) out.emplace_back("subject_too_short");
  if (subject.size() > kMaxSubjectChars) out.emplace_back("subject_too_long");
  if (words.size() < kMinSubjectWords) out.emplace_back("too_few_words");
  if (words.size() > kMaxSubjectWords) out.emplace_back("too_many_words");
  std::string first = words.empty() ? "" : absl::AsciiStrToLower(words[0]);
  while (!first.empty() && !absl::ascii_isalpha(static_cast<unsigned char>(first.back()))) {
    first.pop_back();  // "Fix:" or "Add," count as their verb
  }
  if (!ImperativeVerbs().contains(first)) out.emplace_back("not_imperative");
  std::string folded = absl::AsciiStrToLower(subject);
  for (std::string_view phrase : kBlockedPhrases) {
    if (HasPhrase(folded, phrase)) {
      out.emplace_back("blocked_phrase");
      break;
    }
  }
  static const RE2 version_or_hash(
      "(?i)\\s*(?:(?:release|version|bump|bumped|tag|tagged)\\s+(?:to\\s+)?)?"
      "(?:v(?:ersion)?\\s*)?\\d+(?:\\.\\d+)*(?:[-+._][0-9a-z.]+)*\\s*|\\s*[0-9a-f]{7,64}\\s*");
  if (!subject.empty() && RE2::FullMatch(subject, version_or_hash)) {
    out.emplace_back("version_or_hash_only");
  }
  if (r.files_size() != 1) out.emplace_back("not_single_file");
  bool large = r.quality().lines_added() + r.quality().lines_deleted() > kMaxChangedLines;
  for (const auto& f : r.files()) {
    if (f.old_content_truncated() || f.old_content().size() > kMaxPreImageBytes) large = true;
  }
  if (large) out.emplace_back("too_large");
  return out;
}

std::vector<std::string> DefaultFailures(const Record& r) {
  std::vector<std::string> out;
  if (r.parents_size() > 1) out.emplace_back("merge");
  if (r.labels().is_bot()) out.emplace_back("bot");
  if (absl::StripAsciiWhitespace(r.message()).empty()) out.emplace_back("empty_message");
  bool all_vendored = r.files_size() > 0;
  for (const auto& f : r.files()) all_vendored = all_vendored && f.vendored();
  if (all_vendored) out.emplace_back("vendored_only");
  return out;
}

void SetDropReasons(Record* r) {
  auto* q = r->mutable_quality();
  q->clear_drop_reasons();
  for (const std::string& rule : CommitPackFtFailures(*r)) {
    q->add_drop_reasons(std::string(kPresetCommitPackFt) + ":" + rule);
  }
  for (const std::string& rule : DefaultFailures(*r)) {
    q->add_drop_reasons(std::string(kPresetDefault) + ":" + rule);
  }
}

bool PassesPreset(const fixmine::v1::Record& record, std::string_view name) {
  if (name == kPresetDefault && !record.duplicate_of().empty()) return false;
  for (const std::string& reason : record.quality().drop_reasons()) {
    if (reason.size() > name.size() && reason[name.size()] == ':' &&
        std::string_view(reason).substr(0, name.size()) == name) {
      return false;
    }
  }
  return true;
}

bool IsPreset(std::string_view name) {
  return name == kPresetDefault || name == kPresetCommitPackFt;
}

}  // namespace fixmine::curation
