#include "miner/combined_diff.h"

#include <cctype>
#include <cstdint>
#include <cstring>
#include <map>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status.h"
#include "fmt/format.h"
#include "miner/binary_probe.h"
#include "miner/git_handles.h"
#include "miner/language.h"

namespace fixmine::miner {
namespace {

using fixmine::v1::FileChange;
using fixmine::v1::Record;

// A line deleted from one or more parents, shown before the result line it hangs on.
struct Lost {
  std::string_view text;  // without its newline
  uint64_t parents = 0;   // bit i: parent i had the line
};

// One line of the result (plus a sentinel after the last one).
struct ResultLine {
  std::string_view text;
  bool sentinel = false;
  // Bits 0..n-1: the line was added relative to parent i. Bit n: in a shown hunk. Bit n+1:
  // painted as leading context (its lost lines are not printed).
  uint64_t flag = 0;
  std::vector<Lost> lost;         // coalesced over the parents diffed so far
  std::vector<Lost> pending;      // the current parent's lost lines, before coalescing
  std::vector<long> parent_line;  // per parent: its line number where a hunk starting here
};

// Merges `incoming` (the lines parent `n` lost here) into `base` along their longest common
// subsequence: a shared line gets parent n's bit, the others are inserted in order. Ties go
// the way git's combined diff breaks them, so the printed order is git's.
void Coalesce(std::vector<Lost>* base, std::vector<Lost>&& incoming, unsigned n) {
  if (incoming.empty()) return;
  if (base->empty()) {
    *base = std::move(incoming);
    return;
  }
  const size_t nb = base->size(), ni = incoming.size();
  enum Step : uint8_t { kBoth, kBase, kIncoming };
  std::vector<std::vector<int>> len(nb + 1, std::vector<int>(ni + 1, 0));
  std::vector<std::vector<Step>> step(nb + 1, std::vector<Step>(ni + 1, kBase));
  for (size_t j = 1; j <= ni; ++j) step[0][j] = kIncoming;
  for (size_t i = 1; i <= nb; ++i) {
    for (size_t j = 1; j <= ni; ++j) {
      if ((*base)[i - 1].text == incoming[j - 1].text) {
        len[i][j] = len[i - 1][j - 1] + 1;
        step[i][j] = kBoth;
      } else if (len[i][j - 1] >= len[i - 1][j]) {
        len[i][j] = len[i][j - 1];
        step[i][j] = kIncoming;
      } else {
        len[i][j] = len[i - 1][j];
        step[i][j] = kBase;
      }
    }
  }
  std::vector<Lost> merged;  // built back to front
  merged.reserve(nb + ni);
  size_t i = nb, j = ni;
  while (i != 0 || j != 0) {
    switch (step[i][j]) {
      case kBoth:
        merged.push_back((*base)[i - 1]);
        merged.back().parents |= uint64_t{1} << n;
        --i;
        --j;
        break;
      case kIncoming:
        merged.push_back(incoming[j - 1]);
        --j;
        break;
      case kBase:
        merged.push_back((*base)[i - 1]);
        --i;
        break;
    }
  }
  base->assign(merged.rbegin(), merged.rend());
}

// Diffs parent `n` (content `parent`) against the result and records, per result line, which
// lines are new relative to it and which of its lines were lost where.
absl::Status DiffAgainstParent(std::string_view parent, std::string_view result, unsigned n,
                               unsigned num_parents, std::vector<ResultLine>* lines) {
  const size_t cnt = lines->size() - 2;
  const uint64_t bit = uint64_t{1} << n;
  git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
  opts.flags = GIT_DIFF_FORCE_TEXT | GIT_DIFF_INDENT_HEURISTIC;
  opts.context_lines = 0;
  opts.interhunk_lines = 0;
  git_patch* raw = nullptr;
  int rc = git_patch_from_buffers(&raw, parent.data(), parent.size(), "", result.data(),
                                  result.size(), "", &opts);
  if (rc != 0) return GitStatus(rc, "diffing a merge parent");
  PatchPtr patch(raw);
  size_t nh = git_patch_num_hunks(patch.get());
  for (size_t h = 0; h < nh; ++h) {
    const git_diff_hunk* hunk = nullptr;
    size_t nlines = 0;
    rc = git_patch_get_hunk(&hunk, &nlines, patch.get(), h);
    if (rc != 0) return GitStatus(rc, "reading a diff hunk");
    // Lines removed by a hunk hang on the result line after them: the hunk's first new line,
    // or the line after its position when it adds nothing.
    size_t next_new = static_cast<size_t>(hunk->new_start);
    size_t bucket = hunk->new_lines == 0 ? next_new : next_new - 1;
    if (bucket > cnt) bucket = cnt;
    for (size_t l = 0; l < nlines; ++l) {
      const git_diff_line* line = nullptr;
      rc = git_patch_get_line_in_hunk(&line, patch.get(), h, l);
      if (rc != 0) return GitStatus(rc, "reading a diff line");
      std::string_view text(line->content, line->content_len);
      if (line->origin == GIT_DIFF_LINE_DELETION) {
        if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
        (*lines)[bucket].pending.push_back({text, bit});
      } else if (line->origin == GIT_DIFF_LINE_ADDITION) {
        if (next_new >= 1 && next_new - 1 < cnt) (*lines)[next_new - 1].flag |= bit;
        ++next_new;
      }
    }
  }
  // Parent line numbers: where this parent is at each result line, counting its lost lines
  // and the result lines it shares.
  long p_line = 1;
  for (size_t lno = 0; lno <= cnt; ++lno) {
    ResultLine& rl = (*lines)[lno];
    rl.parent_line.resize(num_parents);
    rl.parent_line[n] = p_line;
    Coalesce(&rl.lost, std::move(rl.pending), n);
    rl.pending.clear();
    for (const Lost& ll : rl.lost) {
      if (ll.parents & bit) ++p_line;
    }
    if (lno < cnt && !(rl.flag & bit)) ++p_line;
  }
  lines->back().parent_line.resize(num_parents);
  lines->back().parent_line[n] = p_line;
  return absl::OkStatus();
}

// Parent `n` has the same blob as parent `same`: copy its bits instead of diffing again.
void CopyParent(unsigned same, unsigned n, unsigned num_parents, std::vector<ResultLine>* lines) {
  const uint64_t from = uint64_t{1} << same, to = uint64_t{1} << n;
  for (ResultLine& rl : *lines) {
    if (rl.flag & from) rl.flag |= to;
    for (Lost& ll : rl.lost) {
      if (ll.parents & from) ll.parents |= to;
    }
    rl.parent_line.resize(num_parents);
    rl.parent_line[n] = rl.parent_line[same];
  }
}

// Lines [0, cnt] (cnt: the sentinel) and the hunk-selection rules of `--cc`.
class HunkPicker {
 public:
  HunkPicker(std::vector<ResultLine>* lines, unsigned num_parents, size_t context)
      : l_(*lines),
        cnt_(lines->size() - 2),
        all_(num_parents >= 64 ? ~uint64_t{0} : (uint64_t{1} << num_parents) - 1),
        mark_(uint64_t{1} << num_parents),
        no_pre_delete_(uint64_t{2} << num_parents),
        context_(context) {}

