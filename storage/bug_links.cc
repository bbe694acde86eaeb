#include "storage/bug_links.h"

#include <openssl/sha.h>

#include <algorithm>

#include "common/status.h"
#include "storage/keys.h"

namespace fixmine::storage::internal {
namespace {

using fixmine::v1::Record;

// The id the miner gives the record of (`repo`, `commit`) (miner::RecordId, which storage does
// not link): the first 24 hex digits of the git blob id of "fixmine-record\n" repo "\n" commit.
std::string RecordIdOf(std::string_view repo, std::string_view commit) {
  std::string body = fmt::format("fixmine-record\n{}\n{}", repo, commit);
  std::string object = fmt::format("blob {}", body.size());
  object.push_back('\0');
  object += body;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(object.data()), object.size(), digest);
  std::string out;
  for (int i = 0; i < 12; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

// Adds `fix` to the record's labels.fixed_by unless present; keeps the list sorted.
bool AddFixedBy(Record* record, const std::string& fix) {
  auto* list = record->mutable_labels()->mutable_fixed_by();
  auto it = std::lower_bound(list->begin(), list->end(), fix);
  if (it != list->end() && *it == fix) return false;
  list->Add(std::string(fix));
  std::sort(list->begin(), list->end());
  return true;
}

}  // namespace

absl::Status BugLinks::Link(const rocksdb::ReadOptions* ro, Record* record, RecordWrites* writes,
                            BatchState* state, rocksdb::WriteBatch* batch, std::string_view what) {
  const std::string& repo = record->repo();
  const rocksdb::ReadOptions latest;
  {
    std::string prefix = keys::BugLinkPrefix(repo, record->commit());
    std::unique_ptr<rocksdb::Iterator> it =
        core_->NewIterator(ro != nullptr ? *ro : latest, Family::kMeta);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      AddFixedBy(record, std::string(it->key().ToStringView().substr(prefix.size())));
    }
    FIXMINE_RETURN_IF_ERROR(FromRocks(it->status(), what));
    if (auto p = state->links.find(repo + '\0' + record->commit()); p != state->links.end()) {
      for (const std::string& fix : p->second) AddFixedBy(record, fix);
    }
  }
  for (const std::string& bug : record->labels().bug_introducing_commits()) {
    if (bug.empty() || bug == record->commit()) continue;
    FIXMINE_RETURN_IF_ERROR(
        FromRocks(batch->Put(core_->cf(Family::kMeta),
                             keys::BugLinkKey(repo, bug, record->commit()), rocksdb::Slice()),
                  what));
    std::string link = repo;
    link += '\0';
    link += bug;
    if (auto p = state->added_by_commit.find(link); p != state->added_by_commit.end()) {
      AddFixedBy(&writes->added[p->second].second, record->commit());
      continue;
    }
    state->links[link].push_back(record->commit());
    FIXMINE_ASSIGN_OR_RETURN(std::optional<std::string> key,
                             records_->KeyOf(ro, RecordIdOf(repo, bug), what));
    if (!key) continue;  // not stored yet: it reads the link when it is written
    auto r = writes->rewritten.find(*key);
    if (r == writes->rewritten.end()) {
      FIXMINE_ASSIGN_OR_RETURN(std::optional<Record> bug_record, records_->ReadAt(ro, *key, what));
      if (!bug_record) continue;
      r = writes->rewritten.emplace(*key, *std::move(bug_record)).first;
    }
    AddFixedBy(&r->second, record->commit());
  }
  state->added_by_commit[repo + '\0' + record->commit()] = writes->added.size();
  return absl::OkStatus();
}

absl::Status BugLinks::AppendRemoveRepository(std::string_view repo, rocksdb::WriteBatch* batch,
                                              std::string_view what) const {
  std::string links = keys::BugLinkRepoPrefix(repo);
  return FromRocks(
      batch->DeleteRange(core_->cf(Family::kMeta), links, keys::PrefixSuccessor(links)), what);
}

}  // namespace fixmine::storage::internal
