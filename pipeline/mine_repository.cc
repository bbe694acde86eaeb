#include "pipeline/mine_repository.h"

#include <filesystem>
#include <set>
#include <unordered_map>
#include <utility>

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

// The tip whose license the records carry: the walk's single plain revision, or HEAD.
std::string LicenseTip(const miner::WalkOptions& walk) {
  if (walk.revs.size() == 1 && walk.revs[0].find("..") == std::string::npos &&
      walk.revs[0].find('^') == std::string::npos) {
    return walk.revs[0];
  }
  return "HEAD";
}

}  // namespace

absl::Status MineRepository(const MiningSpec& spec, MiningSink* sink, MiningResult* result) {
  *result = MiningResult();
  std::error_code ec;
  if (!spec.url.empty()) {
    if (!std::filesystem::exists(spec.path, ec)) {
      if (absl::Status st = miner::CloneMirror(spec.url, spec.path, spec.clone_limits); !st.ok()) {
        return st;
      }
    } else if (spec.fetch) {
      if (absl::Status st = miner::FetchMirror(spec.path, spec.clone_limits); !st.ok()) return st;
    }
  }
  {
    miner::RepoPtr repo;
    if (absl::Status st = miner::OpenRepository(spec.path, &repo); !st.ok()) return st;
  }
  result->walked = true;

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
  miner::TrajectorySet trajectories;
  bool find_trajectories = spec.trajectories;
  if (find_trajectories) {
    // Without files: the combined diffs are rendered after the walk, a group at a time.
    absl::Status tst = miner::FindTrajectories(spec.path, walk, rec, /*with_files=*/false,
                                               &trajectories, &result->trajectory_stats);
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
    return sink->Put(std::move(r), std::move(encoded), stats);
  };
  auto progress = [sink](const miner::WalkStats& s) { sink->Progress(s); };
  absl::Status st = miner::MineEncoded(spec.path, walk, rec, encode, put, &stats, progress);
  // Whatever happened, records built so far are kept (they are complete and correct).
  absl::Status fst = sink->FlushRecords(stats);
  if (st.ok()) st = fst;
  if (!st.ok() || !find_trajectories || trajectories.trajectories.empty()) return st;

  miner::RepoPtr git_repo;
  FIXMINE_RETURN_IF_ERROR(miner::OpenRepository(spec.path, &git_repo));
  std::vector<fixmine::v1::Trajectory> group;
  size_t group_bytes = 0;
  for (size_t i = 0; i < trajectories.trajectories.size(); ++i) {
    fixmine::v1::Trajectory& t = trajectories.trajectories[i];
    for (const std::string& id : t.step_record_ids()) {
      auto m = mined_fix.find(id);
      bool fix = m != mined_fix.end() ? m->second : sink->EarlierRecordIsFix(id);
      if (fix) {
        t.set_any_fix(true);
        break;
      }
    }
    if (absl::Status fs = miner::FillTrajectoryFiles(git_repo.get(), rec, &t); !fs.ok()) {
      t.clear_files();  // kept without its diff; the steps still stand
      sink->Warn(absl::StrCat("trajectory ", t.id(), " written without its diff: ", fs.message()));
    }
    ++result->trajectories_by_steps[t.step_count()];
    group_bytes += t.ByteSizeLong();
    group.push_back(std::move(t));
    t.Clear();
    if (group.size() >= kTrajectoryGroup || group_bytes > kTrajectoryGroupBytes ||
        i + 1 == trajectories.trajectories.size()) {
      result->trajectories += static_cast<int64_t>(group.size());
      FIXMINE_RETURN_IF_ERROR(sink->PutTrajectories(&group));
      group.clear();
      group_bytes = 0;
    }
  }
  return absl::OkStatus();
}

}  // namespace fixmine::pipeline
