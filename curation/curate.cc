#include "curation/curate.h"

#include <openssl/sha.h>

#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "curation/dedup.h"
#include "curation/labels.h"
#include "curation/paths.h"
#include "curation/quality.h"
#include "curation/secrets.h"
#include "fmt/format.h"

namespace fixmine::curation {

using fixmine::v1::Record;

absl::StatusOr<EmailPolicy> ParseEmailPolicy(std::string_view text) {
  if (text == "keep") return EmailPolicy::kKeep;
  if (text == "hash") return EmailPolicy::kHash;
  if (text == "drop") return EmailPolicy::kDrop;
  return absl::InvalidArgumentError(
      fmt::format("e-mail policy \"{}\" is unknown; use keep, hash or drop", text));
}

absl::StatusOr<SecretsPolicy> ParseSecretsPolicy(std::string_view text) {
  if (text == "redact") return SecretsPolicy::kRedact;
  if (text == "flag") return SecretsPolicy::kFlag;
  return absl::InvalidArgumentError(
      fmt::format("secrets policy \"{}\" is unknown; use redact or flag", text));
}

std::string HashEmail(std::string_view email) {
  if (email.empty()) return "";
  std::string lower = absl::AsciiStrToLower(absl::string_view(email.data(), email.size()));
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(lower.data()), lower.size(), digest);
  std::string out = "sha256:";
  for (int i = 0; i < 16; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

void Curate(const Options& options, Record* r) {
  auto* labels = r->mutable_labels();
  FixLabel fix = LabelFix(r->message());
  labels->set_is_fix(fix.is_fix);
  labels->clear_fix_evidence();
  for (auto& e : fix.evidence) labels->add_fix_evidence(std::move(e));
  labels->clear_issue_refs();
  for (auto& e : fix.issue_refs) labels->add_issue_refs(std::move(e));
  labels->set_not_fix_reason(fix.not_fix_reason);

  RevertLabel revert = LabelRevert(r->subject(), r->message());
  labels->set_is_revert(revert.is_revert);
  labels->set_reverted_commit(revert.reverted_commit);
  labels->clear_revert_evidence();
  for (auto& e : revert.evidence) labels->add_revert_evidence(std::move(e));

  std::string bot = BotReason(r->author().name(), r->author().email(), options.extra_bots);
  labels->set_is_bot(!bot.empty());
  labels->set_bot_reason(bot);

  for (auto& f : *r->mutable_files()) {
    f.set_vendored(IsVendored(f.path()));
    f.set_lockfile(IsLockfile(f.path()));
    f.set_generated(IsGenerated(f.path()));
    f.set_documentation(IsDocumentation(f.path()));
  }
  r->set_message_language(DetectMessageLanguage(r->message()));
  r->set_license(options.license);
  r->set_license_unsure(options.license_unsure);
  SetDropReasons(r);

  // Secrets: every text field that shows file content (added lines, pre-images).
  bool redact = options.secrets == SecretsPolicy::kRedact;
  std::set<std::string> kinds;
  bool found = false;
  for (auto& f : *r->mutable_files()) {
    found |= ScanSecrets(f.mutable_patch(), redact, &kinds);
    for (auto& h : *f.mutable_hunks()) found |= ScanSecrets(h.mutable_text(), redact, &kinds);
    found |= ScanSecrets(f.mutable_old_content(), redact, &kinds);
    found |= ScanSecrets(f.mutable_new_content(), redact, &kinds);
  }
  r->set_secrets_found(found);
  r->clear_secret_kinds();
  for (const std::string& k : kinds) r->add_secret_kinds(k);
  r->set_secrets_redacted(found && redact);

  switch (options.email) {
    case EmailPolicy::kKeep:
      break;
    case EmailPolicy::kHash:
      r->mutable_author()->set_email(HashEmail(r->author().email()));
      r->mutable_committer()->set_email(HashEmail(r->committer().email()));
      r->set_email_policy("hash");
      break;
    case EmailPolicy::kDrop:
      r->mutable_author()->clear_email();
      r->mutable_committer()->clear_email();
      r->set_email_policy("drop");
      break;
  }
  SetDedupFields(options.minhash, r);
}

}  // namespace fixmine::curation