  // Marks the lines to show; false when nothing is left to show.
  bool Pick() {
    for (size_t i = 0; i <= cnt_; ++i) {
      if ((l_[i].flag & all_) || !l_[i].lost.empty()) {
        l_[i].flag |= mark_;
      } else {
        l_[i].flag &= ~mark_;
      }
    }
    DropTwoVersionHunks();
    return AddContext();
  }

  uint64_t mark() const { return mark_; }
  uint64_t no_pre_delete() const { return no_pre_delete_; }

 private:
  bool Marked(size_t i) const { return (l_[i].flag & mark_) != 0; }

  // `end` is the first unmarked line after a run starting at `begin`; a run whose last line
  // only carries deletions already shows one line of trailing context (that line itself).
  size_t TrimTail(size_t begin, size_t end) const {
    if (begin + 1 <= end && !(l_[end - 1].flag & all_)) return end - 1;
    return end;
  }

  size_t Find(size_t i, bool want_marked) const {
    while (i <= cnt_ && Marked(i) != want_marked) ++i;
    return i;
  }

  // A run of changes where the result equals one parent (or where all changes concern the
  // same subset of parents, short of all of them) is not a resolution: unmark it.
  void DropTwoVersionHunks() {
    size_t i = 0;
    while (i <= cnt_) {
      while (i <= cnt_ && !Marked(i)) ++i;
      if (i > cnt_) break;
      size_t begin = i;
      size_t j = i + 1;
      for (; j <= cnt_; ++j) {
        if (Marked(j)) continue;
        // Is another marked line close enough to join this run?
        size_t la = TrimTail(begin, j);
        la = std::min(la + context_, cnt_ + 1);
        bool joined = false;
        while (la > 0 && j <= --la) {
          if (Marked(la)) {
            joined = true;
            break;
          }
        }
        if (!joined) break;
        j = la;
      }
      size_t end = j;
      uint64_t same = 0;
      bool varied = false;
      for (size_t k = begin; k < end && !varied; ++k) {
        uint64_t diff = l_[k].flag & all_;
        if (diff) {
          if (!same) {
            same = diff;
          } else if (same != diff) {
            varied = true;
            break;
          }
        }
        for (const Lost& ll : l_[k].lost) {
          if (!same) {
            same = ll.parents;
          } else if (same != ll.parents) {
            varied = true;
            break;
          }
        }
      }
      if (!varied && same != all_) {
        for (size_t k = begin; k < end; ++k) l_[k].flag &= ~mark_;
      }
      i = end;
    }
  }

