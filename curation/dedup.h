#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fixmine/v1/records.pb.h"

namespace fixmine::curation {

// Number of values in a MinHash signature (Record.minhash); the store's near-duplicate index
// splits them into 16 bands of 4.
inline constexpr int kMinHashSize = 64;
// Fewer distinct normalised added lines than this: no signature (tiny changes such as a lone
// `}` would otherwise all look alike).
inline constexpr int kMinHashMinLines = 5;

// Returns the exact patch fingerprint of `record` (docs/curation.md, "Dedup"): 32 lower-case
// hex digits of SHA-256 over, for each file in path order, its path and its added ('+') and
// deleted ('-') hunk lines with every white-space character removed. Hunk headers, line numbers
// and context lines do not count, so a cherry-pick onto shifted lines or re-indented code gets
// the same fingerprint. "" when no file has an added or deleted line. Thread-safe.
std::string PatchFingerprint(const fixmine::v1::Record& record);

// Returns the MinHash signature (kMinHashSize values) of the set of `record`'s added lines with
// white space removed (empty lines skipped), or an empty vector when the set has fewer than
// kMinHashMinLines lines. The fraction of equal positions of two signatures estimates the
// Jaccard similarity of the two sets. Deterministic across runs and builds. Thread-safe.
std::vector<uint32_t> MinHashSignature(const fixmine::v1::Record& record);

// Sets `record`'s patch_fingerprint and, when `with_minhash`, its minhash (else clears it).
void SetDedupFields(bool with_minhash, fixmine::v1::Record* record);

}  // namespace fixmine::curation
