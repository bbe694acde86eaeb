#include "github/linker.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/formats.h"
#include "common/status.h"
#include "github/model.h"
#include "miner/record_builder.h"
#include "storage/filter.h"
#include "storage/trajectory_filter.h"

namespace fixmine::github {
namespace {

using fixmine::v1::FileChange;
using fixmine::v1::Instance;
using fixmine::v1::Issue;
using fixmine::v1::IssueComment;
using fixmine::v1::PullRequest;
using fixmine::v1::Record;
using fixmine::v1::Trajectory;

// The unified diff of the files `keep` selects, in the trajectory's (git's) order.
std::string DiffOf(const Trajectory& t, bool test_files) {
  std::string d;
  for (const FileChange& f : t.files()) {
    if (IsTestPath(f.path()) != test_files) continue;
    d.append(f.patch());
    if (!d.empty() && d.back() != '\n') d.push_back('\n');
  }
  return d;
}

void AddLabels(const Record& r, std::set<std::string>* labels) {
  const auto& l = r.labels();
  if (l.is_fix()) labels->insert("is_fix");
  if (l.is_revert()) labels->insert("is_revert");
  if (l.is_bot()) labels->insert("is_bot");
  if (r.secrets_found()) labels->insert("secrets_found");
  if (!r.duplicate_of().empty()) labels->insert("duplicate");
  if (!r.near_duplicate_of().empty()) labels->insert("near_duplicate");
  for (const FileChange& f : r.files()) {
    if (f.vendored()) labels->insert("vendored");
    if (f.generated()) labels->insert("generated");
    if (f.lockfile()) labels->insert("lockfile");
    if (f.documentation()) labels->insert("documentation");
  }
  for (const std::string& d : r.quality().drop_reasons()) labels->insert("drop:" + d);
}

}  // namespace

std::string InstanceId(const std::string& github_repo, int64_t pull_number) {
  return absl::StrCat(absl::StrReplaceAll(github_repo, {{"/", "__"}}), "-", pull_number);
}

absl::StatusOr<LinkResult> LinkRepository(storage::RecordStore* records,
                                          storage::TrajectoryStore* trajectories,
                                          storage::GithubStore* github, const std::string& repo,
                                          const std::string& github_repo) {
  LinkResult result;
  std::map<int64_t, Issue> issues;
  FIXMINE_RETURN_IF_ERROR(github->ScanIssues(repo, "", [&](const Issue& i, const std::string&) {
    issues[i.number()] = i;
    return true;
  }));
  std::vector<PullRequest> pulls;
  FIXMINE_RETURN_IF_ERROR(github->ScanPulls(repo, [&](const PullRequest& p) {
    pulls.push_back(p);
    return true;
  }));

  // The repository's trajectories, indexed by merge commit, pull number and commit.
  std::vector<Trajectory> trajs;
  if (trajectories != nullptr) {
    FIXMINE_ASSIGN_OR_RETURN(
        auto filter, storage::TrajectoryFilter::Parse(absl::StrCat("repo = \"", repo, "\"")));
    FIXMINE_RETURN_IF_ERROR(
        trajectories->Scan(filter.get(), "", [&](const Trajectory& t, const std::string&) {
          trajs.push_back(t);
          return true;
        }));
  }
  std::map<std::string, size_t> by_merge, by_commit;
  std::map<int64_t, size_t> by_number;
  for (size_t i = 0; i < trajs.size(); ++i) {
    const Trajectory& t = trajs[i];
    by_merge.emplace(t.merge_commit(), i);
    if (t.pr_number() > 0) by_number.emplace(t.pr_number(), i);
    by_commit.emplace(t.tip_commit(), i);
    for (const std::string& c : t.step_commits()) by_commit.emplace(c, i);
  }

  auto record_of = [&](const std::string& commit) -> std::optional<Record> {
    auto r = records->GetRecord(miner::RecordId(repo, commit));
    if (!r.ok()) return std::nullopt;
    return std::move(*r);
  };

  std::map<std::string, std::set<int64_t>> record_issues;  // record id -> issues
  std::vector<Instance> instances;
  std::vector<PullRequest> changed_pulls;
  for (PullRequest& p : pulls) {
    const Trajectory* t = nullptr;
    std::string matched_by;
    if (p.merged_at() != 0) {
      if (auto it = by_merge.find(p.merge_commit());
          !p.merge_commit().empty() && it != by_merge.end()) {
        t = &trajs[it->second];
        matched_by = "merge_commit";
      } else if (auto n = by_number.find(p.number()); n != by_number.end()) {
        t = &trajs[n->second];
        matched_by = "squash_title";
      } else {
        std::vector<std::string> commits = {p.head_sha()};
        for (const auto& c : p.commits()) commits.push_back(c.sha());
        for (const std::string& c : commits) {
          if (auto it = by_commit.find(c); !c.empty() && it != by_commit.end()) {
            t = &trajs[it->second];
            matched_by = "commit_list";
            break;
          }
        }
      }
    }
    // The pull request's records: its trajectory's steps and its merge (or squash) commit,
    // else those of its own commit list.
    std::vector<Record> recs;
    std::set<std::string> ids;
    auto add = [&](std::optional<Record> r) {
      if (r && ids.insert(r->id()).second) recs.push_back(std::move(*r));
    };
    if (p.merged_at() != 0) {
      if (t != nullptr) {
        for (const std::string& c : t->step_commits()) add(record_of(c));
        add(record_of(t->merge_commit()));
      } else {
        for (const auto& c : p.commits()) add(record_of(c.sha()));
        if (!p.merge_commit().empty()) add(record_of(p.merge_commit()));
      }
    }
    std::set<int64_t> refs = ClosingReferences(p.title(), github_repo);
    refs.merge(ClosingReferences(p.body(), github_repo));
    for (const auto& c : p.commits()) refs.merge(ClosingReferences(c.message(), github_repo));
    for (const Record& r : recs) refs.merge(ClosingReferences(r.message(), github_repo));
    std::vector<int64_t> resolves;
    for (int64_t n : refs) {
      if (issues.count(n) > 0) resolves.push_back(n);
    }

    PullRequest updated = p;
    updated.clear_resolves();
    for (int64_t n : resolves) updated.add_resolves(n);
    updated.set_trajectory_id(t != nullptr ? t->id() : "");
    updated.set_matched_by(matched_by);
    if (updated.SerializeAsString() != p.SerializeAsString()) changed_pulls.push_back(updated);
    if (resolves.empty()) continue;
    ++result.linked_pulls;
    if (p.merged_at() != 0) {
      for (const Record& r : recs) record_issues[r.id()].insert(resolves.begin(), resolves.end());
    }
    if (p.merged_at() == 0 || t == nullptr) continue;

    // The instance.
    Instance inst;
    inst.set_instance_id(InstanceId(github_repo, p.number()));
    inst.set_repo(github_repo);
    inst.set_repo_name(repo);
    inst.set_pull_number(p.number());
    inst.set_base_commit(t->base_commit());
    inst.set_merge_commit(t->merge_commit());
    inst.set_patch(DiffOf(*t, false));
    inst.set_test_patch(DiffOf(*t, true));
    inst.set_created_at(FormatApiTime(p.created_at()));
    inst.set_trajectory_id(t->id());
    std::string statement;
    for (int64_t n : resolves) {
      const Issue& i = issues[n];
      absl::StrAppend(&statement, i.title(), "\n", i.body(), "\n");
      inst.add_issues(n);
    }
    inst.set_problem_statement(statement);
    // Hints: comments on the issues written before the pull request's first commit.
    int64_t first_commit = INT64_MAX;
    for (const auto& c : p.commits()) {
      if (c.time() != 0) first_commit = std::min(first_commit, c.time());
    }
    for (const Record& r : recs) {
      if (r.commit() != t->merge_commit() || t->kind() == "squash") {
        first_commit = std::min(first_commit, r.author().time());
      }
    }
    std::string hints;
    for (int64_t n : resolves) {
      std::vector<IssueComment> comments;
      FIXMINE_RETURN_IF_ERROR(github->ScanComments(repo, n, [&](const IssueComment& c) {
        if (c.created_at() < first_commit) comments.push_back(c);
        return true;
      }));
      std::sort(comments.begin(), comments.end(), [](const auto& a, const auto& b) {
        return std::make_pair(a.created_at(), a.id()) < std::make_pair(b.created_at(), b.id());
      });
      for (const IssueComment& c : comments) absl::StrAppend(&hints, c.body(), "\n");
    }
    inst.set_hints_text(hints);
    std::set<std::string> labels;
    for (const Record& r : recs) {
      AddLabels(r, &labels);
      inst.add_record_ids(r.id());
    }
    for (const std::string& l : labels) inst.add_labels(l);
    instances.push_back(std::move(inst));
  }
  result.instances = static_cast<int64_t>(instances.size());
  FIXMINE_RETURN_IF_ERROR(github->ReplaceInstances(repo, instances, changed_pulls));

  // Records: labels.issues as the pass found them (cleared where no longer linked).
  FIXMINE_ASSIGN_OR_RETURN(auto filter,
                           storage::Filter::Parse(absl::StrCat("repo = \"", repo, "\"")));
  // Collected first and written after the scan, in batches.
  std::vector<Record> updates;
  FIXMINE_RETURN_IF_ERROR(
      records->Scan(filter.get(), {}, [&](const Record& r, const storage::ScanPosition&) {
        std::vector<int64_t> want;
        if (auto it = record_issues.find(r.id()); it != record_issues.end()) {
          want.assign(it->second.begin(), it->second.end());
        }
        if (!std::equal(want.begin(), want.end(), r.labels().issues().begin(),
                        r.labels().issues().end())) {
          Record u = r;
          u.mutable_labels()->clear_issues();
          for (int64_t n : want) u.mutable_labels()->add_issues(n);
          updates.push_back(std::move(u));
        }
        return true;
      }));
  for (size_t i = 0; i < updates.size(); i += 256) {
    std::vector<Record> chunk(updates.begin() + i,
                              updates.begin() + std::min(updates.size(), i + 256));
    FIXMINE_ASSIGN_OR_RETURN(int64_t n, records->UpdateRecords(chunk));
    result.records_updated += n;
  }
  return result;
}

}  // namespace fixmine::github
