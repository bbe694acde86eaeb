#include "miner/trajectory.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <memory>
#include <thread>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status.h"
#include "curation/curate.h"
#include "miner/file_diff.h"
#include "miner/git_handles.h"
#include "re2/re2.h"

namespace fixmine::miner {
namespace {

using fixmine::v1::Record;
using fixmine::v1::Trajectory;

constexpr size_t kMaxErrorsKept = 20;
// Merge branches whose steps are found ahead of their claims, at most (FindTrajectories).
constexpr size_t kBranchWindow = 1024;
// Bytes of a trajectory's budget kept free for its `shed` mark (a few counts and reason lines).
constexpr size_t kShedMarkBytes = 1024;

// Lines of `text`, without their line ends.
std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Reads the decimal digits at the start of `s`; 0 when there are none (or too many).
int64_t LeadingNumber(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && n < 18 && std::isdigit(static_cast<unsigned char>(s[n]))) ++n;
  int64_t v = 0;
  if (n == 0) return 0;
  std::from_chars(s.data(), s.data() + n, v);
  return v;
}

// The text between the first pair of single quotes after `prefix` in `s`.
std::string QuotedAfter(std::string_view s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return "";
  s.remove_prefix(prefix.size());
  if (s.empty() || s.front() != '\'') return "";
  size_t end = s.find('\'', 1);
  if (end == std::string_view::npos) return "";
  return std::string(s.substr(1, end - 1));
}

void FillSignature(const git_signature* sig, std::string_view encoding,
                   fixmine::v1::Signature* out) {
  if (!sig) return;
  out->set_name(DecodeToUtf8(sig->name ? sig->name : "", encoding).text);
  out->set_email(DecodeToUtf8(sig->email ? sig->email : "", encoding).text);
  out->set_time(sig->when.time);
  out->set_offset_minutes(sig->when.offset);
}

void KeepError(TrajectoryStats* stats, std::string message) {
  ++stats->skipped;
  if (stats->errors.size() < kMaxErrorsKept) stats->errors.push_back(std::move(message));
}

// Tree of the commit `hex`-named `oid`; null tree for a null oid.
absl::Status TreeOf(git_repository* repo, const git_oid* oid, TreePtr* out) {
  if (oid == nullptr) return absl::OkStatus();
  git_commit* c = nullptr;
  int rc = git_commit_lookup(&c, repo, oid);
  if (rc != 0) return GitStatus(rc, absl::StrCat("reading commit ", OidHex(*oid)));
  CommitPtr commit(c);
  git_tree* t = nullptr;
  rc = git_commit_tree(&t, commit.get());
  if (rc != 0) return GitStatus(rc, absl::StrCat("reading the tree of commit ", OidHex(*oid)));
  out->reset(t);
  return absl::OkStatus();
}

// What one merge branch's trajectory needs from the commit graph, found ahead of the
// (sequential) claiming of steps: the branch's steps and its merge base.
struct BranchRange {
  absl::Status steps_status;
  std::vector<std::string> steps;  // non-merge commits of first..tip off the mainline, oldest first
  absl::Status base_status;        // NOT_FOUND: no merge base (unrelated histories)
  git_oid base{};
  bool found = false;  // set once Find ran for it
};

// Finds BranchRanges with one repository and one revision walk, reset between ranges: a reset
// walk keeps the commits it has parsed, so a commit is inflated once instead of once per range
// that holds it. A reset walk also goes over everything it has parsed (the reset itself, and
// the hidden side's marks), so the walk is made anew every kRangesPerWalk ranges: the cost of
// a range stays bounded on a history of any length. Thread-compatible; one per thread.
class RangeFinder {
 public:
  RangeFinder(git_repository* repo, const std::unordered_set<std::string>& mainline)
      : repo_(repo), mainline_(mainline) {}

  void Find(const git_oid& merge, const git_oid& first, const git_oid& tip, BranchRange* out) {
    out->steps_status = RangeSteps(first, tip, &out->steps);
    if (!out->steps_status.ok() || out->steps.empty()) return;
    int rc = git_merge_base(&out->base, repo_, &first, &tip);
    if (rc == GIT_ENOTFOUND) {
      out->base_status = absl::NotFoundError("no merge base");
    } else if (rc != 0) {
      out->base_status = GitStatus(rc, absl::StrCat("merge base of ", OidHex(merge)));
    }
  }

