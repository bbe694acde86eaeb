#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fixmine/v1/records.pb.h"

namespace fixmine::curation {

// Result of the fix classifier over a commit message.
struct FixLabel {
  bool is_fix = false;
  // Evidence that made it a fix: "keyword:WORD" (as written) or "closes:#123".
  std::vector<std::string> evidence;
  // Every issue reference: "#123", "GH-123", "ABC-123" (these alone do not make a fix).
  std::vector<std::string> issue_refs;
  // Set when the message has fix evidence but its subject says it is something else: "revert",
  // "release" or "formatting"; `is_fix` is then false and `evidence` empty.
  std::string not_fix_reason;
};

// Classifies `message` (docs/curation.md, "is_fix"): fix keywords or closing references make a
// fix, unless the subject (the first non-blank line) is a revert, a release / version bump or a
// formatting-only change. Thread-safe.
FixLabel LabelFix(std::string_view message);

// Result of the revert classifier.
struct RevertLabel {
  bool is_revert = false;
  // Full or abbreviated commit id from "This reverts commit X."; empty when not named.
  std::string reverted_commit;
  std::vector<std::string> evidence;
};

// Recognises git's revert messages: subject `Revert "..."` and/or "This reverts commit X.".
RevertLabel LabelRevert(std::string_view subject, std::string_view message);

// Returns why (`name`, `email`) is a bot, or "" when it is not (docs/curation.md, "is_bot"): a
// name ending in "[bot]" or having "bot" as a whole word ("StepSecurity Bot", "ci-bot"), an
// e-mail whose local part has "bot" as a whole word ("bot@stepsecurity.io", "x-bot@y") or
// "[bot]@", a known bot (dependabot, renovate, github-actions, ...), or one of `extra_bots`
// (ASCII case folded, substring). Thread-safe.
std::string BotReason(std::string_view name, std::string_view email,
                      const std::vector<std::string>& extra_bots);

// Detects the natural language of a commit message with CLD2: an ISO 639-1 style code ("en",
// "de", "zh", "ja", "zh-Hant"), or "" when CLD2 is not confident. Thread-safe.
std::string DetectMessageLanguage(std::string_view message);

// DetectMessageLanguage looks at no more than this many bytes of a message (its start).
inline constexpr size_t kLanguageDetectionPrefix = 4096;

}  // namespace fixmine::curation
