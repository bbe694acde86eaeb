#include "miner/szz.h"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "miner/git_handles.h"

namespace fixmine::miner {
namespace {

using fixmine::v1::FileChange;
using fixmine::v1::Record;

// Line-comment and block-comment markers a comment-only line starts with, by language.
const std::vector<std::string_view>* CommentMarkers(std::string_view language) {
  static const std::vector<std::string_view> kCLike = {"//", "/*", "*"};
  static const std::vector<std::string_view> kHash = {"#"};
  static const std::vector<std::string_view> kDashes = {"--"};
  static const std::vector<std::string_view> kSemicolon = {";"};
  static const std::vector<std::string_view> kPercent = {"%"};
  static const std::vector<std::string_view> kPhp = {"//", "/*", "*", "#"};
  static const std::vector<std::string_view> kSql = {"--", "/*", "*"};
  static const std::vector<std::string_view> kHaskell = {"--", "{-"};
  static const std::vector<std::string_view> kMarkup = {"<!--"};
  static const std::vector<std::string_view> kBatch = {"REM ", "rem ", "::"};
  static const std::vector<std::string_view> kVim = {"\""};
  static const std::vector<std::string_view> kFortran = {"!"};
  static const std::map<std::string_view, const std::vector<std::string_view>*> kByLanguage = {
      {"C", &kCLike},
      {"C++", &kCLike},
      {"C#", &kCLike},
      {"CUDA", &kCLike},
      {"Objective-C", &kCLike},
      {"Objective-C++", &kCLike},
      {"Java", &kCLike},
      {"JavaScript", &kCLike},
      {"TypeScript", &kCLike},
      {"TSX", &kCLike},
      {"Go", &kCLike},
      {"Rust", &kCLike},
      {"Kotlin", &kCLike},
      {"Swift", &kCLike},
      {"Scala", &kCLike},
      {"Dart", &kCLike},
      {"Groovy", &kCLike},
      {"GLSL", &kCLike},
      {"Protocol Buffer", &kCLike},
      {"Zig", &kCLike},
      {"CSS", &kCLike},
      {"SCSS", &kCLike},
      {"Less", &kCLike},
      {"PHP", &kPhp},
      {"Python", &kHash},
      {"Shell", &kHash},
      {"Ruby", &kHash},
      {"Perl", &kHash},
      {"R", &kHash},
      {"CMake", &kHash},
      {"Makefile", &kHash},
      {"YAML", &kHash},
      {"TOML", &kHash},
      {"Dockerfile", &kHash},
      {"Starlark", &kHash},
      {"PowerShell", &kHash},
      {"Elixir", &kHash},
      {"Julia", &kHash},
      {"Nim", &kHash},
      {"INI", &kSemicolon},
      {"Assembly", &kSemicolon},
      {"Emacs Lisp", &kSemicolon},
      {"Clojure", &kSemicolon},
      {"Common Lisp", &kSemicolon},
      {"Scheme", &kSemicolon},
      {"Lua", &kDashes},
      {"SQL", &kSql},
      {"Haskell", &kHaskell},
      {"Erlang", &kPercent},
      {"TeX", &kPercent},
      {"MATLAB", &kPercent},
      {"HTML", &kMarkup},
      {"XML", &kMarkup},
      {"Markdown", &kMarkup},
      {"Batchfile", &kBatch},
      {"Vim Script", &kVim},
      {"Fortran", &kFortran},
  };
  auto it = kByLanguage.find(language);
  return it == kByLanguage.end() ? nullptr : it->second;
}

// The text with every ASCII white-space byte removed.
std::string WithoutSpace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) out.push_back(c);
  }
  return out;
}

bool Selected(SzzMode mode, const Record& r) {
  switch (mode) {
    case SzzMode::kOff:
      return false;
    case SzzMode::kFixes:
      return r.labels().is_fix();
    case SzzMode::kAll:
      return true;
  }
  return false;
}

bool Blameable(const FileChange& f) {
  if (f.change_type() != fixmine::v1::MODIFIED && f.change_type() != fixmine::v1::RENAMED) {
    return false;
  }
  return !f.binary() && !f.unavailable() && !f.vendored() && !f.generated() && !f.lockfile() &&
         f.old_mode() != GIT_FILEMODE_COMMIT && f.hunks_size() > 0;
}

}  // namespace