 private:
  static constexpr int kRangesPerWalk = 64;

  // Non-merge commits of `first..tip` off the mainline, oldest first.
  absl::Status RangeSteps(const git_oid& first, const git_oid& tip,
                          std::vector<std::string>* steps) {
    int rc = 0;
    if (walk_ == nullptr || ++ranges_ % kRangesPerWalk == 0) {
      git_revwalk* w = nullptr;
      rc = git_revwalk_new(&w, repo_);
      if (rc != 0) return GitStatus(rc, "starting a branch walk");
      walk_.reset(w);
    } else {
      git_revwalk_reset(walk_.get());
    }
    git_revwalk_sorting(walk_.get(), GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME | GIT_SORT_REVERSE);
    if ((rc = git_revwalk_push(walk_.get(), &tip)) != 0) return GitStatus(rc, "walking a branch");
    if ((rc = git_revwalk_hide(walk_.get(), &first)) != 0) return GitStatus(rc, "walking a branch");
    git_oid oid;
    while ((rc = git_revwalk_next(&oid, walk_.get())) == 0) {
      git_commit* c = nullptr;
      if ((rc = git_commit_lookup(&c, repo_, &oid)) != 0) {
        return GitStatus(rc, absl::StrCat("reading commit ", OidHex(oid)));
      }
      CommitPtr commit(c);
      if (git_commit_parentcount(commit.get()) > 1) continue;
      std::string hex = OidHex(oid);
      if (mainline_.count(hex)) continue;
      steps->push_back(std::move(hex));
    }
    if (rc != GIT_ITEROVER) return GitStatus(rc, "walking a branch");
    return absl::OkStatus();
  }

  git_repository* repo_;
  const std::unordered_set<std::string>& mainline_;
  RevwalkPtr walk_;
  int64_t ranges_ = 0;
};

class Finder {
 public:
  Finder(git_repository* repo, const RecordOptions& record, const TrajectoryOptions& options,
         bool with_files, TrajectorySet* out, TrajectoryStats* stats)
      : repo_(repo),
        record_(record),
        options_(options),
        with_files_(with_files),
        out_(out),
        stats_(stats) {
    curation_ = record.curation;
    curation_.minhash = false;
  }

  // Marks the first-parent chain from `tip` as the mainline.
  void MarkMainline(const git_oid& tip) {
    git_oid cur = tip;
    for (;;) {
      if (!mainline_.insert(OidHex(cur)).second) return;
      git_commit* c = nullptr;
      if (git_commit_lookup(&c, repo_, &cur) != 0) return;
      CommitPtr commit(c);
      if (git_commit_parentcount(commit.get()) == 0) return;
      cur = *git_commit_parent_id(commit.get(), 0);
    }
  }

