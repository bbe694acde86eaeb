#include "miner/walk.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "miner/combined_diff.h"
#include "miner/git_handles.h"
#include "miner/szz.h"

namespace fixmine::miner {
namespace {

constexpr size_t kMaxErrorsKept = 20;

absl::Status PushRevision(git_repository* repo, git_revwalk* walk, const std::string& rev,
                          std::vector<std::string>* tips) {
  auto bad = [&](int rc) {
    const git_error* e = git_error_last();
    return absl::InvalidArgumentError(absl::StrCat(
        "revision \"", rev, "\" does not name a commit: ", e && e->message ? e->message : "",
        " (code ", rc, ")"));
  };
  bool hide = absl::StartsWith(rev, "^");
  std::string spec_text = hide ? rev.substr(1) : rev;
  git_revspec spec{};
  int rc = git_revparse(&spec, repo, spec_text.c_str());
  if (rc != 0) return bad(rc);
  ObjectPtr from(spec.from), to(spec.to);
  auto peel = [&](git_object* obj, git_oid* out) -> int {
    git_object* c = nullptr;
    int r = git_object_peel(&c, obj, GIT_OBJECT_COMMIT);
    if (r != 0) return r;
    *out = *git_object_id(c);
    git_object_free(c);
    return 0;
  };
  if (spec.flags & GIT_REVSPEC_MERGE_BASE) {
    return absl::InvalidArgumentError(
        absl::StrCat("revision \"", rev, "\": symmetric ranges (A...B) are not supported"));
  }
  git_oid oid;
  if (spec.flags & GIT_REVSPEC_RANGE) {
    if ((rc = peel(from.get(), &oid)) != 0) return bad(rc);
    if ((rc = git_revwalk_hide(walk, &oid)) != 0) return bad(rc);
    if ((rc = peel(to.get(), &oid)) != 0) return bad(rc);
    if ((rc = git_revwalk_push(walk, &oid)) != 0) return bad(rc);
    tips->push_back(OidHex(oid));
    return absl::OkStatus();
  }
  if ((rc = peel(from.get(), &oid)) != 0) return bad(rc);
  rc = hide ? git_revwalk_hide(walk, &oid) : git_revwalk_push(walk, &oid);
  if (rc != 0) return bad(rc);
  if (!hide) tips->push_back(OidHex(oid));
  return absl::OkStatus();
}

// Whether `name` is a branch (local or remote-tracking) or, with `tags`, a tag: the refs a
// ref selection walks. Hidden refs a host adds (refs/pull/*, refs/merge-requests/*,
// refs/changes/*, refs/keep-around/*) and notes, stash or filter-branch backups are not.
bool SelectedRef(absl::string_view name, bool tags) {
  return absl::StartsWith(name, "refs/heads/") || absl::StartsWith(name, "refs/remotes/") ||
         (tags && absl::StartsWith(name, "refs/tags/"));
}

// Pushes every branch (and with `tags` every tag) that peels to a commit, plus HEAD; refs that
// do not (a tag of a tree) are passed over, as `git log --all` does. A ref whose object cannot
// be read (missing, corrupt or truncated pack) is passed over too but named in `*broken`, so
// the loss is not silent. With `glob`, only the refs it matches (any namespace) instead, and
// not HEAD; `*matched` counts them.
absl::Status PushAll(git_repository* repo, git_revwalk* walk, std::vector<std::string>* tips,
                     std::string* broken, bool tags, const char* glob = nullptr,
                     int* matched = nullptr) {
  git_reference_iterator* it_raw = nullptr;
  int rc = glob != nullptr ? git_reference_iterator_glob_new(&it_raw, repo, glob)
                           : git_reference_iterator_new(&it_raw, repo);
  if (rc != 0) return GitStatus(rc, "listing references");
  RefIterPtr it(it_raw);
  git_reference* ref = nullptr;
  while ((rc = git_reference_next(&ref, it.get())) == 0) {
    ReferencePtr owned(ref);
    if (glob == nullptr && !SelectedRef(git_reference_name(ref), tags)) continue;
    if (matched != nullptr) ++*matched;
    git_object* obj = nullptr;
    int prc = git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT);
    if (prc == 0) {
      ObjectPtr o(obj);
      if (git_revwalk_push(walk, git_object_id(obj)) == 0)
        tips->push_back(OidHex(*git_object_id(obj)));
    } else if (prc != GIT_EPEEL && broken->empty()) {
      *broken = std::string(
          GitStatus(prc, absl::StrCat("reading ref \"", git_reference_name(ref), "\"")).message());
    }
  }
  if (rc != GIT_ITEROVER) return GitStatus(rc, "listing references");
  git_oid head;
  if (glob == nullptr && git_reference_name_to_id(&head, repo, "HEAD") == 0) {
    if (git_revwalk_push(walk, &head) == 0) tips->push_back(OidHex(head));
  }
  if (glob != nullptr) return absl::OkStatus();  // keeps the revisions' order (the mainline)
  std::sort(tips->begin(), tips->end());
  tips->erase(std::unique(tips->begin(), tips->end()), tips->end());
  return absl::OkStatus();
}

// Builds records on worker threads and hands them back in submission order.
class OrderedBuilder {
 public:
  // One finished item: the record (or why it could not be built) and the encoder's output.
  struct Built {
    absl::StatusOr<fixmine::v1::Record> record;
    bool merge = false;      // built from a merge commit
    bool no_record = false;  // a merge without a conflict resolution: nothing to emit
    absl::Status encode_status;
    std::string encoded;
  };

