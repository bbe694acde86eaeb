// Oracle tests: every record the miner builds is compared with what the git CLI prints for the
// same commit (`git show -M` name-status, numstat and full-index patch, `git log` subject and
// parents), over repositories that exercise each kind of change.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "fmt/format.h"
#include "miner/walk.h"
#include "tests/testutil/git_repo.h"

namespace fixmine::miner {
namespace {

using fixmine::v1::FileChange;
using fixmine::v1::Record;
using testutil::GitRepo;
using testutil::RunShell;
using testutil::ShellQuote;

// Mines every commit reachable from HEAD; records keyed by commit id.
std::map<std::string, Record> MineAll(const std::string& path, WalkStats* stats = nullptr,
                                      RecordOptions ro = {}) {
  ro.repo_name = "fidelity";
  std::map<std::string, Record> out;
  WalkOptions wo;
  wo.workers = 2;
  absl::Status st = Mine(
      path, wo, ro,
      [&](Record&& r) {
        std::string id = r.commit();
        out.emplace(id, std::move(r));
        return absl::OkStatus();
      },
      stats);
  EXPECT_TRUE(st.ok()) << st;
  return out;
}

char Letter(fixmine::v1::ChangeType t) {
  switch (t) {
    case fixmine::v1::ADDED:
      return 'A';
    case fixmine::v1::DELETED:
      return 'D';
    case fixmine::v1::MODIFIED:
      return 'M';
    case fixmine::v1::RENAMED:
      return 'R';
    case fixmine::v1::COPIED:
      return 'C';
    case fixmine::v1::TYPE_CHANGED:
      return 'T';
    default:
      return '?';
  }
}

std::vector<std::string> SplitNul(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find('\0', start);
    if (end == std::string::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// One file as git lists it.
struct GitFile {
  char status = '?';
  int similarity = 0;
  std::string path;
  std::string old_path;
  std::string added;    // "-" for binary
  std::string deleted;  // "-" for binary
};

std::vector<GitFile> GitFiles(GitRepo& repo, const std::string& commit, const std::string& config) {
  std::vector<GitFile> files;
  std::vector<std::string> t =
      SplitNul(repo.Git(fmt::format("{} show -M --name-status -z --format= {}", config, commit)));
  for (size_t i = 0; i < t.size();) {
    if (t[i].empty() || t[i] == "\n") {
      ++i;
      continue;
    }
    GitFile f;
    f.status = t[i][0];
    if (t[i].size() > 1) f.similarity = std::stoi(t[i].substr(1));
    ++i;
    if (f.status == 'R' || f.status == 'C') {
      f.old_path = t[i++];
      f.path = t[i++];
    } else {
      f.path = f.old_path = t[i++];
    }
    files.push_back(f);
  }
  t = SplitNul(repo.Git(fmt::format("{} show -M --numstat -z --format= {}", config, commit)));
  size_t k = 0;
  for (size_t i = 0; i < t.size();) {
    std::string head = t[i++];
    while (!head.empty() && head.front() == '\n') head.erase(0, 1);
    if (head.empty()) continue;
    size_t tab1 = head.find('\t');
    size_t tab2 = head.find('\t', tab1 + 1);
    EXPECT_NE(tab2, std::string::npos) << head;
    if (tab2 == std::string::npos) break;
    std::string path = head.substr(tab2 + 1);
    if (path.empty()) {  // rename: old and new path follow
      i += 2;
    }
    if (k < files.size()) {
      files[k].added = head.substr(0, tab1);
      files[k].deleted = head.substr(tab1 + 1, tab2 - tab1 - 1);
    }
    ++k;
  }
  EXPECT_EQ(k, files.size()) << "numstat and name-status disagree for " << commit;
  return files;
}

// Splits `git show` patch output at each "diff --git " line.
std::vector<std::string> Sections(const std::string& patch) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < patch.size()) {
    size_t next = pos;
    for (;;) {
      next = patch.find("\ndiff --git ", next);
      if (next == std::string::npos) {
        next = patch.size();
        break;
      }
      ++next;
      break;
    }
    out.push_back(patch.substr(pos, next - pos));
    pos = next;
  }
  return out;
}

std::string HunkLine(const fixmine::v1::Hunk& h) {
  auto range = [](int start, int lines) {
    return lines == 1 ? fmt::format("{}", start) : fmt::format("{},{}", start, lines);
  };
  std::string s = fmt::format("@@ -{} +{} @@", range(h.old_start(), h.old_lines()),
                              range(h.new_start(), h.new_lines()));
  if (!h.header().empty()) s += " " + h.header();
  return s + "\n";
}

// Hunk header lines and bodies of a patch (one or more sections).
std::vector<std::pair<std::string, std::string>> GitHunks(const std::string& patch) {
  std::vector<std::pair<std::string, std::string>> hunks;
  bool in_hunk = false;
  size_t pos = 0;
  while (pos < patch.size()) {
    size_t nl = patch.find('\n', pos);
    size_t end = nl == std::string::npos ? patch.size() : nl + 1;
    std::string line = patch.substr(pos, end - pos);
    pos = end;
    if (line.starts_with("@@ ")) {
      hunks.emplace_back(line, "");
      in_hunk = true;
    } else if (line.starts_with("diff --git ")) {
      in_hunk = false;
    } else if (in_hunk) {
      hunks.back().second += line;
    }
  }
  return hunks;
}

// Compares `r` with the git CLI's view of the same commit. `config` goes before git's
// subcommand (e.g. "-c diff.renameLimit=2").
void ExpectMatchesGit(GitRepo& repo, const Record& r, const std::string& config = "") {
  const std::string& c = r.commit();
  SCOPED_TRACE("commit " + c + " \"" + r.subject() + "\"");
  std::string parents = repo.Git("log -1 --format=%P " + c);
  while (!parents.empty() && parents.back() == '\n') parents.pop_back();
  std::string ours;
  for (const auto& p : r.parents()) ours += (ours.empty() ? "" : " ") + p;
  EXPECT_EQ(ours, parents);
  std::string subject = repo.Git("log -1 --format=%s " + c);
  if (!subject.empty() && subject.back() == '\n') subject.pop_back();
  EXPECT_EQ(r.subject(), DecodeToUtf8(subject).text);

  std::vector<GitFile> git = GitFiles(repo, c, config);
  ASSERT_EQ(r.files_size(), static_cast<int>(git.size()));
  std::vector<std::string> sections =
      Sections(repo.Git(fmt::format("{} show -M --full-index --format= {}", config, c)));
  size_t s = 0;
  int added = 0, deleted = 0;
  for (int i = 0; i < r.files_size(); ++i) {
    const FileChange& f = r.files(i);
    const GitFile& g = git[static_cast<size_t>(i)];
    SCOPED_TRACE("file " + g.path);
    EXPECT_EQ(Letter(f.change_type()), g.status);
    EXPECT_EQ(f.path(), DecodeToUtf8(g.path).text);
    EXPECT_EQ(f.old_path(), DecodeToUtf8(g.old_path).text);
    if (g.status == 'R' || g.status == 'C') {
      EXPECT_EQ(f.similarity(), g.similarity);
    }
    if (g.added == "-") {
      EXPECT_TRUE(f.binary());
      EXPECT_EQ(f.added(), 0);
      EXPECT_EQ(f.deleted(), 0);
    } else {
      EXPECT_FALSE(f.binary());
      EXPECT_EQ(std::to_string(f.added()), g.added);
      EXPECT_EQ(std::to_string(f.deleted()), g.deleted);
    }
    added += f.added();
    deleted += f.deleted();
    size_t n = g.status == 'T' ? 2 : 1;
    std::string expected;
    for (size_t j = 0; j < n && s < sections.size(); ++j) expected += sections[s++];
    if (f.content_encoding() == "ISO-8859-1") expected = Latin1ToUtf8(expected);
    EXPECT_EQ(f.patch(), expected);
    auto hunks = GitHunks(expected);
    ASSERT_EQ(f.hunks_size(), static_cast<int>(hunks.size()));
    for (int h = 0; h < f.hunks_size(); ++h) {
      EXPECT_EQ(HunkLine(f.hunks(h)), hunks[static_cast<size_t>(h)].first);
      EXPECT_EQ(f.hunks(h).text(), hunks[static_cast<size_t>(h)].second);
    }
    EXPECT_FALSE(f.unavailable()) << f.unavailable_reason();
  }
  EXPECT_EQ(s, sections.size());
  EXPECT_EQ(r.quality().files_changed(), r.files_size());
  EXPECT_EQ(r.quality().lines_added(), added);
  EXPECT_EQ(r.quality().lines_deleted(), deleted);
  EXPECT_FALSE(r.renames_skipped());
}

// (status letter, path) of each file, in record order.
std::vector<std::string> Summary(const Record& r) {
  std::vector<std::string> out;
  for (const auto& f : r.files()) {
    std::string s(1, Letter(f.change_type()));
    s += " ";
    if (f.old_path() != f.path()) s += f.old_path() + " -> ";
    s += f.path();
    out.push_back(s);
  }
  return out;
}

void Sh(GitRepo& repo, const std::string& cmd) {
  auto r = RunShell("cd " + ShellQuote(repo.path()) + " && " + cmd);
  ASSERT_EQ(r.exit_code, 0) << cmd << ": " << r.err;
}

// Commits the index as it is (for entries `git add -A` would undo, such as gitlinks).
std::string CommitIndex(GitRepo& repo, const std::string& message) {
  repo.Git("commit -q --allow-empty -m " + ShellQuote(message));
  std::string id = repo.Git("rev-parse HEAD");
  while (!id.empty() && id.back() == '\n') id.pop_back();
  return id;
}

std::string Lines(int from, int to, const std::string& stem = "line") {
  std::string s;
  for (int i = from; i <= to; ++i) s += fmt::format("{} {:02d} of the test file\n", stem, i);
  return s;
}

std::string Binary(int seed, size_t size) {
  std::string s;
  for (size_t i = 0; i < size; ++i)
    s.push_back(static_cast<char>((i * 31 + static_cast<size_t>(seed) * 7) % 251));
  s[10] = '\0';
  return s;
}

const char* kCFile = R"(#include <stdio.h>

static int helper(int x) {
  return x * 2;
}

int compute_something_quite_long_named(int first_argument, int second_argument, int third) {
  int a = first_argument;
  int b = second_argument;
  int c = third;
  int d = a + b;
  int e = d + c;
  int f = e * 2;
  int g = f - 1;
  return g;
}

int main(void) {
  int total = 0;
  for (int i = 0; i < 10; ++i) {
    total += helper(i);
  }
  printf("%d\n", total);
  return 0;
}
)";

TEST(RecordFidelity, EveryChangeKindMatchesGit) {
  GitRepo repo;
  std::map<std::string, std::vector<std::string>> expect;  // commit -> Summary

  // Root commit: one of everything.
  repo.Write("a.txt", Lines(1, 20));
  repo.Write("src/main.c", kCFile);
  repo.Write("empty.txt", "");
  repo.Write("dir with space/file name.txt", "spaced\n");
  repo.Write("quote\"d.txt", "quoted\n");
  repo.Write(
      "\xc3\xbcn\xc3\xaf/c\xc3\xb6"
      "d\xc3\xa9.txt",
      "unicode\n");
  repo.Write("tab\tname.txt", "tab\n");
  repo.Write("crlf.txt", "one\r\ntwo\r\nthree\r\nfour\r\n");
  repo.Write("nonl.txt", "a\nb");
  repo.Write("bin.dat", Binary(1, 3000));
  repo.Write("gone.bin", Binary(2, 500));
  repo.Write("new.bin", Binary(6, 700));
  repo.Write("script.sh", "#!/bin/sh\necho hi\n");
  repo.Write("tool.sh", "#!/bin/sh\necho tool\n");
  repo.Write("tolink.txt", "becomes a link\n");
  repo.Write("tolink2.txt", "a.txt");
  repo.Write("latin1.txt", "caf\xe9\nna\xefve\n");
  repo.Write("d/x.txt", "inside d\n");
  Sh(repo, "ln -s a.txt link && ln -s nowhere fromlink");
  std::string root = repo.CommitAll("Initial import\n\nWith everything.\n");

  // Modifications of every flavour of content.
  repo.Write("a.txt", Lines(1, 4) + "line five changed\n" + Lines(6, 20));
  std::string c = kCFile;
  c.replace(c.find("  int g = f - 1;"), 16, "  int g = f - 2;");
  c.replace(c.find("  printf"), 8, "  fprintf");
  repo.Write("src/main.c", c);
  repo.Write("crlf.txt", "one\r\nTWO\r\nthree\r\nfour\r\n");
  repo.Write("nonl.txt", "a\nc");
  repo.Write("bin.dat", Binary(3, 3000));
  repo.Write("dir with space/file name.txt", "spaced out\n");
  repo.Write("quote\"d.txt", "quoted twice\n");
  repo.Write(
      "\xc3\xbcn\xc3\xaf/c\xc3\xb6"
      "d\xc3\xa9.txt",
      "unicod\xc3\xa9\n");
  repo.Write("tab\tname.txt", "tabbed\n");
  repo.Write("latin1.txt", "caf\xe9\nna\xefve!\n");
  std::string modify = repo.CommitAll("Modify: text, CRLF, no newline, binary, odd paths\n");
  expect[modify] = {"M a.txt", "M bin.dat", "M crlf.txt", "M dir with space/file name.txt",
                    "M latin1.txt", "M nonl.txt", "M quote\"d.txt", "M src/main.c",
                    "M tab\tname.txt",
                    // One name split in two literals ("\xb6d" would read as one escape).
                    // NOLINTNEXTLINE(bugprone-suspicious-missing-comma)
                    "M \xc3\xbcn\xc3\xaf/c\xc3\xb6"
                    "d\xc3\xa9.txt"};

  // Mode changes, one with an edit; newline added at the end.
  Sh(repo, "chmod +x script.sh tool.sh");
  repo.Write("tool.sh", "#!/bin/sh\necho tool v2\n");
  repo.Write("nonl.txt", "a\nc\n");
  std::string modes = repo.CommitAll("Make scripts executable\n");
  expect[modes] = {"M nonl.txt", "M script.sh", "M tool.sh"};

  // Symlinks: retarget one, add one; newline removed at the end.
  Sh(repo, "ln -sfn src/main.c link && ln -s d newlink");
  repo.Write("nonl.txt", "a\nc");
  std::string links = repo.CommitAll("Retarget link\n");
  expect[links] = {"M link", "A newlink", "M nonl.txt"};

  // Type changes both ways.
  Sh(repo,
     "rm tolink.txt tolink2.txt fromlink && ln -s a.txt tolink.txt && "
     "ln -s a.txt tolink2.txt");
  repo.Write("fromlink", "now a file\n");
  std::string types = repo.CommitAll("Swap file and symlink\n");
  expect[types] = {"T fromlink", "T tolink.txt", "T tolink2.txt"};

  // Exact renames (one with a space), a rename with an edit, a rename with a mode change.
  Sh(repo,
     "mkdir -p docs 'other dir' && git mv a.txt docs/alpha.txt && "
     "git mv bin.dat bin2.dat && chmod +x new.bin && "
     "git mv 'dir with space/file name.txt' 'other dir/new name.txt' && "
     "git mv script.sh bin.sh && chmod -x bin.sh");
  std::string renames = repo.CommitAll("Move files around\n");
  expect[renames] = {"R script.sh -> bin.sh", "R bin.dat -> bin2.dat", "R a.txt -> docs/alpha.txt",
                     "M new.bin", "R dir with space/file name.txt -> other dir/new name.txt"};

  Sh(repo, "git mv docs/alpha.txt docs/beta.txt");
  repo.Write("docs/beta.txt", Lines(1, 4) + "line five changed\n" + Lines(6, 20) + "one more\n");
  std::string rename_edit = repo.CommitAll("Rename and append a line\n");
  expect[rename_edit] = {"R docs/alpha.txt -> docs/beta.txt"};

  // A copy: git log -M does not look for copies, so it is an addition.
  Sh(repo, "cp src/main.c src/copy.c");
  std::string copy = repo.CommitAll("Copy main.c\n");
  expect[copy] = {"A src/copy.c"};

  // Binary add and delete, empty file add, a directory replaced by a file.
  repo.Remove("gone.bin");
  repo.Write("new2.bin", Binary(4, 9000));
  repo.Write("empty2.txt", "");
  repo.Remove("d");
  repo.Write("d", "d is a file now\n");
  std::string bins = repo.CommitAll("Binary add and delete\n");

  std::string empty = repo.CommitAll("Nothing changed\n", /*allow_empty=*/true);
  expect[empty] = {};

  // A merge: no record, counted.
  repo.Git("checkout -q -b side");
  repo.Write("side.txt", "from the side\n");
  std::string side = repo.CommitAll("Side work\n");
  repo.Git("checkout -q main");
  repo.Write("main.txt", "on main\n");
  std::string on_main = repo.CommitAll("Main work\n");
  repo.Git("merge -q --no-ff side -m 'Merge side'");
  std::string merge = repo.Git("rev-parse HEAD");
  merge.pop_back();

  // Messages: CJK, ISO-8859-1 with an encoding header, invalid UTF-8 without one.
  repo.Write("msg1.txt", "1\n");
  std::string cjk = repo.CommitAll(
      "\xe4\xbf\xae\xe5\xa4\x8d\xef\xbc\x9a\xe7\xa9\xba\xe6\x8c\x87"
      "\xe9\x92\x88 bug\n\n\xe8\xaf\xa6\xe6\x83\x85\n");
  repo.Write("msg2.txt", "2\n");
  {
    testutil::TempDir tmp;
    std::string msg = tmp.path() + "/m";
    Sh(repo, "printf 'Caf\\351 cr\\350me fix\\n\\nd\\351tails\\n' > " + ShellQuote(msg));
    repo.Git("add -A");
    repo.Git("-c i18n.commitEncoding=ISO-8859-1 commit -q -F " + ShellQuote(msg));
  }
  std::string latin1 = repo.Git("rev-parse HEAD");
  latin1.pop_back();
  repo.Write("msg3.txt", "3\n");
  std::string invalid = repo.CommitAll("Fix \xff\xfe bytes\n");

  // Gitlinks: add, move to another commit, then a gitlink -> file type change... and delete.
  repo.Git("update-index --add --cacheinfo 160000," + root + ",sub");
  std::string gl_add = CommitIndex(repo, "Add submodule");
  expect[gl_add] = {"A sub"};
  repo.Git("update-index --cacheinfo 160000," + modify + ",sub");
  std::string gl_mod = CommitIndex(repo, "Bump submodule");
  expect[gl_mod] = {"M sub"};
  repo.Git("rm -q --cached sub");
  std::string gl_del = CommitIndex(repo, "Drop submodule");
  expect[gl_del] = {"D sub"};

  WalkStats stats;
  auto records = MineAll(repo.path(), &stats);
  int64_t commits = std::stoll(repo.Git("rev-list --count HEAD"));
  EXPECT_EQ(stats.commits_walked, commits);
  EXPECT_EQ(stats.merges_skipped, 1);
  EXPECT_EQ(stats.commits_skipped, 0);
  EXPECT_EQ(static_cast<int64_t>(records.size()), commits - 1);
  EXPECT_EQ(records.count(merge), 0u);
  for (const auto& [id, r] : records) ExpectMatchesGit(repo, r);
  for (const auto& [id, want] : expect) {
    ASSERT_EQ(records.count(id), 1u);
    EXPECT_EQ(Summary(records.at(id)), want) << records.at(id).subject();
  }
  ASSERT_EQ(records.count(root), 1u);
  EXPECT_EQ(records.at(root).parents_size(), 0);
  EXPECT_EQ(records.at(root).files_size(), 20);
  // Same bytes as a file and as a link target: numstat counts no line, the patch shows both.
  for (const auto& f : records.at(types).files()) {
    if (f.path() != "tolink2.txt") continue;
    EXPECT_EQ(f.added(), 0);
    EXPECT_EQ(f.deleted(), 0);
    EXPECT_EQ(f.hunks_size(), 2);
  }
  EXPECT_EQ(records.at(cjk).subject(),
            "\xe4\xbf\xae\xe5\xa4\x8d\xef\xbc\x9a\xe7\xa9\xba\xe6\x8c\x87\xe9\x92\x88 bug");
  EXPECT_EQ(records.at(latin1).subject(), "Caf\xc3\xa9 cr\xc3\xa8me fix");
  EXPECT_EQ(records.at(latin1).message_encoding(), "ISO-8859-1");
  EXPECT_EQ(records.at(invalid).subject(), "Fix \xc3\xbf\xc3\xbe bytes");
  EXPECT_EQ(records.at(rename_edit).files(0).similarity(), 98);
  // The function-context header of the C change.
  const Record& mod = records.at(modify);
  for (const auto& f : mod.files()) {
    if (f.path() != "src/main.c") continue;
    ASSERT_EQ(f.hunks_size(), 2);
    // Cut at 80 bytes, trailing white space removed.
    EXPECT_EQ(f.hunks(0).header(),
              "int compute_something_quite_long_named(int first_argument, int second_argument,");
    EXPECT_EQ(f.hunks(1).header(), "int main(void) {");
  }
  (void)bins;
  (void)side;
  (void)on_main;
}

// Rename pairing where several sources compete: git prefers exact matches with the same basename,
// then same-basename pairs that are similar enough, then the best score.
TEST(RecordFidelity, RenamePairingMatchesGit) {
  GitRepo repo;
  std::string base = Lines(1, 30);
  repo.Write("a/foo.c", base);
  repo.Write("b/bar.c", base + "tail\n");
  repo.Write("x/same.txt", "identical\n");
  repo.Write("y/same.txt", "identical\n");
  repo.Write("z/other.txt", "identical\n");
  repo.Write("e1", "");
  repo.Write("link1", "");
  repo.Write("crlf/one.txt", Lines(1, 10, "crlf row"));
  repo.Write("bin/data.bin", Binary(5, 4000));
  Sh(repo, "rm link1 && ln -s target/one link1 && ln -s target/two link2");
  repo.CommitAll("Start\n");

  // a/foo.c and b/bar.c removed; c/foo.c looks more like b/bar.c but shares foo.c's basename.
  repo.Remove("a");
  repo.Remove("b");
  repo.Write("c/foo.c", base + "tail\nmore\n");
  // Three identical sources, two identical destinations: the same basename wins.
  repo.Remove("x");
  repo.Remove("y");
  repo.Remove("z");
  repo.Write("w/other.txt", "identical\n");
  repo.Write("v/same.txt", "identical\n");
  // Empty files rename too.
  repo.Remove("e1");
  repo.Write("e2", "");
  // A symlink renamed exactly, and one renamed with a new target (not paired).
  Sh(repo, "mv link1 linkA && rm link2 && ln -s target/three linkB");
  // CR before LF does not count in similarity.
  std::string crlf;
  for (int i = 1; i <= 10; ++i) crlf += fmt::format("crlf row {:02d} of the test file\r\n", i);
  repo.Remove("crlf");
  repo.Write("crlf2/two.txt", crlf);
  // A binary renamed with an edit.
  repo.Remove("bin");
  std::string b = Binary(5, 4000);
  b[3000] = 'x';
  repo.Write("bin2/data2.bin", b);
  std::string c = repo.CommitAll("Shuffle\n");

  // Many similar candidates: ties broken like git.
  for (int i = 0; i < 6; ++i) repo.Write(fmt::format("t/src{}.txt", i), Lines(1, 12, "tie"));
  repo.CommitAll("Ties\n");
  for (int i = 0; i < 6; ++i) repo.Remove(fmt::format("t/src{}.txt", i));
  for (int i = 0; i < 5; ++i)
    repo.Write(fmt::format("u/dst{}.txt", i), Lines(1, 12, "tie") + "x\n");
  repo.CommitAll("Ties renamed\n");

  // Unique basenames that are not similar enough for the basename pass (75%) but are for the
  // matrix (50%), plus a better-scoring source with another name.
  repo.Write("p/name.txt", Lines(1, 10));
  repo.Write("q/alt.txt", Lines(1, 12));
  repo.CommitAll("Before\n");
  repo.Remove("p");
  repo.Remove("q");
  repo.Write("r/name.txt", Lines(1, 12) + Lines(40, 45));
  repo.CommitAll("After\n");

  auto records = MineAll(repo.path());
  for (const auto& [id, r] : records) ExpectMatchesGit(repo, r);
  ASSERT_EQ(records.count(c), 1u);
  EXPECT_EQ(
      Summary(records.at(c)),
      (std::vector<std::string>{
          "D b/bar.c", "R bin/data.bin -> bin2/data2.bin", "R a/foo.c -> c/foo.c",
          "R crlf/one.txt -> crlf2/two.txt", "R e1 -> e2", "D link2", "R link1 -> linkA", "A linkB",
          "R x/same.txt -> v/same.txt", "R z/other.txt -> w/other.txt", "D y/same.txt"}));
}

// The rename limit: past limit^2 source x destination pairs only exact renames are found.
TEST(RecordFidelity, RenameLimitMatchesGit) {
  GitRepo repo;
  for (int i = 0; i < 3; ++i)
    repo.Write(fmt::format("old{}.txt", i), Lines(1, 10, fmt::format("f{}", i)));
  repo.Write("exact.txt", "exact\n");
  repo.CommitAll("Start\n");
  for (int i = 0; i < 3; ++i) {
    repo.Remove(fmt::format("old{}.txt", i));
    repo.Write(fmt::format("new{}.txt", i), Lines(1, 10, fmt::format("f{}", i)) + "more\n");
  }
  Sh(repo, "git mv exact.txt exact2.txt");
  const std::string c = repo.CommitAll("Rename all\n");
  RecordOptions ro;
  ro.rename_limit = 2;
  auto records = MineAll(repo.path(), nullptr, ro);
  ASSERT_EQ(records.size(), 2u);
  for (const auto& [id, r] : records) ExpectMatchesGit(repo, r, "-c diff.renameLimit=2");
  // Past the limit (3 x 3 inexact pairs > 2^2) only the exact rename is found, as git finds.
  ASSERT_EQ(records.count(c), 1u);
  EXPECT_EQ(Summary(records.at(c)),
            (std::vector<std::string>{"R exact.txt -> exact2.txt", "A new0.txt", "A new1.txt",
                                      "A new2.txt", "D old0.txt", "D old1.txt", "D old2.txt"}));
  ro.rename_limit = 1000;
  records = MineAll(repo.path(), nullptr, ro);
  ASSERT_EQ(records.size(), 2u);
  for (const auto& [id, r] : records) ExpectMatchesGit(repo, r);
  // Within the limit the edited files are renames too.
  ASSERT_EQ(records.count(c), 1u);
  EXPECT_EQ(Summary(records.at(c)),
            (std::vector<std::string>{"R exact.txt -> exact2.txt", "R old0.txt -> new0.txt",
                                      "R old1.txt -> new1.txt", "R old2.txt -> new2.txt"}));
}

std::string LooseObjectPath(GitRepo& repo, const std::string& spec) {
  std::string id = repo.Git("rev-parse " + spec);
  id.pop_back();
  return repo.path() + "/.git/objects/" + id.substr(0, 2) + "/" + id.substr(2);
}

// A blob missing from the object database marks its file unavailable; the walk goes on.
TEST(RecordFidelity, MissingBlobMarksFileUnavailable) {
  GitRepo repo;
  repo.Write("keep.txt", "keep\n");
  repo.Write("gone.txt", Lines(1, 20, "gone"));
  std::string c1 = repo.CommitAll("One\n");
  repo.Write("big.txt", "this blob will vanish\n");
  repo.Write("keep.txt", "keep 2\n");
  std::string c2 = repo.CommitAll("Two\n");
  std::string big = LooseObjectPath(repo, c2 + ":big.txt");
  std::string gone = LooseObjectPath(repo, c1 + ":gone.txt");
  repo.Remove("gone.txt");
  repo.Write("moved.txt", Lines(1, 20, "gone") + "extra\n");
  std::string c3 = repo.CommitAll("Three\n");
  repo.Write("keep.txt", "keep 3\n");
  std::string c4 = repo.CommitAll("Four\n");
  ASSERT_EQ(std::remove(big.c_str()), 0);
  ASSERT_EQ(std::remove(gone.c_str()), 0);

  WalkStats stats;
  auto records = MineAll(repo.path(), &stats);
  EXPECT_EQ(stats.commits_skipped, 0);
  ASSERT_EQ(records.size(), 4u);
  ExpectMatchesGit(repo, records.at(c4));
  const Record& r2 = records.at(c2);
  ASSERT_EQ(r2.files_size(), 2);
  EXPECT_EQ(r2.files(0).path(), "big.txt");
  EXPECT_TRUE(r2.files(0).unavailable());
  EXPECT_NE(r2.files(0).unavailable_reason(), "");
  EXPECT_FALSE(r2.files(1).unavailable());
  EXPECT_EQ(r2.files(1).added(), 1);
  EXPECT_EQ(r2.unavailable_files(), 1);
  // Rename detection needed the missing blob: plain addition and deletion.
  const Record& r3 = records.at(c3);
  EXPECT_TRUE(r3.renames_skipped());
  EXPECT_EQ(Summary(r3), (std::vector<std::string>{"D gone.txt", "A moved.txt"}));
  EXPECT_TRUE(r3.files(0).unavailable());
  EXPECT_FALSE(r3.files(1).unavailable());
  EXPECT_EQ(r3.files(1).added(), 21);
  const Record& r1 = records.at(c1);
  EXPECT_TRUE(r1.files(0).unavailable());  // gone.txt
  EXPECT_EQ(r1.files(0).path(), "gone.txt");
}

}  // namespace
}  // namespace fixmine::miner