  // One branch of a merge: parent `k` (0-based, k >= 1). `parents_shed`: the merge's parents
  // past the parent limit, marked on the trajectory.
  void Branch(git_commit* merge, unsigned k, const MergeMessage& msg, int64_t parents_shed,
              BranchRange& range) {
    const std::string merge_hex = OidHex(*git_commit_id(merge));
    const git_oid* tip = git_commit_parent_id(merge, k);
    std::vector<std::string>& steps = range.steps;
    if (!range.steps_status.ok()) {
      KeepError(stats_, absl::StrCat("merge ", merge_hex, ": ", range.steps_status.message()));
      return;
    }
    if (steps.empty()) {
      ++stats_->branches_without_steps;
      return;
    }
    // A branch that brings in only commits other merges brought first (a back-merge of the
    // mainline into a feature branch) is no pull request of its own.
    if (std::all_of(steps.begin(), steps.end(),
                    [&](const std::string& s) { return out_->steps.count(s) > 0; })) {
      ++stats_->branches_all_nested;
      return;
    }
    Trajectory t;
    const unsigned parents = git_commit_parentcount(merge);
    if (parents_shed > 0) {
      t.mutable_shed()->set_parents(static_cast<int32_t>(parents_shed));
      t.mutable_shed()->add_reasons(absl::StrCat(
          "merge has ", parents, " parents: the first ", parents - 1 - parents_shed,
          " branches kept, ", parents_shed, " shed (parent limit ", options_.max_parents, ")"));
    }
    if (options_.max_steps > 0 && steps.size() > static_cast<size_t>(options_.max_steps)) {
      const size_t shed = steps.size() - static_cast<size_t>(options_.max_steps);
      stats_->steps_shed += static_cast<int64_t>(shed);
      t.mutable_shed()->set_steps(static_cast<int32_t>(shed));
      t.mutable_shed()->add_reasons(absl::StrCat("branch has ", steps.size(), " steps: the oldest ",
                                                 options_.max_steps, " kept, ", shed,
                                                 " shed (step limit ", options_.max_steps, ")"));
      steps.resize(static_cast<size_t>(options_.max_steps));
    }
    t.set_id(TrajectoryId(record_.repo_name, merge_hex, static_cast<int>(k) + 1));
    t.set_kind(parents > 2 ? "octopus" : "merge");
    t.set_parent_index(static_cast<int32_t>(k) + 1);
    t.set_pr_number(msg.pr_number);
    t.set_title(msg.title);
    if (msg.title_is_subject && msg.pr_number > 0) {
      // "Merge pull request #N from x/y" with only trailers below: the oldest step's subject
      // says what the pull request did (GitHub's own default title for a one-commit PR).
      git_oid step_oid;
      git_commit* c = nullptr;
      if (git_oid_fromstr(&step_oid, steps.front().c_str()) == 0 &&
          git_commit_lookup(&c, repo_, &step_oid) == 0) {
        CommitPtr step(c);
        const char* raw = git_commit_message_raw(step.get());
        std::string subject = SubjectOf(DecodeToUtf8(raw ? raw : "").text);
        if (!subject.empty()) t.set_title(subject);
      }
    }
    t.set_source_branch(msg.source_branch);
    const git_oid* base_ptr = nullptr;
    if (range.base_status.ok()) {
      base_ptr = &range.base;
      t.set_base_commit(OidHex(range.base));
    } else if (!absl::IsNotFound(range.base_status)) {
      KeepError(stats_, std::string(range.base_status.message()));
      return;
    }
    Finish(merge, base_ptr, *tip, steps, &t);
  }

  // A squash-merged commit (not a merge) whose subject names a pull request.
  void Squash(git_commit* commit, const MergeMessage& msg) {
    const std::string hex = OidHex(*git_commit_id(commit));
    Trajectory t;
    t.set_id(TrajectoryId(record_.repo_name, hex, 0));
    t.set_kind("squash");
    t.set_pr_number(msg.pr_number);
    t.set_title(msg.title);
    const git_oid* base = nullptr;
    if (git_commit_parentcount(commit) > 0) {
      base = git_commit_parent_id(commit, 0);
      t.set_base_commit(OidHex(*base));
    }
    ++stats_->squashes;
    Finish(commit, base, *git_commit_id(commit), {hex}, &t);
  }

  const std::unordered_set<std::string>& mainline() const { return mainline_; }

 private:
  // Fills what every kind shares, claims the steps and appends the trajectory.
  void Finish(git_commit* commit, const git_oid* base, const git_oid& tip,
              const std::vector<std::string>& steps, Trajectory* t) {
    const std::string hex = OidHex(*git_commit_id(commit));
    t->set_repo(record_.repo_name);
    t->set_merge_commit(hex);
    t->set_tip_commit(OidHex(tip));
    const char* enc = git_commit_message_encoding(commit);
    std::string_view encoding = enc ? enc : "";
    const char* raw = git_commit_message_raw(commit);
    // Curation applies the e-mail policy and the secrets policy to the signatures and files,
    // as it does for records; only those parts are kept.
    Record r;
    r.set_repo(record_.repo_name);
    r.set_commit(hex);
    r.set_message(DecodeToUtf8(raw ? raw : "", encoding).text);
    r.set_subject(SubjectOf(r.message()));
    FillSignature(git_commit_author(commit), encoding, r.mutable_author());
    FillSignature(git_commit_committer(commit), encoding, r.mutable_committer());
    if (with_files_) {
      TreePtr old_tree, new_tree;
      absl::Status st = TreeOf(repo_, base, &old_tree);
      if (st.ok()) st = TreeOf(repo_, &tip, &new_tree);
      DiffFilesStats ds;
      if (st.ok()) {
        st = DiffFiles(repo_, old_tree.get(), new_tree.get(), record_,
                       absl::StrCat("diffing trajectory of ", hex), r.mutable_files(), &ds);
      }
      if (!st.ok()) {
        KeepError(stats_, std::string(st.message()));
        return;
      }
    }
    curation::Curate(curation_, &r);
    t->mutable_author()->Swap(r.mutable_author());
    t->mutable_merged_by()->Swap(r.mutable_committer());
    t->set_message(r.message());
    t->mutable_files()->Swap(r.mutable_files());
    int32_t index = 0;
    for (const std::string& s : steps) {
      t->add_step_commits(s);
      t->add_step_record_ids(RecordId(record_.repo_name, s));
      auto [it, inserted] = out_->steps.try_emplace(s, TrajectoryStep{t->id(), index});
      if (!inserted) {
        ++stats_->nested_steps;
        t->set_nested_steps(t->nested_steps() + 1);
      }
      ++index;
    }
    t->set_step_count(static_cast<int32_t>(steps.size()));
    if (with_files_) FitTrajectoryBudget(record_.max_record_bytes, t);
    out_->trajectories.push_back(std::move(*t));
  }

