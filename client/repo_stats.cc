#include "client/repo_stats.h"

#include <algorithm>

#include "common/time.h"
#include "fmt/format.h"

namespace fixmine::client {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

std::string Identity(const fixmine::v1::Signature& s) {
  return s.email().empty() ? s.name() : s.email();
}

void Widen(int64_t t, int64_t* first, int64_t* last) {
  if (*first == 0 || t < *first) *first = t;
  if (t > *last) *last = t;
}

Value Num(double v) {
  Value out;
  out.set_number_value(v);
  return out;
}

Value Str(const std::string& s) {
  Value out;
  out.set_string_value(s);
  return out;
}

std::string Time(int64_t t) { return t == 0 ? "-" : FormatRfc3339(t); }

}  // namespace

void RepoStatsBuilder::Add(const fixmine::v1::Record& r) {
  if (r.merge_resolution()) {
    ++stats_.merge_resolutions;
    return;
  }
  const int64_t t = r.author().time();
  ++stats_.commits;
  if (r.labels().is_fix()) ++stats_.fixes;
  Widen(t, &stats_.first_time, &stats_.last_time);
  const std::string who = Identity(r.author());
  ContributorStats& c = contributors_[who];
  if (c.commits == 0 || t >= c.last_time) {
    c.name = r.author().name();
    c.email = r.author().email();
  }
  ++c.commits;
  Widen(t, &c.first_time, &c.last_time);
  for (const auto& f : r.files()) {
    c.added += f.added();
    c.deleted += f.deleted();
    stats_.added += f.added();
    stats_.deleted += f.deleted();
    FileStats& fs = files_[f.path()];
    fs.path = f.path();
    ++fs.commits;
    fs.added += f.added();
    fs.deleted += f.deleted();
    fs.last_time = std::max(fs.last_time, t);
    ++fs.by_author[who];
  }
}

RepoStats RepoStatsBuilder::Finish() {
  for (auto& [who, c] : contributors_) stats_.contributors.push_back(std::move(c));
  std::stable_sort(
      stats_.contributors.begin(), stats_.contributors.end(),
      [](const ContributorStats& a, const ContributorStats& b) { return a.commits > b.commits; });
  for (auto& [path, f] : files_) {
    int64_t best = 0;
    for (const auto& [who, n] : f.by_author) {
      if (n > best) {  // map order: the smaller identity wins a tie
        best = n;
        f.owner = who;
      }
      // Minor: under 5% of the file's commits (n / commits < 0.05).
      if (n * 20 < f.commits) ++f.minor_contributors;
    }
    f.owner_share = f.commits > 0 ? static_cast<double>(best) / f.commits : 0;
    stats_.files.push_back(std::move(f));
  }
  std::stable_sort(stats_.files.begin(), stats_.files.end(),
                   [](const FileStats& a, const FileStats& b) {
                     return a.added + a.deleted > b.added + b.deleted;
                   });
  contributors_.clear();
  files_.clear();
  return std::move(stats_);
}

Struct RepoStatsToStruct(const RepoStats& s, int top) {
  Struct out;
  auto& f = *out.mutable_fields();
  f["repo"] = Str(s.repo);
  f["commits"] = Num(s.commits);
  f["merge_resolutions"] = Num(s.merge_resolutions);
  f["fixes"] = Num(s.fixes);
  f["added"] = Num(s.added);
  f["deleted"] = Num(s.deleted);
  f["churn"] = Num(s.added + s.deleted);
  f["first_commit_at"] = Str(Time(s.first_time));
  f["last_commit_at"] = Str(Time(s.last_time));
  f["contributor_count"] = Num(s.contributors.size());
  f["file_count"] = Num(s.files.size());
  auto* contributors = f["contributors"].mutable_list_value();
  for (size_t i = 0; i < s.contributors.size() && (top <= 0 || i < static_cast<size_t>(top)); ++i) {
    const ContributorStats& c = s.contributors[i];
    auto& cf = *contributors->add_values()->mutable_struct_value()->mutable_fields();
    cf["name"] = Str(c.name);
    cf["email"] = Str(c.email);
    cf["commits"] = Num(c.commits);
    cf["added"] = Num(c.added);
    cf["deleted"] = Num(c.deleted);
    cf["first_commit_at"] = Str(Time(c.first_time));
    cf["last_commit_at"] = Str(Time(c.last_time));
  }
  auto* files = f["files"].mutable_list_value();
  for (size_t i = 0; i < s.files.size() && (top <= 0 || i < static_cast<size_t>(top)); ++i) {
    const FileStats& fs = s.files[i];
    auto& ff = *files->add_values()->mutable_struct_value()->mutable_fields();
    ff["path"] = Str(fs.path);
    ff["commits"] = Num(fs.commits);
    ff["added"] = Num(fs.added);
    ff["deleted"] = Num(fs.deleted);
    ff["churn"] = Num(fs.added + fs.deleted);
    ff["contributors"] = Num(fs.by_author.size());
    ff["owner"] = Str(fs.owner);
    ff["owner_share"] = Num(fs.owner_share);
    ff["minor_contributors"] = Num(fs.minor_contributors);
    ff["last_changed_at"] = Str(Time(fs.last_time));
  }
  return out;
}

std::string RepoStatsTable(const RepoStats& s, int top) {
  std::string out = fmt::format(
      "repo:          {}\ncommits:       {} ({} fixes; {} merge resolutions not counted)\n"
      "churn:         {} lines (+{} -{})\ncontributors:  {}\nfiles:         {}\n"
      "first commit:  {}\nlast commit:   {}\n\n",
      s.repo, s.commits, s.fixes, s.merge_resolutions, s.added + s.deleted, s.added, s.deleted,
      s.contributors.size(), s.files.size(), Time(s.first_time), Time(s.last_time));
  out += fmt::format("{:<32} {:>8} {:>10} {:>10}  {}\n", "CONTRIBUTOR", "COMMITS", "ADDED",
                     "DELETED", "LAST");
  for (size_t i = 0; i < s.contributors.size() && (top <= 0 || i < static_cast<size_t>(top)); ++i) {
    const ContributorStats& c = s.contributors[i];
    out += fmt::format("{:<32} {:>8} {:>10} {:>10}  {}\n", c.name, c.commits, c.added, c.deleted,
                       Time(c.last_time));
  }
  out += fmt::format("\n{:<40} {:>8} {:>9} {:>6} {:>6} {}\n", "FILE", "COMMITS", "CHURN", "AUTHRS",
                     "OWNED", "OWNER");
  for (size_t i = 0; i < s.files.size() && (top <= 0 || i < static_cast<size_t>(top)); ++i) {
    const FileStats& f = s.files[i];
    out += fmt::format("{:<40} {:>8} {:>9} {:>6} {:>5.0f}% {}\n", f.path, f.commits,
                       f.added + f.deleted, f.by_author.size(), 100 * f.owner_share, f.owner);
  }
  return out;
}

}  // namespace fixmine::client