  OrderedBuilder(std::vector<RepoPtr> repos, const RecordOptions& options,
                 const RecordEncoder& encode,
                 const std::function<void(fixmine::v1::Record*)>& annotate)
      : repos_(std::move(repos)), options_(options), encode_(encode), annotate_(annotate) {
    for (size_t i = 0; i < repos_.size(); ++i) {
      threads_.emplace_back([this, i] { Work(repos_[i].get()); });
    }
  }
  ~OrderedBuilder() { Close(); }

  size_t workers() const { return repos_.size(); }

  // Queues a commit; returns its sequence number.
  int64_t Submit(const git_oid& oid) {
    std::lock_guard<std::mutex> l(mu_);
    queue_.push_back({next_submit_, oid});
    cv_work_.notify_one();
    return next_submit_++;
  }

  int64_t InFlight() {
    std::lock_guard<std::mutex> l(mu_);
    return next_submit_ - next_emit_;
  }

  // Blocks for the next result in order; false when nothing is in flight, or as soon as
  // `*cancel` (may be null) is set: a cancel does not wait for the commits in flight.
  bool Next(Built* out, const std::atomic<bool>* cancel) {
    std::unique_lock<std::mutex> l(mu_);
    if (next_emit_ == next_submit_) return false;
    while (!cv_done_.wait_for(l, std::chrono::milliseconds(50),
                              [&] { return done_.count(next_emit_) > 0; })) {
      if (cancel != nullptr && cancel->load()) return false;
    }
    auto it = done_.find(next_emit_);
    *out = std::move(it->second);
    done_.erase(it);
    ++next_emit_;
    return true;
  }

  void Close() {
    {
      std::lock_guard<std::mutex> l(mu_);
      closing_ = true;
      queue_.clear();
    }
    cv_work_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  struct Item {
    int64_t seq;
    git_oid oid;
  };

  void Work(git_repository* repo) {
    for (;;) {
      Item item;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_work_.wait(l, [&] { return closing_ || !queue_.empty(); });
        if (queue_.empty()) return;
        item = queue_.front();
        queue_.pop_front();
      }
      Built result;
      result.record = Build(repo, item.oid, &result.merge, &result.no_record);
      if (annotate_ && result.record.ok() && !result.no_record) annotate_(&*result.record);
      if (encode_ && result.record.ok() && !result.no_record) {
        result.encode_status = encode_(*result.record, &result.encoded);
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        done_.emplace(item.seq, std::move(result));
      }
      cv_done_.notify_all();
    }
  }

  absl::StatusOr<fixmine::v1::Record> Build(git_repository* repo, const git_oid& oid, bool* merge,
                                            bool* no_record) {
    git_commit* c = nullptr;
    int rc = git_commit_lookup(&c, repo, &oid);
    if (rc != 0) return GitStatus(rc, absl::StrCat("reading commit ", OidHex(oid)));
    CommitPtr commit(c);
    if (git_commit_parentcount(commit.get()) > 1) {
      *merge = true;
      absl::StatusOr<std::optional<fixmine::v1::Record>> m =
          BuildMergeRecord(repo, commit.get(), options_);
      if (!m.ok()) return m.status();
      if (!m->has_value()) {
        *no_record = true;
        return fixmine::v1::Record();
      }
      return std::move(**m);
    }
    absl::StatusOr<fixmine::v1::Record> r = BuildRecord(repo, commit.get(), options_);
    if (r.ok()) AddBugIntroducingCommits(repo, options_.szz, &*r);
    return r;
  }