  git_repository* repo_;
  const RecordOptions& record_;
  const TrajectoryOptions& options_;
  curation::Options curation_;
  bool with_files_;
  TrajectorySet* out_;
  TrajectoryStats* stats_;
  std::unordered_set<std::string> mainline_;
};

}  // namespace

bool IsTrailerLine(std::string_view line) {
  static const RE2 re(
      "^\\s*(?:[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+|Bug|Test|Closes|Fixes|Cc|Link|BUG|TEST)"
      ":\\s+\\S.*$");
  return RE2::FullMatch(re2::StringPiece(line.data(), line.size()), re);
}

MergeMessage ParseMergeMessage(std::string_view message) {
  MergeMessage m;
  std::vector<std::string_view> lines = Lines(message);
  size_t i = 0;
  while (i < lines.size() && Trim(lines[i]).empty()) ++i;
  std::string subject = SubjectOf(message);
  // Skip the subject paragraph; `body` starts at the next non-blank line.
  while (i < lines.size() && !Trim(lines[i]).empty()) ++i;
  std::vector<std::string_view> body;
  for (; i < lines.size(); ++i) body.push_back(lines[i]);
  auto first_body_line = [&](auto skip) -> std::string {
    for (std::string_view l : body) {
      std::string_view t = Trim(l);
      if (!t.empty() && !skip(t)) return std::string(t);
    }
    return "";
  };

  constexpr std::string_view kGitHub = "Merge pull request #";
  if (subject.starts_with(kGitHub)) {
    std::string_view rest = std::string_view(subject).substr(kGitHub.size());
    m.pr_number = LeadingNumber(rest);
    size_t from = rest.find(" from ");
    if (from != std::string_view::npos) m.source_branch = std::string(Trim(rest.substr(from + 6)));
    m.title = first_body_line([](std::string_view x) { return IsTrailerLine(x); });
  }
  static const RE2 synthetic_re("Merge [0-9a-f]{7,64} into [0-9a-f]{7,64}");
  m.synthetic = RE2::FullMatch(re2::StringPiece(subject.data(), subject.size()), synthetic_re);
  // GitLab: "See merge request group/project!N" on a body line.
  for (std::string_view l : body) {
    std::string_view t = Trim(l);
    constexpr std::string_view kGitLab = "See merge request ";
    if (!t.starts_with(kGitLab)) continue;
    size_t bang = t.rfind('!');
    if (bang != std::string_view::npos && m.pr_number == 0) {
      m.pr_number = LeadingNumber(t.substr(bang + 1));
    }
    if (m.title.empty()) {
      m.title = first_body_line([](std::string_view x) {
        return x.starts_with("See merge request ") || x.starts_with("Closes ") ||
               x.starts_with("Merge branch ") || IsTrailerLine(x);
      });
    }
    break;
  }
  if (m.source_branch.empty()) {
    for (std::string_view prefix : {"Merge branch ", "Merge remote-tracking branch ",
                                    "Merge branches ", "Merge remote branch "}) {
      std::string b = QuotedAfter(subject, prefix);
      if (!b.empty()) {
        m.source_branch = b;
        break;
      }
    }
  }
  if (m.title.empty()) {
    m.title = subject;
    m.title_is_subject = true;
  }
  return m;
}

