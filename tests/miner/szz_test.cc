// SZZ: a fix record names the commits that last touched the lines it deletes or changes
// (libgit2 blame in the first parent), leaving out blank lines, comment-only lines and
// white-space-only changes.
#include "miner/szz.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "miner/walk.h"
#include "tests/testutil/git_repo.h"

namespace fixmine::miner {
namespace {

using fixmine::v1::Record;
using testutil::GitRepo;

std::map<std::string, Record> MineAll(const std::string& path, SzzMode mode) {
  RecordOptions ro;
  ro.repo_name = "szz";
  ro.szz.mode = mode;
  WalkOptions wo;
  wo.workers = 2;
  std::map<std::string, Record> out;
  absl::Status st = Mine(
      path, wo, ro,
      [&](Record&& r) {
        std::string id = r.commit();
        out.emplace(id, std::move(r));
        return absl::OkStatus();
      },
      nullptr);
  EXPECT_TRUE(st.ok()) << st;
  return out;
}

std::vector<std::string> Links(const Record& r) {
  return {r.labels().bug_introducing_commits().begin(), r.labels().bug_introducing_commits().end()};
}

// The history (newest first), one file calc.c:
//   * F  "Fix division by zero": changes `z = x / y;` (from I), reindents `int z = 0;` (from V;
//   |     white space only), deletes the comment and the blank line (both from K)
//   * K  adds "  // divide" and a blank line
//   * I  `z = x + y;` -> `z = x / y;`  (the bug)
//   * V  `int z = 1;` -> `int z = 0;`
//   * A  calc.c (root)
struct History {
  GitRepo repo;
  std::string a, v, i, k, f;
  History() {
    auto write = [&](const std::string& init, const std::string& op, bool extra) {
      repo.Write("calc.c", "int f(int x, int y) {\n  int z = " + init + ";\n" + "  z = x " + op +
                               " y;\n" + (extra ? "  // divide\n\n" : "") + "  return z;\n}\n");
    };
    write("1", "+", false);
    a = repo.CommitAll("Add calc\n");
    write("0", "+", false);
    v = repo.CommitAll("Start at zero\n");
    write("0", "/", false);
    i = repo.CommitAll("Divide instead of adding\n");
    write("0", "/", true);
    k = repo.CommitAll("Explain the division\n");
    repo.Write("calc.c",
               "int f(int x, int y) {\n    int z = 0;\n  z = y ? x / y : 0;\n  return z;\n}\n");
    f = repo.CommitAll("Fix division by zero\n");
  }
};

TEST(SzzTest, FixLinksToTheCommitThatWroteItsChangedLine) {
  History h;
  auto records = MineAll(h.repo.path(), SzzMode::kFixes);
  ASSERT_EQ(records.count(h.f), 1u);
  const Record& fix = records.at(h.f);
  ASSERT_TRUE(fix.labels().is_fix());
  // I wrote `z = x / y;`; V's line was only reindented, K's lines are a comment and a blank.
  EXPECT_EQ(Links(fix), std::vector<std::string>{h.i});
  // Records not labelled as fixes are not blamed in "fixes" mode.
  for (const std::string& c : {h.a, h.v, h.i, h.k}) {
    ASSERT_EQ(records.count(c), 1u);
    EXPECT_FALSE(records.at(c).labels().is_fix()) << records.at(c).subject();
    EXPECT_TRUE(Links(records.at(c)).empty()) << records.at(c).subject();
  }
}

TEST(SzzTest, AllModeBlamesEveryRecordAndOffModeNone) {
  History h;
  auto all = MineAll(h.repo.path(), SzzMode::kAll);
  EXPECT_EQ(Links(all.at(h.f)), std::vector<std::string>{h.i});
  EXPECT_EQ(Links(all.at(h.i)), std::vector<std::string>{h.a});  // `z = x + y;` came from A
  EXPECT_EQ(Links(all.at(h.v)), std::vector<std::string>{h.a});
  EXPECT_TRUE(Links(all.at(h.k)).empty());  // K only adds lines
  EXPECT_TRUE(Links(all.at(h.a)).empty());  // root
  auto off = MineAll(h.repo.path(), SzzMode::kOff);
  for (const auto& [id, r] : off) EXPECT_TRUE(Links(r).empty()) << r.subject();
}

// A fix that only reindents a line links to nothing.
//   * W  "Fix the division": `z = x / y;` reindented with a tab
//   * I  `z = x / y;`
//   * A  calc.c (root)
TEST(SzzTest, WhitespaceOnlyChangeMakesNoLink) {
  GitRepo repo;
  repo.Write("calc.c", "int f(int x, int y) {\n  return x;\n}\n");
  repo.CommitAll("Add calc\n");
  repo.Write("calc.c", "int f(int x, int y) {\n  return x / y;\n}\n");
  repo.CommitAll("Divide\n");
  repo.Write("calc.c", "int f(int x, int y) {\n\treturn x  /  y;\n}\n");
  // A fix by its message ("Fix indentation" is a formatting commit, not a fix: issue 20).
  std::string w = repo.CommitAll("Fix the division\n");
  auto records = MineAll(repo.path(), SzzMode::kFixes);
  ASSERT_TRUE(records.at(w).labels().is_fix());
  EXPECT_TRUE(Links(records.at(w)).empty());
}

// The commits `git blame -w` names for lines `lines` (1-based) of `path` at `commit`.
std::vector<std::string> GitBlameCommits(GitRepo& repo, const std::string& commit,
                                         const std::string& path, const std::vector<int>& lines) {
  std::string ranges;
  for (int n : lines) ranges += " -L " + std::to_string(n) + "," + std::to_string(n);
  std::string out = repo.Git("blame -w --porcelain" + ranges + " " + commit + " -- " + path);
  std::set<std::string> ids;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t nl = out.find('\n', pos);
    std::string line = out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? out.size() : nl + 1;
    // Header lines: "<40 hex> <original line> <final line>[ <count>]".
    if (line.size() > 41 && line[40] == ' ' && line.find_first_not_of("0123456789abcdef") == 40) {
      ids.insert(line.substr(0, 40));
    }
  }
  return {ids.begin(), ids.end()};
}

std::string Trim(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// The lines a fix changes were written by different commits, on two branches and before and
// after a rename; lines outside them (a header above, a footer below) were written by others.
// The links are the commits `git blame -w` names for the changed lines, and only those.
//   * X  "Fix the bounds": changes lines l1 to l6 of core.c
//   * W  re-indents l3 (white space only)
//   * E  renames lib.c to core.c and changes l6
//   * H  adds a header line above (not changed by the fix)
//   * M  merges feature
//   |\   (its second parent: feature)
//   | * C  (feature) changes l4
//   * | D  changes l5
//   |/
//   * B  changes l2, adds a footer below (not changed by the fix)
//   * A  lib.c: l1 to l6, and other.c
TEST(SzzTest, LinksAreWhatGitBlameNamesForTheChangedLinesOnly) {
  GitRepo repo;
  auto body = [](const std::string& l2, const std::string& l3, const std::string& l4,
                 const std::string& l5, const std::string& l6) {
    return "int a = 1;\n" + l2 + "\n" + l3 + "\nint pad1 = 0;\n" + l4 + "\nint pad2 = 0;\n" + l5 +
           "\nint pad3 = 0;\n" + l6 + "\n";
  };
  const std::string filler = "int keep_0 = 0;\nint keep_1 = 1;\nint keep_2 = 2;\n";
  repo.Write("lib.c",
             filler + body("int b = 1;", "int c = 1;", "int d = 1;", "int e = 1;", "int f = 1;"));
  repo.Write("other.c", "int other = 1;\n");
  std::string a = repo.CommitAll("Add lib\n");
  repo.Write("lib.c",
             filler + body("int b = 2;", "int c = 1;", "int d = 1;", "int e = 1;", "int f = 1;") +
                 "int footer = 1;\n");
  std::string b = repo.CommitAll("Change b\n");
  repo.Git("checkout -q -b feature");
  repo.Write("lib.c",
             filler + body("int b = 2;", "int c = 1;", "int d = 3;", "int e = 1;", "int f = 1;") +
                 "int footer = 1;\n");
  std::string c = repo.CommitAll("Change d\n");
  repo.Git("checkout -q main");
  repo.Write("lib.c",
             filler + body("int b = 2;", "int c = 1;", "int d = 1;", "int e = 4;", "int f = 1;") +
                 "int footer = 1;\n");
  std::string d = repo.CommitAll("Change e\n");
  repo.Git("merge -q --no-edit feature");
  std::string m = Trim(repo.Git("rev-parse HEAD"));
  repo.Write("lib.c",
             "int header = 1;\n" + filler +
                 body("int b = 2;", "int c = 1;", "int d = 3;", "int e = 4;", "int f = 1;") +
                 "int footer = 1;\n");
  std::string h = repo.CommitAll("Add a header\n");
  repo.Git("mv lib.c core.c");
  repo.Write("core.c",
             "int header = 1;\n" + filler +
                 body("int b = 2;", "int c = 1;", "int d = 3;", "int e = 4;", "int f = 5;") +
                 "int footer = 1;\n");
  std::string e = repo.CommitAll("Rename lib to core, change f\n");
  repo.Write("core.c",
             "int header = 1;\n" + filler +
                 body("int b = 2;", "\tint  c = 1;", "int d = 3;", "int e = 4;", "int f = 5;") +
                 "int footer = 1;\n");
  std::string w = repo.CommitAll("Reindent c\n");
  repo.Write("core.c",
             "int header = 1;\n" + filler +
                 body("int b = 9;", "\tint  c = 9;", "int d = 9;", "int e = 9;", "int f = 9;") +
                 "int footer = 1;\n");
  std::string x = repo.CommitAll("Fix the bounds\n");

  auto records = MineAll(repo.path(), SzzMode::kFixes);
  ASSERT_EQ(records.count(x), 1u);
  ASSERT_TRUE(records.at(x).labels().is_fix());
  // core.c in W: header, 3 filler lines, then `int a`, b (6), c (7), pad, d (9), pad, e (11),
  // pad, f (13), footer.
  std::vector<std::string> git = GitBlameCommits(repo, w, "core.c", {6, 7, 9, 11, 13});
  std::vector<std::string> want = {a, b, c, d, e};  // c's line: A wrote it, W only re-indented
  std::sort(want.begin(), want.end());
  EXPECT_EQ(git, want);  // the history is what this test means
  EXPECT_EQ(Links(records.at(x)), git);
  // Neither the header's nor the footer's commit, nor the merge or the re-indent.
  std::vector<std::string> links = Links(records.at(x));
  for (const std::string& other : {h, m, w}) {
    EXPECT_EQ(std::count(links.begin(), links.end(), other), 0) << other;
  }
}

// The union of what `git blame -w` names, in the record's first parent, for the lines SZZ
// blames in each of its modified files (none of these records reach SzzOptions' bounds).
std::vector<std::string> GitBlameOfRecord(GitRepo& repo, const Record& r) {
  std::set<std::string> ids;
  for (const fixmine::v1::FileChange& f : r.files()) {
    if (f.change_type() != fixmine::v1::MODIFIED || f.binary()) continue;
    std::vector<SzzLine> todo = LinesToBlame(f);
    std::vector<int> lines;
    lines.reserve(todo.size());
    for (const SzzLine& l : todo) lines.push_back(l.line);
    if (lines.empty()) continue;
    for (std::string& id : GitBlameCommits(repo, r.parents(0), f.old_path(), lines)) {
      ids.insert(std::move(id));
    }
  }
  return {ids.begin(), ids.end()};
}

// A longer history in which each blame crosses many commits that leave its file alone, files
// in a folder and at the root, a mode change that keeps the blob, a file that becomes a symlink
// and back, and branches merged back: the blame steps over unchanged commits through the
// per-commit lists of changed paths and jumps over stretches other blames walked, and the
// links must still be exactly what `git blame -w` names, on a first mine and on a second one
// that finds every cache filled.
TEST(SzzTest, LinksAreGitBlamesOverALongHistoryWithBranchesAndModeChanges) {
  GitRepo repo;
  const std::vector<std::string> files = {"a.c", "src/b.c", "src/deep/c.c", "x.c"};
  std::map<std::string, std::vector<std::string>> text;
  for (const std::string& f : files) {
    for (int i = 0; i < 14; ++i) text[f].push_back("int v" + std::to_string(i) + " = 0;");
  }
  auto write = [&](const std::string& f) {
    std::string body;
    for (const std::string& l : text[f]) body += l + "\n";
    repo.Write(f, body);
  };
  for (const std::string& f : files) write(f);
  repo.CommitAll("Add the files\n");
  uint32_t seed = 12345;
  auto next = [&seed](uint32_t n) {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 16) % n;
  };
  // Changes line `line` of `f` (or a random one) and commits, every third commit as a fix.
  int serial = 0;
  auto change = [&](const std::string& f, int line, bool on_side = false) {
    int l = line >= 0 ? line : static_cast<int>(next(14));
    ++serial;
    text[f][l] = "int v" + std::to_string(l) + " = " + std::to_string(serial) + ";";
    write(f);
    // Now and then a second file too (not on a side branch: the merges must not conflict).
    if (!on_side && next(4) == 0) {
      const std::string& g = files[next(3)];
      text[g][next(14)] += " /* " + std::to_string(serial) + " */";
      write(g);
    }
    return repo.CommitAll(serial % 3 == 0 ? "Fix the value " + std::to_string(serial) + "\n"
                                          : "Change the value " + std::to_string(serial) + "\n");
  };
  for (int i = 0; i < 12; ++i) change(files[next(3)], -1);
  // A mode change only: the blob stays, so the blame passes every line through.
  std::filesystem::permissions(repo.path() + "/src/b.c", std::filesystem::perms::owner_exec,
                               std::filesystem::perm_options::add);
  repo.CommitAll("Make b executable\n");
  // x.c becomes a symlink and then a file again with its old content.
  repo.Remove("x.c");
  repo.CommitAll("Drop x\n");
  std::filesystem::create_symlink("a.c", repo.path() + "/x.c");
  repo.CommitAll("Link x to a\n");
  repo.Remove("x.c");
  write("x.c");
  repo.CommitAll("Restore x\n");
  for (int round = 0; round < 3; ++round) {
    repo.Git("checkout -q -b side" + std::to_string(round));
    for (int i = 0; i < 4; ++i) change("x.c", -1, /*on_side=*/true);
    repo.Git("checkout -q main");
    for (int i = 0; i < 5; ++i) change(files[next(3)], -1);
    repo.Git("merge -q --no-edit side" + std::to_string(round));
    for (int i = 0; i < 6; ++i) change(files[next(4)], -1);
  }
  // Fixes of lines no commit touched since the first one: blames across the whole history.
  for (int i = 0; i < 4; ++i) change(files[i], 13);

  for (int mine = 0; mine < 2; ++mine) {
    SCOPED_TRACE(mine == 0 ? "first mine" : "second mine (caches filled)");
    auto records = MineAll(repo.path(), SzzMode::kAll);
    int compared = 0, linked = 0;
    for (const auto& [id, r] : records) {
      if (r.parents_size() != 1) continue;
      std::vector<std::string> git = GitBlameOfRecord(repo, r);
      EXPECT_EQ(Links(r), git) << r.subject();
      ++compared;
      linked += git.empty() ? 0 : 1;
    }
    EXPECT_GE(compared, 60);
    EXPECT_GE(linked, 50);  // the history is what this test means
  }
}

TEST(SzzTest, CommentOnlyLinesByLanguage) {
  EXPECT_TRUE(IsCommentOnlyLine("C++", "   // note"));
  EXPECT_TRUE(IsCommentOnlyLine("C", " * continued block comment"));
  EXPECT_TRUE(IsCommentOnlyLine("Python", "\t# note"));
  EXPECT_TRUE(IsCommentOnlyLine("SQL", "-- note"));
  EXPECT_TRUE(IsCommentOnlyLine("Lua", "  -- note"));
  EXPECT_TRUE(IsCommentOnlyLine("Emacs Lisp", ";; note"));
  EXPECT_FALSE(IsCommentOnlyLine("C++", "x = 1; // trailing comment"));
  EXPECT_FALSE(IsCommentOnlyLine("Python", "x = 1  # trailing"));
  EXPECT_FALSE(IsCommentOnlyLine("Python", "// not a Python comment"));
  EXPECT_FALSE(IsCommentOnlyLine("", "# unknown language"));
}

TEST(SzzTest, LinesToBlameSkipsBlankCommentAndReindentedLines) {
  fixmine::v1::FileChange f;
  f.set_language("Python");
  auto* h = f.add_hunks();
  h->set_old_start(10);
  h->set_text(
      " keep\n"          // 10
      "-x = 1\n"         // 11: changed
      "-\n"              // 12: blank
      "-   # comment\n"  // 13: comment only
      "-y  =  2\n"       // 14: reappears without white space changes
      "+x = 2\n"
      "+y = 2\n"
      " keep\n");
  std::vector<SzzLine> lines = LinesToBlame(f);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].line, 11);
  EXPECT_EQ(lines[0].text, "x = 1");
}

