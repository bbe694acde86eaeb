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

// Shannon entropy of `s` in bits per byte.
double ShannonEntropy(std::string_view s);

// Generic assignments count as secrets at or above this entropy (bits per byte) and length.
inline constexpr double kGenericSecretMinEntropy = 3.5;
inline constexpr size_t kGenericSecretMinLength = 12;

}  // namespace fixmine::curation