MergeMessage ParseSquashSubject(std::string_view subject) {
  MergeMessage m;
  std::string_view s = Trim(subject);
  if (s.size() < 4 || s.back() != ')') return m;
  size_t open = s.rfind("(#");
  if (open == std::string_view::npos) return m;
  std::string_view digits = s.substr(open + 2, s.size() - open - 3);
  if (digits.empty() || digits.size() > 18) return m;
  for (char c : digits) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return m;
  }
  m.pr_number = LeadingNumber(digits);
  m.title = std::string(Trim(s.substr(0, open)));
  if (m.title.empty()) m.title = std::string(s);
  return m;
}

std::string TrajectoryId(const std::string& repo_name, const std::string& commit_hex,
                         int parent_index) {
  std::string key =
      absl::StrCat("fixmine-trajectory\n", repo_name, "\n", commit_hex, "\n", parent_index);
  git_oid oid;
  git_odb_hash(&oid, key.data(), key.size(), GIT_OBJECT_BLOB);
  return OidHex(oid).substr(0, 24);
}

void TrajectorySet::Annotate(fixmine::v1::Record* record) const {
  auto it = steps.find(record->commit());
  if (it == steps.end()) return;
  record->set_trajectory_id(it->second.trajectory_id);
  record->set_trajectory_step(it->second.step);
}

absl::Status FillTrajectoryFiles(git_repository* repo, const RecordOptions& record, Trajectory* t) {
  git_oid base_oid, tip_oid;
  const git_oid* base = nullptr;
  if (!t->base_commit().empty()) {
    if (git_oid_fromstr(&base_oid, t->base_commit().c_str()) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("trajectory ", t->id(), ": bad base commit \"", t->base_commit(), "\""));
    }
    base = &base_oid;
  }
  if (git_oid_fromstr(&tip_oid, t->tip_commit().c_str()) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("trajectory ", t->id(), ": bad tip commit \"", t->tip_commit(), "\""));
  }
  TreePtr old_tree, new_tree;
  FIXMINE_RETURN_IF_ERROR(TreeOf(repo, base, &old_tree));
  FIXMINE_RETURN_IF_ERROR(TreeOf(repo, &tip_oid, &new_tree));
  Record r;
  r.set_repo(record.repo_name);
  r.set_commit(t->merge_commit());
  DiffFilesStats ds;
  FIXMINE_RETURN_IF_ERROR(DiffFiles(repo, old_tree.get(), new_tree.get(), record,
                                    absl::StrCat("diffing trajectory of ", t->merge_commit()),
                                    r.mutable_files(), &ds));
  curation::Options curation = record.curation;
  curation.minhash = false;
  curation::Curate(curation, &r);
  t->mutable_files()->Swap(r.mutable_files());
  FitTrajectoryBudget(record.max_record_bytes, t);
  return absl::OkStatus();
}

void FitTrajectoryBudget(size_t max_bytes, Trajectory* t) {
  if (max_bytes == 0) return;
  size_t total = t->ByteSizeLong();
  if (total <= max_bytes) return;
  const size_t room = max_bytes - std::min(max_bytes, kShedMarkBytes);
  BudgetShed shed = FitFilesBudget(room,
                                   absl::StrCat("the trajectory is over its ", max_bytes,
                                                "-byte budget: the patch was left out"),
                                   &total, t->mutable_files());
  int files = 0;
  if (total > room) {
    // Paths and blob ids alone over the budget (a combined diff of a huge tree).
    files = t->files_size();
    t->clear_files();
  }
  fixmine::v1::TrajectoryShed* mark = t->mutable_shed();
  mark->set_contents(shed.contents);
  mark->set_patches(shed.patches);
  mark->set_files(files);
  mark->add_reasons(absl::StrCat("combined diff over the ", max_bytes,
                                 "-byte budget (--max-record-bytes): contents of ", shed.contents,
                                 " files, patches of ", shed.patches, " files and ", files,
                                 " whole file entries shed"));
}