// Issue 20: `Revert "Fix ..."` undoes a fix; it is a revert, not a fix, and gets no SZZ link.
TEST(SzzTest, RevertOfAFixIsNotAFixAndHasNoLinks) {
  History h;
  h.repo.Git("revert --no-edit " + h.f);
  std::string revert_id = h.repo.Git("rev-parse HEAD");
  revert_id.erase(revert_id.find_last_not_of('\n') + 1);
  auto records = MineAll(h.repo.path(), SzzMode::kFixes);
  ASSERT_EQ(records.count(revert_id), 1u);
  const Record& r = records.at(revert_id);
  EXPECT_EQ(r.subject(), "Revert \"Fix division by zero\"");
  EXPECT_TRUE(r.labels().is_revert());
  EXPECT_EQ(r.labels().reverted_commit(), h.f);
  EXPECT_FALSE(r.labels().is_fix());
  EXPECT_EQ(r.labels().not_fix_reason(), "revert");
  EXPECT_TRUE(r.labels().bug_introducing_commits().empty());
  // The fix it reverts keeps its own link (the premise: the revert changes the same lines).
  EXPECT_FALSE(records.at(h.f).labels().bug_introducing_commits().empty());
}

TEST(SzzTest, ParseSzzMode) {
  EXPECT_EQ(*ParseSzzMode("fixes"), SzzMode::kFixes);
  EXPECT_EQ(*ParseSzzMode("all"), SzzMode::kAll);
  EXPECT_EQ(*ParseSzzMode("off"), SzzMode::kOff);
  absl::StatusOr<SzzMode> bad = ParseSzzMode("some");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("fixes, all, off"), std::string::npos);
}

}  // namespace
}  // namespace fixmine::miner