  // Paints context lines around the marked runs, joining runs with short gaps.
  bool AddContext() {
    size_t i = Find(0, true);
    if (i > cnt_) return false;
    while (i <= cnt_) {
      size_t j = context_ < i ? i - context_ : 0;
      for (; j < i; ++j) {
        if (!Marked(j)) l_[j].flag |= no_pre_delete_;
        l_[j].flag |= mark_;
      }
      for (;;) {
        j = Find(i, false);
        if (j > cnt_) return true;  // marked to the end
        size_t k = Find(j, true);
        j = TrimTail(i, j);
        if (k < j + context_) {
          for (; j < k; ++j) l_[j].flag |= mark_;
          i = k;
          continue;
        }
        i = k;
        size_t stop = std::min(j + context_, cnt_ + 1);
        for (; j < stop; ++j) l_[j].flag |= mark_;
        break;
      }
    }
    return true;
  }

  std::vector<ResultLine>& l_;
  size_t cnt_;
  uint64_t all_, mark_, no_pre_delete_;
  size_t context_;
};

// Text up to its first NUL byte (git prints lines with C string functions).
std::string_view UpToNul(std::string_view s) {
  size_t z = s.find('\0');
  return z == std::string_view::npos ? s : s.substr(0, z);
}

// Appends the hunks of the marked lines to `f`.
void RenderHunks(const std::vector<ResultLine>& l, unsigned np, size_t context,
                 const HunkPicker& picker, CombinedFile* f) {
  const size_t cnt = l.size() - 2;
  const uint64_t mark = picker.mark(), no_pre = picker.no_pre_delete(), all = mark - 1;
  size_t lno = 0;
  for (;;) {
    std::string_view comment;
    bool have_comment = false;
    while (lno <= cnt && !(l[lno].flag & mark)) {
      // The last unshown line that starts like a declaration titles the next hunk.
      if (!l[lno].sentinel && !l[lno].text.empty()) {
        unsigned char c = static_cast<unsigned char>(l[lno].text[0]);
        if (std::isalpha(c) || c == '_' || c == '$') {
          comment = l[lno].text;
          have_comment = true;
        }
      }
      ++lno;
    }
    if (lno > cnt) break;
    size_t end = lno + 1;
    while (end <= cnt && (l[end].flag & mark)) ++end;
    size_t rlines = end - lno;
    if (end > cnt) --rlines;  // the sentinel only carries deletions at the end
    size_t null_context = 0;
    if (context == 0) {
      // With -U0 the lines that only carry deletions are not printed; do not count them.
      for (size_t k = lno; k < end; ++k) {
        if (!(l[k].flag & all)) ++null_context;
      }
      rlines -= null_context;
    }
    std::string header(np + 1, '@');
    for (unsigned p = 0; p < np; ++p) {
      long from = l[lno].parent_line[p], to = l[end].parent_line[p];
      absl::StrAppend(&header, " -", from, ",", to - from - static_cast<long>(null_context));
    }
    absl::StrAppend(&header, " +", lno + 1, ",", rlines, " ", std::string(np + 1, '@'));
    std::string title;
    if (have_comment) {
      // git prints up to (not including) the last non-space byte among the first 40.
      size_t last = 0;
      for (size_t i = 0; i < 40 && i < comment.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(comment[i]);
        if (c == 0 || c == '\n') break;
        if (!std::isspace(c)) last = i;
      }
      if (last > 0) {
        title = std::string(comment.substr(0, last));
        absl::StrAppend(&header, " ", title);
      }
    }
    header.push_back('\n');
    fixmine::v1::Hunk& h = f->hunks.emplace_back();
    h.set_old_start(static_cast<int32_t>(l[lno].parent_line[0]));
    h.set_old_lines(static_cast<int32_t>(l[end].parent_line[0] - l[lno].parent_line[0]));
    h.set_new_start(static_cast<int32_t>(lno + 1));
    h.set_new_lines(static_cast<int32_t>(rlines));
    h.set_header(title);
    std::string body;
    while (lno < end) {
      const ResultLine& rl = l[lno++];
      if (!(rl.flag & no_pre)) {
        for (const Lost& ll : rl.lost) {
          for (unsigned p = 0; p < np; ++p) body.push_back(ll.parents >> p & 1 ? '-' : ' ');
          if (ll.parents & 1) ++f->deleted_vs_first;
          body.append(UpToNul(ll.text));
          body.push_back('\n');
        }
      }
      if (lno > cnt) break;
      if (!(rl.flag & all) && context == 0) continue;
      for (unsigned p = 0; p < np; ++p) body.push_back(rl.flag >> p & 1 ? '+' : ' ');
      if (rl.flag & all & 1) ++f->added_vs_first;
      body.append(UpToNul(rl.text));
      body.push_back('\n');
    }
    f->text.append(header);
    f->text.append(body);
    h.set_text(std::move(body));
  }
}

std::string Mode(uint32_t m) { return fmt::format("{:06o}", m); }

// Content of one side: the blob, "Subproject commit X\n" for a gitlink, empty when absent.
absl::Status LoadContent(git_repository* repo, const TreeSide& side, BlobPtr* blob,
                         std::string* synthetic, std::string_view* out) {
  *out = {};
  if (!side.present()) return absl::OkStatus();
  if (side.mode == GIT_FILEMODE_COMMIT) {
    *synthetic = absl::StrCat("Subproject commit ", OidHex(side.id), "\n");
    *out = *synthetic;
    return absl::OkStatus();
  }
  git_blob* b = nullptr;
  int rc = git_blob_lookup(&b, repo, &side.id);
  if (rc != 0) return GitStatus(rc, absl::StrCat("reading blob ", OidHex(side.id)));
  blob->reset(b);
  *out = std::string_view(static_cast<const char*>(git_blob_rawcontent(b)),
                          static_cast<size_t>(git_blob_rawsize(b)));
  return absl::OkStatus();
}

absl::Status RenderFile(git_repository* repo, size_t context, CombinedFile* f) {
  const unsigned np = static_cast<unsigned>(f->parents.size());
  std::vector<BlobPtr> blobs(np + 1);
  std::vector<std::string> synthetic(np + 1);
  std::vector<std::string_view> content(np + 1);
  FIXMINE_RETURN_IF_ERROR(LoadContent(repo, f->result, &blobs[np], &synthetic[np], &content[np]));
  for (unsigned p = 0; p < np; ++p) {
    FIXMINE_RETURN_IF_ERROR(
        LoadContent(repo, f->parents[p], &blobs[p], &synthetic[p], &content[p]));
  }
  bool mode_differs = false;
  bool all_added = true;
  for (const TreeSide& s : f->parents) {
    if (s.mode != f->result.mode) mode_differs = true;
    if (s.present()) all_added = false;
  }
  const bool deleted = !f->result.present();
  const bool added = mode_differs && !deleted && all_added;

  std::string head = absl::StrCat("diff --cc ", QuotePathForPatch("", f->path), "\nindex ");
  for (unsigned p = 0; p < np; ++p) {
    absl::StrAppend(&head, p ? "," : "", OidHex(f->parents[p].id));
  }
  absl::StrAppend(&head, "..", OidHex(f->result.id), "\n");
  if (mode_differs) {
    if (added) {
      absl::StrAppend(&head, "new file mode ", Mode(f->result.mode));
    } else {
      if (deleted) head.append("deleted file ");
      head.append("mode ");
      for (unsigned p = 0; p < np; ++p)
        absl::StrAppend(&head, p ? "," : "", Mode(f->parents[p].mode));
      if (!deleted) absl::StrAppend(&head, "..", Mode(f->result.mode));
    }
    head.push_back('\n');
  }

  bool binary = false;
  for (std::string_view c : content) binary = binary || LooksBinary(c);
  if (binary) {
    f->binary = true;
    f->text = head + "Binary files differ\n";
    return absl::OkStatus();
  }

  const std::string_view result = content[np];
  std::vector<ResultLine> lines;
  for (size_t pos = 0; pos < result.size();) {
    size_t nl = result.find('\n', pos);
    size_t stop = nl == std::string_view::npos ? result.size() : nl;
    lines.push_back({result.substr(pos, stop - pos)});
    pos = stop + 1;
  }
  lines.emplace_back().sentinel = true;  // index cnt: hangs deletions at the end
  lines.emplace_back().sentinel = true;  // index cnt+1: the trailer of parent line numbers
  if (!deleted) {
    for (unsigned p = 0; p < np; ++p) {
      unsigned same = p;
      for (unsigned q = 0; q < p; ++q) {
        if (git_oid_equal(&f->parents[q].id, &f->parents[p].id)) {
          same = q;
          break;
        }
      }
      if (same != p) {
        CopyParent(same, p, np, &lines);
      } else {
        FIXMINE_RETURN_IF_ERROR(DiffAgainstParent(content[p], result, p, np, &lines));
      }
    }
  } else {
    for (ResultLine& rl : lines) rl.parent_line.assign(np, 1);
  }
  HunkPicker picker(&lines, np, context);
  bool show = picker.Pick();
  if (!show && !mode_differs) return absl::OkStatus();  // nothing left: not listed
  f->text = head;
  absl::StrAppend(&f->text, "--- ", added ? "/dev/null" : QuotePathForPatch("a/", f->path), "\n");
  absl::StrAppend(&f->text, "+++ ", deleted ? "/dev/null" : QuotePathForPatch("b/", f->path), "\n");
  if (!deleted) RenderHunks(lines, np, context, picker, f);
  return absl::OkStatus();
}

std::string_view Capped(std::string_view data, size_t cap, bool* truncated) {
  *truncated = data.size() > cap;
  if (!*truncated) return data;
  size_t n = cap;
  while (n > 0 && (static_cast<unsigned char>(data[n]) & 0xC0) == 0x80) --n;
  return data.substr(0, n);
}

}  // namespace

absl::Status CombinedDiff(git_repository* repo, git_commit* commit, int context_lines,
                          std::vector<CombinedFile>* out) {
  const unsigned np = git_commit_parentcount(commit);
  if (np < 2 || np > kMaxCombinedParents) return absl::OkStatus();
  const std::string hex = OidHex(*git_commit_id(commit));
  git_tree* t = nullptr;
  int rc = git_commit_tree(&t, commit);
  if (rc != 0) return GitStatus(rc, absl::StrCat("reading the tree of merge ", hex));
  TreePtr tree(t);
  // Paths changed relative to each parent; a path stays a candidate only while every parent
  // so far changed it.
  std::vector<TreeChange> first;
  std::vector<std::map<std::string, TreeSide>> other(np);
  for (unsigned p = 0; p < np; ++p) {
    git_commit* pc = nullptr;
    rc = git_commit_parent(&pc, commit, p);
    if (rc != 0) return GitStatus(rc, absl::StrCat("reading parent ", p + 1, " of merge ", hex));
    CommitPtr parent(pc);
    git_tree* ptr = nullptr;
    rc = git_commit_tree(&ptr, pc);
    if (rc != 0) return GitStatus(rc, absl::StrCat("reading the tree of parent ", p + 1));
    TreePtr ptree(ptr);
    std::vector<TreeChange> changes;
    FIXMINE_RETURN_IF_ERROR(DiffTrees(repo, ptree.get(), tree.get(), &changes));
    if (p == 0) {
      first = std::move(changes);
    } else {
      for (TreeChange& c : changes) other[p].emplace(std::move(c.path), c.old_side);
    }
  }
  const size_t context = static_cast<size_t>(std::max(0, context_lines));
  for (const TreeChange& c : first) {
    CombinedFile f;
    f.path = c.path;
    f.result = c.new_side;
    f.parents.push_back(c.old_side);
    bool everywhere = true;
    for (unsigned p = 1; p < np && everywhere; ++p) {
      auto it = other[p].find(c.path);
      if (it == other[p].end()) {
        everywhere = false;
      } else {
        f.parents.push_back(it->second);
      }
    }
    if (!everywhere) continue;
    FIXMINE_RETURN_IF_ERROR(
        Annotate(RenderFile(repo, context, &f), absl::StrCat("combined diff of \"", c.path, "\"")));
    if (!f.text.empty()) out->push_back(std::move(f));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Record>> BuildMergeRecord(git_repository* repo, git_commit* commit,
                                                       const RecordOptions& opt) {
  std::vector<CombinedFile> files;
  const std::string hex = OidHex(*git_commit_id(commit));
  FIXMINE_RETURN_IF_ERROR(Annotate(CombinedDiff(repo, commit, opt.context_lines, &files),
                                   absl::StrCat("diffing merge ", hex)));
  if (files.empty()) return std::optional<Record>();
  Record r;
  FillCommitFields(commit, opt, &r);
  r.set_merge_resolution(true);
  for (CombinedFile& cf : files) {
    FileChange* fc = r.add_files();
    const TreeSide& first = cf.parents[0];
    bool utf8 = IsValidUtf8(cf.text) && IsValidUtf8(cf.path);
    fc->set_path(DecodeToUtf8(cf.path).text);
    fc->set_old_path(fc->path());
    bool none_had = true;
    for (const TreeSide& s : cf.parents) none_had = none_had && !s.present();
    if (!cf.result.present()) {
      fc->set_change_type(fixmine::v1::DELETED);
    } else if (none_had) {
      fc->set_change_type(fixmine::v1::ADDED);
    } else if (first.present() && IsTypeChange(first.mode, cf.result.mode)) {
      fc->set_change_type(fixmine::v1::TYPE_CHANGED);
    } else {
      fc->set_change_type(fixmine::v1::MODIFIED);
    }
    fc->set_language(std::string(LanguageForPath(fc->path())));
    fc->set_old_mode(first.mode);
    fc->set_new_mode(cf.result.mode);
    if (first.present()) fc->set_old_blob(OidHex(first.id));
    if (cf.result.present()) fc->set_new_blob(OidHex(cf.result.id));
    fc->set_binary(cf.binary);
    fc->set_added(cf.added_vs_first);
    fc->set_deleted(cf.deleted_vs_first);
    for (auto& h : cf.hunks) {
      if (!utf8) {
        h.set_text(Latin1ToUtf8(h.text()));
        h.set_header(Latin1ToUtf8(h.header()));
      }
      *fc->add_hunks() = std::move(h);
    }
    if (utf8) {
      fc->set_patch(std::move(cf.text));
    } else {
      fc->set_content_encoding("ISO-8859-1");
      fc->set_patch(Latin1ToUtf8(cf.text));
    }
    // The pre-image is the first parent's file, as for other records.
    if (!cf.binary && first.present() && first.mode != GIT_FILEMODE_COMMIT) {
      git_blob* b = nullptr;
      if (git_blob_lookup(&b, repo, &first.id) == 0) {
        BlobPtr blob(b);
        std::string_view data(static_cast<const char*>(git_blob_rawcontent(b)),
                              static_cast<size_t>(git_blob_rawsize(b)));
        bool truncated = false;
        std::string_view cut = Capped(data, opt.content_cap, &truncated);
        fc->set_old_content(IsValidUtf8(cut) ? std::string(cut) : Latin1ToUtf8(cut));
        fc->set_old_content_truncated(truncated);
      }
    }
    // A `.h` file's language from its content (the pre-image, else the combined diff's lines).
    fc->set_language(std::string(
        LanguageForFile(fc->path(), !fc->old_content().empty() ? fc->old_content() : fc->patch(),
                        opt.header_language)));
  }
  FinishRecord(opt, &r);
  return std::optional<Record>(std::move(r));
}

}  // namespace fixmine::miner