  std::vector<RepoPtr> repos_;
  const RecordOptions& options_;
  const RecordEncoder& encode_;
  const std::function<void(fixmine::v1::Record*)>& annotate_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_work_, cv_done_;
  std::deque<Item> queue_;
  std::map<int64_t, Built> done_;
  int64_t next_submit_ = 0;
  int64_t next_emit_ = 0;
  bool closing_ = false;
};

}  // namespace

absl::Status PushWalkStarts(git_repository* repo, git_revwalk* walk, const WalkOptions& walk_opts,
                            std::vector<std::string>* tips, bool* empty, std::string* broken) {
  if (empty) *empty = false;
  int rc = 0;
  if (walk_opts.all) {
    std::string ignored;
    FIXMINE_RETURN_IF_ERROR(PushAll(repo, walk, tips, broken ? broken : &ignored, walk_opts.tags));
  } else if (walk_opts.revs.empty()) {
    git_oid head;
    rc = git_reference_name_to_id(&head, repo, "HEAD");
    if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH) {
      // HEAD names a branch that does not exist (a mirror whose remote renamed its default
      // branch, say): every branch instead, so that the repository's commits are not missed.
      std::string ignored;
      FIXMINE_RETURN_IF_ERROR(
          PushAll(repo, walk, tips, broken ? broken : &ignored, /*tags=*/false));
      if (tips->empty() && empty) *empty = true;
      if (tips->empty()) return absl::OkStatus();
    } else {
      if (rc != 0) return GitStatus(rc, "resolving HEAD");
      rc = git_revwalk_push(walk, &head);
      if (rc != 0) return GitStatus(rc, "walking from HEAD");
      tips->push_back(OidHex(head));
    }
  } else {
    for (const auto& rev : walk_opts.revs) {
      if (rev.find_first_of("*?[") != std::string::npos) {
        std::string ignored;
        int matched = 0;
        FIXMINE_RETURN_IF_ERROR(PushAll(repo, walk, tips, broken ? broken : &ignored,
                                        /*tags=*/true, rev.c_str(), &matched));
        if (matched == 0) {
          return absl::InvalidArgumentError(absl::StrCat(
              "ref pattern \"", rev, "\" matches no ref; list the refs with `git for-each-ref`"));
        }
        continue;
      }
      FIXMINE_RETURN_IF_ERROR(PushRevision(repo, walk, rev, tips));
    }
  }
  for (const auto& h : walk_opts.hide) {
    git_oid oid;
    // A watermark that no longer exists (rewritten history) hides nothing; `skip` still
    // prevents duplicates.
    if (git_oid_fromstr(&oid, h.c_str()) == 0) (void)git_revwalk_hide(walk, &oid);
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> CountWalkCommits(const std::string& path, const WalkOptions& walk_opts) {
  RepoPtr repo;
  FIXMINE_RETURN_IF_ERROR(OpenRepository(path, &repo));
  git_revwalk* walk_raw = nullptr;
  int rc = git_revwalk_new(&walk_raw, repo.get());
  if (rc != 0) return GitStatus(rc, "starting the commit walk");
  RevwalkPtr walk(walk_raw);
  std::vector<std::string> tips;
  bool empty = false;
  FIXMINE_RETURN_IF_ERROR(PushWalkStarts(repo.get(), walk.get(), walk_opts, &tips, &empty));
  if (empty) return 0;
  int64_t n = 0;
  git_oid oid;
  while ((rc = git_revwalk_next(&oid, walk.get())) == 0) {
    if (++n % 4096 == 0 && walk_opts.cancel && walk_opts.cancel->load()) {
      return absl::CancelledError("mining cancelled");
    }
  }
  if (rc != GIT_ITEROVER) return GitStatus(rc, "counting commits");
  return n;
}

absl::Status Mine(const std::string& path, const WalkOptions& walk_opts,
                  const RecordOptions& record_opts, const RecordSink& sink, WalkStats* stats_out,
                  const ProgressFn& progress) {
  return MineEncoded(
      path, walk_opts, record_opts, RecordEncoder(),
      [&sink](fixmine::v1::Record&& r, std::string&&) { return sink(std::move(r)); }, stats_out,
      progress);
}

absl::Status MineEncoded(const std::string& path, const WalkOptions& walk_opts,
                         const RecordOptions& record_opts, const RecordEncoder& encode,
                         const EncodedRecordSink& sink, WalkStats* stats_out,
                         const ProgressFn& progress) {
  WalkStats local;
  WalkStats& stats = stats_out ? *stats_out : local;
  RepoPtr repo;
  FIXMINE_RETURN_IF_ERROR(OpenRepository(path, &repo));

  git_revwalk* walk_raw = nullptr;
  int rc = git_revwalk_new(&walk_raw, repo.get());
  if (rc != 0) return GitStatus(rc, "starting the commit walk");
  RevwalkPtr walk(walk_raw);
  git_revwalk_sorting(walk.get(), GIT_SORT_TIME);

  bool empty = false;
  std::string broken;
  FIXMINE_RETURN_IF_ERROR(
      PushWalkStarts(repo.get(), walk.get(), walk_opts, &stats.tips, &empty, &broken));
  if (!broken.empty()) stats.walk_error = broken;
  if (empty) return absl::OkStatus();  // no commits

  int workers = walk_opts.workers > 0
                    ? walk_opts.workers
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<RepoPtr> repos;
  for (int i = 0; i < workers; ++i) {
    RepoPtr r;
    FIXMINE_RETURN_IF_ERROR(OpenRepository(path, &r));
    repos.push_back(std::move(r));
  }
  OrderedBuilder builder(std::move(repos), record_opts, encode, walk_opts.annotate);
  // Results wait here until every older commit is done: enough room that one slow commit (a
  // mass reformat) does not leave the other workers idle, little enough to bound memory.
  const int64_t max_in_flight = int64_t{128} * workers;

  absl::Status sink_status;
  auto emit_one = [&]() -> bool {
    OrderedBuilder::Built b;
    if (!builder.Next(&b, walk_opts.cancel)) return false;
    absl::StatusOr<fixmine::v1::Record>& r = b.record;
    if (r.ok() && b.no_record) {
      ++stats.merges_skipped;
    } else if (!r.ok()) {
      ++stats.commits_skipped;
      if (stats.errors.size() < kMaxErrorsKept) stats.errors.emplace_back(r.status().message());
    } else if (!b.encode_status.ok()) {
      if (sink_status.ok()) sink_status = b.encode_status;
    } else if (walk_opts.max_commits > 0 && stats.records >= walk_opts.max_commits) {
      // Past the record budget (merge records walked before it was reached): not emitted.
    } else if (sink_status.ok()) {
      if (b.merge) ++stats.merge_resolutions;
      ++stats.records;
      stats.files += r->files_size();
      stats.unavailable_files += r->unavailable_files();
      sink_status = sink(std::move(*r), std::move(b.encoded));
      if (progress && stats.records % 256 == 0) progress(stats);
    }
    return true;
  };

  int64_t submitted = 0;
  git_oid oid;
  while (sink_status.ok()) {
    if (walk_opts.cancel && walk_opts.cancel->load()) {
      return absl::CancelledError("mining cancelled");
    }
    if (walk_opts.max_commits > 0 && submitted >= walk_opts.max_commits) break;
    rc = git_revwalk_next(&oid, walk.get());
    if (rc == GIT_ITEROVER) break;
    if (rc != 0) {
      stats.walk_error = std::string(GitStatus(rc, "walking commits").message());
      break;
    }
    ++stats.commits_walked;
    // Progress by commits too: a walk through stored or filtered-out commits makes no records.
    if (progress && stats.commits_walked % 128 == 0) progress(stats);
    git_commit* c = nullptr;
    rc = git_commit_lookup(&c, repo.get(), &oid);
    if (rc != 0) {
      ++stats.commits_skipped;
      if (stats.errors.size() < kMaxErrorsKept) {
        stats.errors.emplace_back(
            GitStatus(rc, absl::StrCat("reading commit ", OidHex(oid))).message());
      }
      continue;
    }
    CommitPtr commit(c);
    int64_t t = git_commit_time(commit.get());
    if ((walk_opts.since && t < *walk_opts.since) || (walk_opts.until && t > *walk_opts.until)) {
      continue;
    }
    if (walk_opts.skip && walk_opts.skip(OidHex(oid))) {
      ++stats.already_present;
      continue;
    }
    builder.Submit(oid);
    // The record budget counts non-merge commits here; a merge may yield no record, and the
    // records past the budget that merges add are dropped when emitted.
    if (git_commit_parentcount(commit.get()) <= 1) ++submitted;
    while (builder.InFlight() >= max_in_flight && sink_status.ok() && emit_one()) {
    }
  }
  while (sink_status.ok() && emit_one()) {
  }
  // Closing drops the commits not yet started; only the ones being built are waited for.
  builder.Close();
  if (walk_opts.cancel && walk_opts.cancel->load()) return absl::CancelledError("mining cancelled");
  if (progress) progress(stats);
  return sink_status;
}

}  // namespace fixmine::miner
