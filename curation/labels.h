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
};

// Classifies `message` (docs/curation.md, "is_fix"). Thread-safe.
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

// Returns why (`name`, `email`) is a bot, or "" when it is not: a name ending in "[bot]",
// dependabot, renovate, github-actions, or containing one of `extra_bots` (ASCII case folded).
std::string BotReason(std::string_view name, std::string_view email,
                      const std::vector<std::string>& extra_bots);

// Detects the natural language of a commit message with CLD2: an ISO 639-1 style code ("en",
// "de", "zh", "ja", "zh-Hant"), or "" when CLD2 is not confident. Thread-safe.
std::string DetectMessageLanguage(std::string_view message);

// DetectMessageLanguage looks at no more than this many bytes of a message (its start).
inline constexpr size_t kLanguageDetectionPrefix = 4096;

}  // namespace fixmine::curation