absl::StatusOr<SzzMode> ParseSzzMode(std::string_view text) {
  if (text == "off") return SzzMode::kOff;
  if (text == "fixes") return SzzMode::kFixes;
  if (text == "all") return SzzMode::kAll;
  return absl::InvalidArgumentError(
      absl::StrCat("SZZ mode \"", std::string(text), "\" is not one of fixes, all, off"));
}

bool IsCommentOnlyLine(std::string_view language, std::string_view line) {
  const std::vector<std::string_view>* markers = CommentMarkers(language);
  if (!markers) return false;
  std::string_view t = line;
  while (!t.empty() && absl::ascii_isspace(static_cast<unsigned char>(t.front())))
    t.remove_prefix(1);
  for (std::string_view m : *markers) {
    if (t.substr(0, m.size()) == m) return true;
  }
  return false;
}

std::vector<SzzLine> LinesToBlame(const FileChange& file) {
  std::vector<SzzLine> out;
  for (const fixmine::v1::Hunk& h : file.hunks()) {
    std::vector<SzzLine> deleted;
    std::set<std::string> added;
    int old_line = h.old_start();
    std::string_view text = h.text();
    while (!text.empty()) {
      size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      if (line.empty()) continue;
      char origin = line[0];
      std::string_view body = line.substr(1);
      if (origin == ' ') {
        ++old_line;
      } else if (origin == '-') {
        deleted.push_back({old_line++, std::string(body)});
      } else if (origin == '+') {
        added.insert(WithoutSpace(body));
      }
    }
    for (SzzLine& d : deleted) {
      std::string bare = WithoutSpace(d.text);
      if (bare.empty()) continue;                                // blank
      if (IsCommentOnlyLine(file.language(), d.text)) continue;  // comment only
      if (added.count(bare) > 0) continue;                       // white space changed only
      out.push_back(std::move(d));
    }
  }
  return out;
}

void AddBugIntroducingCommits(git_repository* repo, const SzzOptions& options, Record* record) {
  if (!Selected(options.mode, *record) || record->merge_resolution() ||
      record->parents_size() != 1) {
    return;
  }
  git_oid parent;
  if (git_oid_fromstr(&parent, record->parents(0).c_str()) != 0) return;
  std::set<std::string> found;
  int files = 0, lines = 0;
  for (const FileChange& f : record->files()) {
    if (files >= options.max_files || lines >= options.max_lines) break;
    if (!Blameable(f)) continue;
    if (f.old_content_truncated() || f.old_content().size() > options.max_file_bytes) continue;
    std::vector<SzzLine> todo = LinesToBlame(f);
    if (todo.empty()) continue;
    if (static_cast<int>(todo.size()) > options.max_lines - lines) {
      todo.resize(static_cast<size_t>(options.max_lines - lines));
    }
    ++files;
    lines += static_cast<int>(todo.size());
    git_blame_options bo = GIT_BLAME_OPTIONS_INIT;
    bo.newest_commit = parent;
    bo.min_line = static_cast<size_t>(todo.front().line);
    bo.max_line = static_cast<size_t>(todo.back().line);
    // Reindenting commits are looked through, so a line is traced to the commit that wrote
    // its content.
    bo.flags = GIT_BLAME_IGNORE_WHITESPACE;
    git_blame* raw = nullptr;
    if (git_blame_file(&raw, repo, f.old_path().c_str(), &bo) != 0) continue;
    std::unique_ptr<git_blame, GitDeleter<git_blame, git_blame_free>> blame(raw);
    for (const SzzLine& l : todo) {
      const git_blame_hunk* h = git_blame_get_hunk_byline(blame.get(), static_cast<size_t>(l.line));
      if (h && !git_oid_is_zero(&h->final_commit_id)) found.insert(OidHex(h->final_commit_id));
    }
  }
  auto* labels = record->mutable_labels();
  labels->clear_bug_introducing_commits();
  for (const std::string& id : found) labels->add_bug_introducing_commits(id);
}

}  // namespace fixmine::miner
