#include "storage/github_store.h"

#include <algorithm>

#include "common/status.h"
#include "fmt/format.h"
#include "storage/db_core.h"
#include "storage/keys.h"

namespace fixmine::storage {

using fixmine::v1::GithubSyncState;
using fixmine::v1::Instance;
using fixmine::v1::Issue;
using fixmine::v1::IssueComment;
using fixmine::v1::PullRequest;
using internal::Family;
using internal::FromRocks;

namespace {

bool BadRepo(std::string_view repo) {
  return repo.empty() || repo.find('\0') != std::string_view::npos;
}

std::string Prefix(std::string_view repo, char tag) {
  std::string k = keys::RepoPrefix(repo);
  k.push_back(tag);
  return k;
}

std::string NumberKey(std::string_view repo, char tag, int64_t n) {
  std::string k = Prefix(repo, tag);
  keys::AppendBigEndian64(&k, static_cast<uint64_t>(n));
  return k;
}

std::string CommentKey(std::string_view repo, int64_t issue, int64_t id) {
  std::string k = NumberKey(repo, 'c', issue);
  keys::AppendBigEndian64(&k, static_cast<uint64_t>(id));
  return k;
}

std::string EtagKey(std::string_view repo, std::string_view url) {
  std::string k = Prefix(repo, 'e');
  k.append(url);
  return k;
}

// Visits the values under `prefix` parsed as `Message`.
template <typename Message>
absl::Status ScanPrefix(const internal::DbCore& core, const std::string& prefix,
                        const std::string& after, std::string_view what,
                        const std::function<bool(const Message&, const std::string&)>& visit) {
  std::string upper = keys::PrefixSuccessor(prefix);
  std::unique_ptr<internal::ReadView> view = core.View();
  rocksdb::ReadOptions ro = view->options();
  rocksdb::Slice upper_slice(upper);
  if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it = core.NewIterator(ro, Family::kGithub);
  it->Seek(std::max(prefix, after));
  if (!after.empty() && it->Valid() && it->key() == rocksdb::Slice(after)) it->Next();
  Message m;
  for (; it->Valid(); it->Next()) {
    if (!m.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(fmt::format("{}: a stored value does not parse", what));
    }
    if (!visit(m, it->key().ToString())) return absl::OkStatus();
  }
  return FromRocks(it->status(), what);
}

}  // namespace

absl::StatusOr<std::unique_ptr<GithubStore>> GithubStore::Of(RecordStore* store) {
  if (store == nullptr) {
    return absl::FailedPreconditionError("GitHub data needs a store opened by RecordStore::Open");
  }
  return std::make_unique<GithubStore>(store->core());
}

absl::StatusOr<int64_t> GithubStore::Write(const GithubWrite& w) {
  const std::string what = "storing GitHub objects";
  rocksdb::WriteBatch batch;
  int64_t changed = 0;
  auto put = [&](std::string_view repo, const std::string& key,
                 const google::protobuf::Message& m) -> absl::Status {
    if (BadRepo(repo)) {
      return absl::InvalidArgumentError(
          fmt::format("{}: an object has an empty repository name or one holding NUL", what));
    }
    std::string value = m.SerializeAsString();
    std::string old;
    FIXMINE_ASSIGN_OR_RETURN(bool found, core_->Get(nullptr, Family::kGithub, key, &old, what));
    if (found && old == value) return absl::OkStatus();
    ++changed;
    return FromRocks(batch.Put(core_->cf(Family::kGithub), key, value), what);
  };
  for (const Issue& i : w.issues) {
    FIXMINE_RETURN_IF_ERROR(put(i.repo(), NumberKey(i.repo(), 'i', i.number()), i));
  }
  for (const PullRequest& p : w.pulls) {
    FIXMINE_RETURN_IF_ERROR(put(p.repo(), NumberKey(p.repo(), 'p', p.number()), p));
  }
  for (const IssueComment& c : w.comments) {
    FIXMINE_RETURN_IF_ERROR(put(c.repo(), CommentKey(c.repo(), c.issue_number(), c.id()), c));
  }
  for (const GithubWrite::Etag& e : w.etags) {
    if (BadRepo(e.repo)) return absl::InvalidArgumentError(what + ": an ETag has no repository");
    FIXMINE_RETURN_IF_ERROR(
        FromRocks(batch.Put(core_->cf(Family::kGithub), EtagKey(e.repo, e.url), e.value), what));
  }
  if (w.state) {
    if (BadRepo(w.state->first)) return absl::InvalidArgumentError(what + ": bad state repo");
    FIXMINE_RETURN_IF_ERROR(
        FromRocks(batch.Put(core_->cf(Family::kGithub), Prefix(w.state->first, 's'),
                            w.state->second.SerializeAsString()),
                  what));
  }
  if (batch.Count() > 0) FIXMINE_RETURN_IF_ERROR(core_->Write(what, &batch));
  return changed;
}

absl::StatusOr<std::optional<Issue>> GithubStore::GetIssue(std::string_view repo, int64_t number) {
  return core_->GetProto<Issue>(nullptr, Family::kGithub, NumberKey(repo, 'i', number),
                                fmt::format("reading issue #{} of {}", number, QuoteInput(repo)));
}

absl::StatusOr<std::optional<PullRequest>> GithubStore::GetPull(std::string_view repo,
                                                                int64_t number) {
  return core_->GetProto<PullRequest>(
      nullptr, Family::kGithub, NumberKey(repo, 'p', number),
      fmt::format("reading pull request #{} of {}", number, QuoteInput(repo)));
}

absl::StatusOr<std::optional<StoredEtag>> GithubStore::GetEtag(std::string_view repo,
                                                               std::string_view url) {
  std::string value;
  FIXMINE_ASSIGN_OR_RETURN(bool found, core_->Get(nullptr, Family::kGithub, EtagKey(repo, url),
                                                  &value, "reading an ETag"));
  if (!found) return std::optional<StoredEtag>();
  size_t nl = value.find('\n');
  StoredEtag e;
  e.etag = value.substr(0, nl);
  if (nl != std::string::npos) e.next_url = value.substr(nl + 1);
  return std::optional<StoredEtag>(std::move(e));
}

absl::StatusOr<GithubSyncState> GithubStore::GetSyncState(std::string_view repo) {
  auto s = core_->GetProto<GithubSyncState>(nullptr, Family::kGithub, Prefix(repo, 's'),
                                            "reading the sync state");
  if (!s.ok()) return s.status();
  return s->value_or(GithubSyncState());
}

absl::Status GithubStore::ScanIssues(
    std::string_view repo, const std::string& after,
    const std::function<bool(const Issue&, const std::string& key)>& visit) {
  return ScanPrefix<Issue>(*core_, Prefix(repo, 'i'), after, "scanning issues", visit);
}

absl::Status GithubStore::ScanPulls(std::string_view repo,
                                    const std::function<bool(const PullRequest&)>& visit) {
  return ScanPrefix<PullRequest>(
      *core_, Prefix(repo, 'p'), "", "scanning pull requests",
      [&](const PullRequest& p, const std::string&) { return visit(p); });
}

absl::Status GithubStore::ScanComments(std::string_view repo, int64_t issue_number,
                                       const std::function<bool(const IssueComment&)>& visit) {
  return ScanPrefix<IssueComment>(
      *core_, NumberKey(repo, 'c', issue_number), "", "scanning comments",
      [&](const IssueComment& c, const std::string&) { return visit(c); });
}

absl::Status GithubStore::ReplaceInstances(std::string_view repo,
                                           const std::vector<Instance>& instances,
                                           const std::vector<PullRequest>& pulls) {
  const std::string what = fmt::format("storing the instances of {}", QuoteInput(repo));
  if (BadRepo(repo)) return absl::InvalidArgumentError(what + ": bad repository name");
  rocksdb::WriteBatch batch;
  std::string lower = Prefix(repo, 'n');
  FIXMINE_RETURN_IF_ERROR(FromRocks(
      batch.DeleteRange(core_->cf(Family::kGithub), lower, keys::PrefixSuccessor(lower)), what));
  for (const Instance& i : instances) {
    FIXMINE_RETURN_IF_ERROR(
        FromRocks(batch.Put(core_->cf(Family::kGithub), NumberKey(repo, 'n', i.pull_number()),
                            i.SerializeAsString()),
                  what));
  }
  for (const PullRequest& p : pulls) {
    FIXMINE_RETURN_IF_ERROR(
        FromRocks(batch.Put(core_->cf(Family::kGithub), NumberKey(repo, 'p', p.number()),
                            p.SerializeAsString()),
                  what));
  }
  return core_->Write(what, &batch);
}

absl::Status GithubStore::ScanInstances(
    const InstanceFilter* filter, const std::string& after,
    const std::function<bool(const Instance&, const std::string& key)>& visit,
    const std::function<void(Instance*)>& prepare) {
  const std::string what = "scanning instances";
  if (!after.empty() && (after.size() < 10 || after[after.size() - 9] != 'n')) {
    return absl::InvalidArgumentError(what + ": the start position is not an instance key");
  }
  // Instances sit among the other objects of each repository: with a repository given, one
  // prefix; otherwise every key is visited and the non-instance ones skipped.
  std::string lower, upper;
  if (filter != nullptr && filter->repo()) {
    lower = Prefix(*filter->repo(), 'n');
    upper = keys::PrefixSuccessor(lower);
  }
  std::unique_ptr<internal::ReadView> view = core_->View();
  rocksdb::ReadOptions ro = view->scan_options();
  rocksdb::Slice upper_slice(upper);
  if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it = core_->NewIterator(ro, Family::kGithub);
  it->Seek(std::max(lower, after));
  if (!after.empty() && it->Valid() && it->key() == rocksdb::Slice(after)) it->Next();
  Instance inst;
  for (; it->Valid(); it->Next()) {
    std::string_view key = it->key().ToStringView();
    std::optional<size_t> repo_len = keys::PrimaryRepoLength(key);
    if (!repo_len || key.size() != *repo_len + 1 + 1 + 8 || key[*repo_len + 1] != 'n') continue;
    if (!inst.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(what + ": a stored value does not parse");
    }
    if (prepare) prepare(&inst);
    if (filter != nullptr && !filter->Matches(inst)) continue;
    if (!visit(inst, std::string(key))) return absl::OkStatus();
  }
  return FromRocks(it->status(), what);
}

absl::Status GithubStore::AppendRemoveRepository(std::string_view repo,
                                                 rocksdb::WriteBatch* batch) {
  std::string prefix = keys::RepoPrefix(repo);
  return FromRocks(
      batch->DeleteRange(core_->cf(Family::kGithub), prefix, keys::PrefixSuccessor(prefix)),
      fmt::format("removing the GitHub data of {}", QuoteInput(repo)));
}

}  // namespace fixmine::storage