absl::Status FindTrajectories(const std::string& path, const WalkOptions& walk_opts,
                              const RecordOptions& record, bool with_files, TrajectorySet* out,
                              TrajectoryStats* stats_out, const TrajectoryOptions& options) {
  TrajectoryStats local;
  TrajectoryStats& stats = stats_out ? *stats_out : local;
  RepoPtr repo;
  FIXMINE_RETURN_IF_ERROR(OpenRepository(path, &repo));
  git_revwalk* w = nullptr;
  int rc = git_revwalk_new(&w, repo.get());
  if (rc != 0) return GitStatus(rc, "starting the commit walk");
  RevwalkPtr walk(w);
  git_revwalk_sorting(walk.get(), GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME | GIT_SORT_REVERSE);
  std::vector<std::string> tips;
  bool empty = false;
  FIXMINE_RETURN_IF_ERROR(PushWalkStarts(repo.get(), walk.get(), walk_opts, &tips, &empty));
  if (empty) return absl::OkStatus();

  Finder finder(repo.get(), record, options, with_files, out, &stats);
  auto cancelled = [&] {
    return (walk_opts.cancel && walk_opts.cancel->load()) ||
           (options.cancelled && options.cancelled());
  };
  // The mainline: HEAD's first-parent chain, or the first revision's.
  git_oid main_tip;
  bool have_main = false;
  if (!walk_opts.all && !walk_opts.revs.empty()) {
    have_main = !tips.empty() && git_oid_fromstr(&main_tip, tips.front().c_str()) == 0;
  } else {
    have_main = git_reference_name_to_id(&main_tip, repo.get(), "HEAD") == 0;
  }
  if (have_main) finder.MarkMainline(main_tip);

  // Three steps, so that the graph work runs on several threads and the result is the one of a
  // single thread: (1) the walk lists every merge branch in order; (2) each branch's steps and
  // merge base are found, on `walk_opts.workers` threads; (3) the branches claim their steps
  // in order.
  struct BranchJob {
    git_oid merge{};
    unsigned k = 0;
    std::shared_ptr<const MergeMessage> msg;
    int64_t parents_shed = 0;
    std::string error;  // the merge could not be read: counted in step 3, in order
  };
  std::vector<BranchJob> jobs;
  std::vector<git_oid> squash_candidates;
  git_oid oid;
  int64_t visited = 0;
  while ((rc = git_revwalk_next(&oid, walk.get())) == 0) {
    if (cancelled()) return absl::CancelledError("mining cancelled");
    if (++visited % 256 == 0 && options.progress) options.progress(visited);
    git_commit* c = nullptr;
    if ((rc = git_commit_lookup(&c, repo.get(), &oid)) != 0) {
      BranchJob job;
      job.error =
          std::string(GitStatus(rc, absl::StrCat("reading commit ", OidHex(oid))).message());
      jobs.push_back(std::move(job));
      continue;
    }
    CommitPtr commit(c);
    int64_t t = git_commit_time(commit.get());
    if ((walk_opts.since && t < *walk_opts.since) || (walk_opts.until && t > *walk_opts.until)) {
      continue;
    }
    unsigned n = git_commit_parentcount(commit.get());
    const char* raw = git_commit_message_raw(commit.get());
    if (n > 1) {
      ++stats.merges;
      if (n > 2) ++stats.octopus_merges;
      auto msg = std::make_shared<const MergeMessage>(
          ParseMergeMessage(DecodeToUtf8(raw ? raw : "").text));
      if (msg->synthetic) {
        // Its branch is the pull request's commits, which the real merge brings in later.
        ++stats.synthetic_merges;
        continue;
      }
      // A merge with thousands of parents would otherwise take minutes here (one range walk
      // and one merge base per branch): the first max_parents branches only.
      unsigned last = n;
      if (options.max_parents > 0 && n - 1 > static_cast<unsigned>(options.max_parents)) {
        last = static_cast<unsigned>(options.max_parents) + 1;
      }
      const int64_t parents_shed = n - last;
      stats.parents_shed += parents_shed;
      for (unsigned k = 1; k < last; ++k) {
        jobs.push_back(BranchJob{oid, k, msg, parents_shed, ""});
      }
    } else if (ParseSquashSubject(SubjectOf(raw ? raw : "")).pr_number > 0) {
      squash_candidates.push_back(oid);
    }
  }
  if (rc != GIT_ITEROVER) return GitStatus(rc, "walking commits");

  // Steps (2) and (3) go a window of branches at a time, so that the step lists found ahead of
  // their claims stay few. The extra threads' repositories are opened once; one that cannot be
  // opened (a limit on open files) only means fewer threads.
  size_t threads = walk_opts.workers > 0 ? static_cast<size_t>(walk_opts.workers)
                                         : std::max(1u, std::thread::hardware_concurrency());
  threads = std::max<size_t>(1, std::min(threads, jobs.size()));
  std::vector<RepoPtr> repos;
  for (size_t t = 1; t < threads; ++t) {
    RepoPtr r;
    if (!OpenRepository(path, &r).ok()) break;
    repos.push_back(std::move(r));
  }
  RangeFinder calling_finder(repo.get(), finder.mainline());
  std::vector<BranchRange> ranges;
  for (size_t begin = 0; begin < jobs.size(); begin += kBranchWindow) {
    const size_t end = std::min(jobs.size(), begin + kBranchWindow);
    ranges.assign(end - begin, BranchRange());
    // (2) Ranges and merge bases. This thread takes part; it alone asks options.cancelled.
    std::atomic<size_t> next{begin};
    std::atomic<bool> stop{false};
    auto work = [&](RangeFinder* rf, git_repository* r, bool calling_thread) {
      for (size_t i; (i = next.fetch_add(1)) < end;) {
        if (stop.load() || (walk_opts.cancel && walk_opts.cancel->load()) ||
            (calling_thread && options.cancelled && options.cancelled())) {
          stop.store(true);
          return;
        }
        const BranchJob& job = jobs[i];
        git_commit* c = nullptr;
        if (!job.error.empty() || git_commit_lookup(&c, r, &job.merge) != 0) continue;
        CommitPtr merge(c);
        rf->Find(job.merge, *git_commit_parent_id(merge.get(), 0),
                 *git_commit_parent_id(merge.get(), job.k), &ranges[i - begin]);
        ranges[i - begin].found = true;
      }
    };
    std::vector<std::thread> pool;
    pool.reserve(repos.size());
    for (RepoPtr& r : repos) {
      pool.emplace_back([&work, &finder, r = r.get()] {
        RangeFinder rf(r, finder.mainline());
        work(&rf, r, false);
      });
    }
    work(&calling_finder, repo.get(), true);
    for (std::thread& t : pool) t.join();
    if (stop.load()) return absl::CancelledError("mining cancelled");

    // (3) Claims, in the walk's order.
    for (size_t i = begin; i < end; ++i) {
      if (cancelled()) return absl::CancelledError("mining cancelled");
      const BranchJob& job = jobs[i];
      if (!job.error.empty()) {
        KeepError(&stats, job.error);
        continue;
      }
      git_commit* c = nullptr;
      if ((rc = git_commit_lookup(&c, repo.get(), &job.merge)) != 0) {
        KeepError(&stats,
                  std::string(
                      GitStatus(rc, absl::StrCat("reading commit ", OidHex(job.merge))).message()));
        continue;
      }
      CommitPtr merge(c);
      BranchRange& range = ranges[i - begin];
      if (!range.found) {  // another thread's repository could not read the merge
        calling_finder.Find(job.merge, *git_commit_parent_id(merge.get(), 0),
                            *git_commit_parent_id(merge.get(), job.k), &range);
      }
      finder.Branch(merge.get(), job.k, *job.msg, job.parents_shed, range);
      range = BranchRange();  // the steps are copied into the trajectory; free them
    }
  }
  // Squashes last: a "(#N)" commit that some merge brought in is that merge's step.
  for (const git_oid& s : squash_candidates) {
    if (out->steps.count(OidHex(s))) continue;
    git_commit* c = nullptr;
    if (git_commit_lookup(&c, repo.get(), &s) != 0) continue;
    CommitPtr commit(c);
    const char* raw = git_commit_message_raw(commit.get());
    finder.Squash(commit.get(), ParseSquashSubject(SubjectOf(DecodeToUtf8(raw ? raw : "").text)));
  }
  return absl::OkStatus();
}

}  // namespace fixmine::miner
