#include "pipeline/mine_repository.h"

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "miner/git_handles.h"
#include "miner/license_file.h"
#include "miner/repo_profile.h"

namespace fixmine::pipeline {
namespace {

// Trajectories are rendered and handed over in groups of at most this many, or this many
// bytes: a walk's combined diffs are never all in memory at once.
constexpr size_t kTrajectoryGroup = 64;
constexpr size_t kTrajectoryGroupBytes = size_t{16} << 20;
// Rendered trajectories waiting to be handed over, per rendering thread, at most.
constexpr size_t kRenderAhead = 2;

// The tip whose license the records carry: the walk's single plain revision, or HEAD.
std::string LicenseTip(const miner::WalkOptions& walk) {
  if (walk.revs.size() == 1 && walk.revs[0].find("..") == std::string::npos &&
      walk.revs[0].find('^') == std::string::npos) {
    return walk.revs[0];
  }
  return "HEAD";
}

// Whether `r`'s files are what FillTrajectoryFiles would render for the one-step trajectory
// `t` (the diff base..tip): the step's diff from its first parent, when that parent is the base
// and the record's budget shed nothing (shedding marks the contents truncated or the patch
// unavailable with the budget's reason; a content-capped file is passed over too).
bool FilesAreTrajectoryDiff(const fixmine::v1::Record& r, const fixmine::v1::Trajectory& t) {
  if (r.parents_size() == 0 || r.parents(0) != t.base_commit()) return false;
  for (const fixmine::v1::FileChange& f : r.files()) {
    if (f.old_content_truncated() || f.new_content_truncated()) return false;
    if (f.unavailable() && absl::StartsWith(f.unavailable_reason(), miner::kRecordBudgetReason)) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::Status MineRepository(const MiningSpec& spec, MiningSink* sink, MiningResult* result) {
  *result = MiningResult();
  std::error_code ec;
  if (!spec.url.empty()) {
    if (!std::filesystem::exists(spec.path, ec)) {
      sink->Phase("clone", 0);
      if (absl::Status st = miner::CloneMirror(spec.url, spec.path, spec.clone_limits); !st.ok()) {
        return st;
      }
    } else if (spec.fetch) {
      sink->Phase("fetch", 0);
      if (absl::Status st = miner::FetchMirror(spec.path, spec.clone_limits); !st.ok()) return st;
    }
  }
  {
    miner::RepoPtr repo;
    if (absl::Status st = miner::OpenRepository(spec.path, &repo); !st.ok()) return st;
  }
  result->walked = true;
  sink->Opened();

  miner::WalkOptions walk = spec.walk;
  miner::RecordOptions rec = spec.record;
  auto license = miner::DetectRepositoryLicenseDetail(spec.path, LicenseTip(walk));
  rec.curation.license = license.ok() ? license->spdx : spec.fallback_license;
  rec.curation.license_unsure = license.ok() && license->unsure;
  // A failure here (a tree that cannot be read) only costs the `.h` hint: headers fall back to
  // their content, then C.
  auto profile = miner::ProfileRepository(spec.path, LicenseTip(walk));
  if (profile.ok()) rec.header_language = profile->header_language;
  result->license = rec.curation.license;

  // Trajectories first (a graph pass and one diff per branch, no records): the walk then fills
  // each step record's trajectory fields. Found again identically when a run resumes.
  // The progress total of both passes (they visit the same commits); unknown when the count
  // fails (the walk then reports why).
  int64_t total = 0;
  if (auto n = miner::CountWalkCommits(spec.path, walk); n.ok()) total = *n;
  miner::TrajectorySet trajectories;
  bool find_trajectories = spec.trajectories;
  if (find_trajectories) {
    sink->Phase("trajectories", total);
    miner::TrajectoryOptions topts;
    topts.progress = [sink](int64_t done) { sink->PhaseDone(done); };
    // Without files: the combined diffs are rendered after the walk, a group at a time.
    absl::Status tst = miner::FindTrajectories(spec.path, walk, rec, /*with_files=*/false,
                                               &trajectories, &result->trajectory_stats, topts);
    // A cancel during this pass reaches the walk below, which returns CANCELLED.
    if (!tst.ok() && tst.code() != absl::StatusCode::kCancelled) {
      // The graph could not be walked whole (a shallow or damaged history): the records are
      // mined without trajectories; the walk below reports what stopped it.
      result->trajectory_error = std::string(tst.message());
      sink->Warn(absl::StrCat("no trajectories: ", tst.message()));
      trajectories = miner::TrajectorySet();
      find_trajectories = false;
    }
  }
  const auto& decontaminate = spec.decontaminate;
  if (find_trajectories || decontaminate) {
    walk.annotate = [&trajectories, find_trajectories, &decontaminate](fixmine::v1::Record* r) {
      if (find_trajectories) trajectories.Annotate(r);
      if (decontaminate) decontaminate(r);
    };
  }

  // Whether each step record this run mined is a fix, by id: any_fix comes from it without
  // reading the records back.
  std::unordered_map<std::string, bool> mined_fix;
  // A one-step trajectory whose base is its step's first parent has the step's diff: its files
  // are the step record's, taken when the walk hands the record over, and it is handed over
  // then, in groups, instead of being rendered again after the walk (its diff was 55% of the
  // renderings on libgit2). The rest, and any whose record this run did not mine, are rendered
  // after the walk.
  std::vector<fixmine::v1::Trajectory>& all = trajectories.trajectories;
  std::unordered_map<std::string, size_t> one_step;  // step commit -> index in `all`
  std::vector<char> early(all.size(), 0);
  if (find_trajectories) {
    for (size_t i = 0; i < all.size(); ++i) {
      const fixmine::v1::Trajectory& t = all[i];
      if (t.step_count() == 1 && !t.base_commit().empty() && t.tip_commit() == t.step_commits(0)) {
        one_step.emplace(t.step_commits(0), i);
      }
    }
  }
  std::vector<fixmine::v1::Trajectory> early_group;
  size_t early_bytes = 0;
  auto flush_early = [&]() -> absl::Status {
    if (early_group.empty()) return absl::OkStatus();
    result->trajectories += static_cast<int64_t>(early_group.size());
    absl::Status ps = sink->PutTrajectories(&early_group);
    early_group.clear();
    early_bytes = 0;
    return ps;
  };
  miner::WalkStats& stats = result->stats;
  miner::RecordEncoder encode;
  if (sink->Encodes()) {
    encode = [sink](const fixmine::v1::Record& r, std::string* out) {
      return sink->Encode(r, out);
    };
  }
  // Bug commit -> the fix commits handed over so far that name it (fixed_by_from_walk).
  std::unordered_map<std::string, std::vector<std::string>> fixes_of;
  auto put = [&](fixmine::v1::Record&& r, std::string&& encoded) -> absl::Status {
    if (find_trajectories && !r.trajectory_id().empty()) mined_fix[r.id()] = r.labels().is_fix();
    if (spec.fixed_by_from_walk) {
      if (auto it = fixes_of.find(r.commit()); it != fixes_of.end()) {
        // As the store keeps it: sorted, each fix once.
        std::set<std::string> fixes(r.labels().fixed_by().begin(), r.labels().fixed_by().end());
        fixes.insert(it->second.begin(), it->second.end());
        r.mutable_labels()->clear_fixed_by();
        for (const std::string& f : fixes) r.mutable_labels()->add_fixed_by(f);
        fixes_of.erase(it);
        // Encoded on a worker before the links were known: encoded again (rare).
        if (sink->Encodes()) {
          encoded.clear();
          FIXMINE_RETURN_IF_ERROR(sink->Encode(r, &encoded));
        }
      }
      for (const std::string& bug : r.labels().bug_introducing_commits()) {
        if (!bug.empty() && bug != r.commit()) fixes_of[bug].push_back(r.commit());
      }
    }
    fixmine::v1::Trajectory* taken = nullptr;
    if (auto it = one_step.find(r.commit());
        it != one_step.end() && !early[it->second] && FilesAreTrajectoryDiff(r, all[it->second])) {
      taken = &all[it->second];
      early[it->second] = 1;
      // As after the walk: any_fix first (the budget counts it), then the files and the budget.
      taken->set_any_fix(r.labels().is_fix());
      *taken->mutable_files() = r.files();
      miner::FitTrajectoryBudget(rec.max_record_bytes, taken);
    }
    // The record first: a failed hand-over of the trajectories must not lose it.
    FIXMINE_RETURN_IF_ERROR(sink->Put(std::move(r), std::move(encoded), stats));
    if (taken != nullptr) {
      ++result->trajectories_by_steps[taken->step_count()];
      early_bytes += taken->ByteSizeLong();
      early_group.push_back(std::move(*taken));
      taken->Clear();
      if (early_group.size() >= kTrajectoryGroup || early_bytes > kTrajectoryGroupBytes) {
        return flush_early();
      }
    }
    return absl::OkStatus();
  };
  auto progress = [sink](const miner::WalkStats& s) { sink->Progress(s); };
  sink->Phase("walk", total);
  absl::Status st = miner::MineEncoded(spec.path, walk, rec, encode, put, &stats, progress);
  // Whatever happened, records built so far are kept (they are complete and correct).
  absl::Status fst = sink->FlushRecords(stats);
  if (st.ok()) st = fst;
  // The rest of the early trajectories only after a whole walk whose records are stored, as the
  // rendered ones (a resumed run renders them instead: their records are not walked again).
  if (st.ok()) st = flush_early();
  if (!st.ok() || !find_trajectories || trajectories.trajectories.empty()) return st;

  // any_fix of every trajectory still to render, here (EarlierRecordIsFix reads the sink's
  // store on this thread) and before the rendering, whose budget counts it.
  for (size_t i = 0; i < all.size(); ++i) {
    if (early[i]) continue;
    fixmine::v1::Trajectory& t = all[i];
    for (const std::string& id : t.step_record_ids()) {
      auto m = mined_fix.find(id);
      bool fix = m != mined_fix.end() ? m->second : sink->EarlierRecordIsFix(id);
      if (fix) {
        t.set_any_fix(true);
        break;
      }
    }
  }

  // The combined diffs are rendered on the walk's number of threads, each with its own
  // repository, at most kRenderAhead per thread ahead of the trajectory handed over next;
  // any_fix, warnings and groups are done on this thread in order, so the output is the same
  // as one thread's.
  const size_t n = all.size();
  size_t threads = walk.workers > 0 ? static_cast<size_t>(walk.workers)
                                    : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min(threads, n);
  // One that cannot be opened (a limit on open files) means fewer threads; none, an error.
  std::vector<miner::RepoPtr> repos;
  for (size_t k = 0; k < threads; ++k) {
    miner::RepoPtr r;
    absl::Status os = miner::OpenRepository(spec.path, &r);
    if (!os.ok()) {
      if (repos.empty()) return os;
      break;
    }
    repos.push_back(std::move(r));
  }
  const size_t ahead = kRenderAhead * repos.size();
  std::vector<absl::Status> filled(n);
  std::vector<char> ready(n, 0);
  // std::mutex, not absl::Mutex: Debian's abseil is built without ThreadSanitizer's
  // annotations, so the sanitizer would not see absl's locks order these threads.
  std::mutex mu;
  std::condition_variable taken_cv;  // a trajectory was handed over, or stop was set
  std::condition_variable ready_cv;  // a trajectory was rendered
  size_t next = 0;                   // the next trajectory a thread takes; guarded by mu
  size_t consumed = 0;               // trajectories handed over so far; guarded by mu
  bool stop = false;                 // the hand-over failed or ended; guarded by mu
  auto render = [&](git_repository* repo) {
    for (;;) {
      size_t i;
      {
        std::unique_lock<std::mutex> lock(mu);
        taken_cv.wait(lock, [&] { return stop || next >= n || next < consumed + ahead; });
        if (stop || next >= n) return;
        i = next++;
      }
      absl::Status st =
          early[i] ? absl::OkStatus() : miner::FillTrajectoryFiles(repo, rec, &all[i]);
      {
        std::lock_guard<std::mutex> lock(mu);
        filled[i] = std::move(st);
        ready[i] = 1;
      }
      ready_cv.notify_all();
    }
  };
  auto set_consumed = [&](size_t c) {
    {
      std::lock_guard<std::mutex> lock(mu);
      consumed = c;
    }
    taken_cv.notify_all();
  };
  std::vector<std::thread> pool;
  pool.reserve(repos.size());
  for (miner::RepoPtr& r : repos) pool.emplace_back(render, r.get());
  auto join = [&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
    }
    taken_cv.notify_all();
    for (std::thread& t : pool) t.join();
  };

  std::vector<fixmine::v1::Trajectory> group;
  size_t group_bytes = 0;
  sink->Phase("diffs", static_cast<int64_t>(n));
  for (size_t i = 0; i < n; ++i) {
    if (i % 16 == 0) sink->PhaseDone(static_cast<int64_t>(i));
    absl::Status fs;
    {
      std::unique_lock<std::mutex> lock(mu);
      ready_cv.wait(lock, [&] { return ready[i] != 0; });
      fs = std::move(filled[i]);
    }
    if (early[i]) {
      set_consumed(i + 1);
      if (i + 1 == n && !group.empty()) {
        result->trajectories += static_cast<int64_t>(group.size());
        if (absl::Status ps = sink->PutTrajectories(&group); !ps.ok()) {
          join();
          return ps;
        }
        group.clear();
      }
      continue;  // handed over during the walk
    }
    fixmine::v1::Trajectory& t = all[i];
    if (!fs.ok()) {
      t.clear_files();  // kept without its diff; the steps still stand
      sink->Warn(absl::StrCat("trajectory ", t.id(), " written without its diff: ", fs.message()));
    }
    ++result->trajectories_by_steps[t.step_count()];
    group_bytes += t.ByteSizeLong();
    group.push_back(std::move(t));
    t.Clear();
    set_consumed(i + 1);
    if (group.size() >= kTrajectoryGroup || group_bytes > kTrajectoryGroupBytes || i + 1 == n) {
      result->trajectories += static_cast<int64_t>(group.size());
      if (absl::Status ps = sink->PutTrajectories(&group); !ps.ok()) {
        join();
        return ps;
      }
      group.clear();
      group_bytes = 0;
    }
  }
  join();
  sink->PhaseDone(static_cast<int64_t>(trajectories.trajectories.size()));
  return absl::OkStatus();
}

}  // namespace fixmine::pipeline
