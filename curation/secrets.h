#pragma once

#include <set>
#include <string>
#include <string_view>

namespace fixmine::curation {

// Scans `text` for secrets: private key blocks (private_key), AWS access key ids
// (aws_access_key), GitHub tokens (github_token), GitLab tokens (gitlab_token) and assignments
// of a high-entropy string literal to a name like secret/token/password/api_key
// (generic_secret). Adds each kind found to `kinds`. When `redact`, replaces each secret in
// place by "<REDACTED:KIND>", line for line (a patch keeps its line count and its diff prefix
// characters). Returns true when anything was found. Thread-safe.
bool ScanSecrets(std::string* text, bool redact, std::set<std::string>* kinds);

// Returns where the leftmost match of SecretKeywordPattern() in `text` at or after `from` starts,
// or std::string_view::npos: exactly what RE2 reports for that pattern, found by a literal
// search that looks at 16 bytes at a time (the RE2 DFA costs about 16 instructions per byte).
// Text with the two non-ASCII characters that RE2's case folding maps onto the keywords' letters
// (U+017F for s, U+212A for k) near a candidate is handed to RE2. Thread-safe.
size_t FindSecretKeyword(std::string_view text, size_t from);

// The keyword expression ScanSecrets uses to find candidate lines: every rule needs one of these
// case-folded substrings on the line it matches.
const char* SecretKeywordPattern();

// Shannon entropy of `s` in bits per byte.
double ShannonEntropy(std::string_view s);

// Generic assignments count as secrets at or above this entropy (bits per byte) and length.
inline constexpr double kGenericSecretMinEntropy = 3.5;
inline constexpr size_t kGenericSecretMinLength = 12;

}  // namespace fixmine::curation
