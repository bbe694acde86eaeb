#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "fixmine/v1/records.pb.h"

namespace fixmine::curation {

// How author and committer e-mails are stored (docs/curation.md, "PII").
enum class EmailPolicy {
  kKeep,  // as written
  kHash,  // "sha256:" + 32 hex digits (16 bytes) of the SHA-256 of the lower-cased address
  kDrop,  // empty
};

// What happens to secrets found in added lines and pre-images.
enum class SecretsPolicy {
  kRedact,  // replaced by "<REDACTED:KIND>" in patch, hunks and contents; record flagged
  kFlag,    // left as they are; record flagged
};

// Settings of one curation pass. The defaults change no mined text (what `extract` wants for
// fidelity with git); the server passes its --email-policy and --secrets flags.
struct Options {
  // Extra bot names: an author whose name or e-mail contains one of these (ASCII case
  // folded) is a bot, besides the built-in rules.
  std::vector<std::string> extra_bots;
  EmailPolicy email = EmailPolicy::kKeep;
  SecretsPolicy secrets = SecretsPolicy::kFlag;
  // The repository's license (SPDX id, see license.h), copied into each record; may be empty.
  std::string license;
  // The license detection was unsure (license.h); copied into Record.license_unsure.
  bool license_unsure = false;
  // Fill Record.minhash for the store's near-duplicate index (dedup.h). The server sets it;
  // `extract` leaves it off, so its output carries only the patch fingerprint.
  bool minhash = false;
};

// Parses "keep", "hash" or "drop"; INVALID_ARGUMENT otherwise.
absl::StatusOr<EmailPolicy> ParseEmailPolicy(std::string_view text);
// Parses "redact" or "flag"; INVALID_ARGUMENT otherwise.
absl::StatusOr<SecretsPolicy> ParseSecretsPolicy(std::string_view text);

// Returns "sha256:" + hex of the first 16 bytes of SHA-256(lower-cased `email`); "" for "".
std::string HashEmail(std::string_view email);

// Labels a freshly built record in place: fix/revert/bot labels with evidence, per-file
// vendored/generated/lockfile/documentation flags, message language, license, the preset drop
// reasons (quality.h), then the secrets scan, the e-mail policy and the dedup fields
// (patch_fingerprint, minhash; dedup.h, over the text as stored), in that order (bots are
// recognised by e-mail before it is hashed). Labels are computed from the record alone; any
// earlier labels are replaced. Thread-safe.
void Curate(const Options& options, fixmine::v1::Record* record);

}  // namespace fixmine::curation
