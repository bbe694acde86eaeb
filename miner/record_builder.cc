#include "miner/record_builder.h"

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status.h"
#include "fmt/format.h"
#include "miner/git_handles.h"
#include "miner/language.h"

namespace fixmine::miner {
namespace {

using fixmine::v1::ChangeType;
using fixmine::v1::FileChange;
using fixmine::v1::Record;

// git looks for a NUL byte in the first 8000 bytes to call content binary (buffer_is_binary).
constexpr size_t kBinaryProbeBytes = 8000;
// git treats blobs over core.bigFileThreshold (512 MiB) as binary without reading them.
constexpr size_t kBigFileThreshold = size_t{512} << 20;

bool LooksBinary(std::string_view data) {
  return std::memchr(data.data(), 0, std::min(data.size(), kBinaryProbeBytes)) != nullptr;
}

std::string ModeOctal(uint32_t mode) { return fmt::format("{:06o}", mode); }

// One side of a file pair as loaded from the object database.
struct Side {
  bool present = false;  // the side exists (not /dev/null)
  bool readable = true;  // its content could be read
  std::string error;
  BlobPtr blob;           // owns `data` for blobs
  std::string synthetic;  // owns `data` for gitlinks
  std::string_view data;
  uint32_t mode = 0;
  std::string path;
  git_oid id{};
  bool too_big = false;
};

absl::Status LoadSide(git_repository* repo, const git_diff_file& f, bool present, Side* s) {
  s->present = present;
  s->mode = present ? f.mode : 0;
  s->path = f.path ? f.path : "";
  s->id = f.id;
  if (!present) return absl::OkStatus();
  if (f.mode == GIT_FILEMODE_COMMIT) {
    s->synthetic = absl::StrCat("Subproject commit ", OidHex(f.id), "\n");
    s->data = s->synthetic;
    return absl::OkStatus();
  }
  git_blob* blob = nullptr;
  int rc = git_blob_lookup(&blob, repo, &f.id);
  if (rc != 0) {
    absl::Status st = GitStatus(rc, absl::StrCat("reading blob ", OidHex(f.id), " of \"",
                                                 s->path, "\""));
    s->readable = false;
    s->error = std::string(st.message());
    return st;
  }
  s->blob.reset(blob);
  auto size = static_cast<size_t>(git_blob_rawsize(blob));
  if (size > kBigFileThreshold) {
    s->too_big = true;
    return absl::OkStatus();
  }
  s->data = std::string_view(static_cast<const char*>(git_blob_rawcontent(blob)), size);
  return absl::OkStatus();
}

// Appends the "--- a/x" / "+++ b/x" label as git does: quoted when needed, "/dev/null" for an
// absent side, and a trailing tab when the path holds a space.
void AppendLabel(std::string* out, std::string_view marker, std::string_view prefix,
                 const Side& side) {
  out->append(marker);
  if (!side.present) {
    out->append("/dev/null\n");
    return;
  }
  out->append(QuotePathForPatch(prefix, side.path));
  if (side.path.find(' ') != std::string::npos) out->push_back('\t');
  out->push_back('\n');
}

struct TextDiff {
  std::string body;  // "--- ...", "+++ ...", hunks
  int added = 0;
  int deleted = 0;
  std::vector<fixmine::v1::Hunk> hunks;
};

absl::Status DiffText(const Side& a, const Side& b, const RecordOptions& opt, TextDiff* out) {
  git_diff_options dopts = GIT_DIFF_OPTIONS_INIT;
  dopts.flags = GIT_DIFF_FORCE_TEXT | GIT_DIFF_INDENT_HEURISTIC;
  dopts.context_lines = static_cast<uint32_t>(opt.context_lines);
  git_patch* raw = nullptr;
  int rc = git_patch_from_buffers(&raw, a.data.data(), a.data.size(),
                                  a.present ? a.path.c_str() : nullptr, b.data.data(),
                                  b.data.size(), b.present ? b.path.c_str() : nullptr, &dopts);
  if (rc != 0) return GitStatus(rc, "diffing file contents");
  PatchPtr patch(raw);
  size_t nh = git_patch_num_hunks(patch.get());
  if (nh == 0) return absl::OkStatus();
  AppendLabel(&out->body, "--- ", "a/", a);
  AppendLabel(&out->body, "+++ ", "b/", b);
  for (size_t h = 0; h < nh; ++h) {
    const git_diff_hunk* hunk = nullptr;
    size_t nlines = 0;
    rc = git_patch_get_hunk(&hunk, &nlines, patch.get(), h);
    if (rc != 0) return GitStatus(rc, "reading a diff hunk");
    fixmine::v1::Hunk* ph = &out->hunks.emplace_back();
    ph->set_old_start(hunk->old_start);
    ph->set_old_lines(hunk->old_lines);
    ph->set_new_start(hunk->new_start);
    ph->set_new_lines(hunk->new_lines);
    std::string_view hdr(hunk->header, hunk->header_len);
    out->body.append(hdr);
    if (!hdr.empty() && hdr.back() != '\n') out->body.push_back('\n');
    size_t close = hdr.find("@@", 2);
    if (close != std::string_view::npos) {
      std::string_view rest = hdr.substr(close + 2);
      if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      while (!rest.empty() && (rest.back() == '\n' || rest.back() == '\r')) rest.remove_suffix(1);
      ph->set_header(std::string(rest));
    }
    std::string text;
    for (size_t l = 0; l < nlines; ++l) {
      const git_diff_line* line = nullptr;
      rc = git_patch_get_line_in_hunk(&line, patch.get(), h, l);
      if (rc != 0) return GitStatus(rc, "reading a diff line");
      switch (line->origin) {
        case GIT_DIFF_LINE_CONTEXT:
        case GIT_DIFF_LINE_ADDITION:
        case GIT_DIFF_LINE_DELETION: {
          if (line->origin == GIT_DIFF_LINE_ADDITION) ++out->added;
          if (line->origin == GIT_DIFF_LINE_DELETION) ++out->deleted;
          text.push_back(line->origin);
          text.append(line->content, line->content_len);
          if (line->content_len == 0 || line->content[line->content_len - 1] != '\n') {
            text.push_back('\n');
          }
          break;
        }
        case GIT_DIFF_LINE_CONTEXT_EOFNL:
        case GIT_DIFF_LINE_ADD_EOFNL:
        case GIT_DIFF_LINE_DEL_EOFNL:
          text.append("\\ No newline at end of file\n");
          break;
        default:
          break;
      }
    }
    out->body.append(text);
    ph->set_text(std::move(text));
  }
  return absl::OkStatus();
}

// Cuts `data` to at most `cap` bytes without splitting a UTF-8 sequence when it is UTF-8.
std::string_view Capped(std::string_view data, size_t cap, bool utf8, bool* truncated) {
  *truncated = data.size() > cap;
  if (!*truncated) return data;
  size_t n = cap;
  if (utf8) {
    while (n > 0 && (static_cast<unsigned char>(data[n]) & 0xC0) == 0x80) --n;
  }
  return data.substr(0, n);
}

ChangeType ToChangeType(git_delta_t status) {
  switch (status) {
    case GIT_DELTA_ADDED:
      return fixmine::v1::ADDED;
    case GIT_DELTA_DELETED:
      return fixmine::v1::DELETED;
    case GIT_DELTA_RENAMED:
      return fixmine::v1::RENAMED;
    case GIT_DELTA_COPIED:
      return fixmine::v1::COPIED;
    case GIT_DELTA_TYPECHANGE:
      return fixmine::v1::TYPE_CHANGED;
    default:
      return fixmine::v1::MODIFIED;
  }
}

// Renders one "diff --git" section (for a type change, the caller renders two).
// `a` or `b` may be absent (added / deleted).
absl::Status RenderSection(const Side& a, const Side& b, git_delta_t status, int similarity,
                           const RecordOptions& opt, std::string* patch, FileChange* fc,
                           bool* any_binary) {
  const std::string& a_name = a.present ? a.path : b.path;
  const std::string& b_name = b.present ? b.path : a.path;
  absl::StrAppend(patch, "diff --git ", QuotePathForPatch("a/", a_name), " ",
                  QuotePathForPatch("b/", b_name), "\n");
  if (!a.present) {
    absl::StrAppend(patch, "new file mode ", ModeOctal(b.mode), "\n");
  } else if (!b.present) {
    absl::StrAppend(patch, "deleted file mode ", ModeOctal(a.mode), "\n");
  } else if (a.mode != b.mode) {
    absl::StrAppend(patch, "old mode ", ModeOctal(a.mode), "\nnew mode ", ModeOctal(b.mode),
                    "\n");
  }
  if (status == GIT_DELTA_RENAMED || status == GIT_DELTA_COPIED) {
    const char* verb = status == GIT_DELTA_RENAMED ? "rename" : "copy";
    absl::StrAppend(patch, "similarity index ", similarity, "%\n", verb, " from ",
                    QuotePathForPatch("", a.path), "\n", verb, " to ",
                    QuotePathForPatch("", b.path), "\n");
  }
  git_oid zero{};
  const git_oid& aid = a.present ? a.id : zero;
  const git_oid& bid = b.present ? b.id : zero;
  bool same_content = a.present && b.present && git_oid_equal(&aid, &bid);
  if (!same_content) {
    absl::StrAppend(patch, "index ", OidHex(aid), "..", OidHex(bid));
    if (a.present && b.present && a.mode == b.mode) absl::StrAppend(patch, " ", ModeOctal(a.mode));
    patch->push_back('\n');
  }
  if (same_content) return absl::OkStatus();
  if ((a.present && !a.readable) || (b.present && !b.readable)) {
    fc->set_unavailable(true);
    if (fc->unavailable_reason().empty()) {
      fc->set_unavailable_reason(!a.error.empty() ? a.error : b.error);
    }
    return absl::OkStatus();
  }
  bool binary = a.too_big || b.too_big || LooksBinary(a.data) || LooksBinary(b.data);
  if (binary) {
    *any_binary = true;
    absl::StrAppend(patch, "Binary files ",
                    a.present ? QuotePathForPatch("a/", a.path) : "/dev/null", " and ",
                    b.present ? QuotePathForPatch("b/", b.path) : "/dev/null", " differ\n");
    return absl::OkStatus();
  }
  TextDiff td;
  FIXMINE_RETURN_IF_ERROR(DiffText(a, b, opt, &td));
  patch->append(td.body);
  fc->set_added(fc->added() + td.added);
  fc->set_deleted(fc->deleted() + td.deleted);
  for (auto& h : td.hunks) *fc->add_hunks() = std::move(h);
  return absl::OkStatus();
}

absl::Status BuildFile(git_repository* repo, const git_diff_delta& d, const RecordOptions& opt,
                       FileChange* fc) {
  bool has_old = d.status != GIT_DELTA_ADDED;
  bool has_new = d.status != GIT_DELTA_DELETED;
  Side a, b;
  (void)LoadSide(repo, d.old_file, has_old, &a);  // failures are kept in the side
  (void)LoadSide(repo, d.new_file, has_new, &b);
  std::string new_path = has_new ? b.path : a.path;
  std::string old_path = has_old ? a.path : b.path;
  DecodedText np = DecodeToUtf8(new_path);
  fc->set_path(np.text);
  fc->set_old_path(DecodeToUtf8(old_path).text);
  fc->set_change_type(ToChangeType(d.status));
  fc->set_language(std::string(LanguageForPath(np.text)));
  fc->set_old_mode(a.mode);
  fc->set_new_mode(b.mode);
  if (has_old) fc->set_old_blob(OidHex(a.id));
  if (has_new) fc->set_new_blob(OidHex(b.id));
  if (d.status == GIT_DELTA_RENAMED || d.status == GIT_DELTA_COPIED) {
    fc->set_similarity(d.similarity);
  }

  std::string patch;
  bool binary = false;
  if (d.status == GIT_DELTA_TYPECHANGE) {
    // git prints a type change as a deletion of the old entry and an addition of the new one.
    Side none_a, none_b;
    none_a.path = a.path;
    none_b.path = b.path;
    FIXMINE_RETURN_IF_ERROR(
        RenderSection(a, none_b, GIT_DELTA_DELETED, 0, opt, &patch, fc, &binary));
    FIXMINE_RETURN_IF_ERROR(
        RenderSection(none_a, b, GIT_DELTA_ADDED, 0, opt, &patch, fc, &binary));
  } else {
    Side none;
    FIXMINE_RETURN_IF_ERROR(RenderSection(has_old ? a : none, has_new ? b : none, d.status,
                                          d.similarity, opt, &patch, fc, &binary));
  }
  if (binary) {
    fc->set_binary(true);
    fc->set_added(0);
    fc->set_deleted(0);
    fc->clear_hunks();
  }

  // Text fields must be UTF-8: content that is not is decoded as ISO-8859-1, losslessly.
  bool old_text = has_old && a.readable && !a.too_big && a.blob && !LooksBinary(a.data);
  bool new_text = has_new && b.readable && !b.too_big && b.blob && !LooksBinary(b.data);
  bool utf8 = IsValidUtf8(patch) && (!old_text || IsValidUtf8(a.data)) &&
              (!new_text || !opt.include_new_content || IsValidUtf8(b.data));
  auto text = [&](std::string_view s) { return utf8 ? std::string(s) : Latin1ToUtf8(s); };
  if (!utf8) {
    fc->set_content_encoding("ISO-8859-1");
    for (auto& h : *fc->mutable_hunks()) h.set_text(Latin1ToUtf8(h.text()));
  }
  fc->set_patch(text(patch));
  if (old_text && d.status != GIT_DELTA_TYPECHANGE) {
    bool truncated = false;
    fc->set_old_content(text(Capped(a.data, opt.content_cap, utf8, &truncated)));
    fc->set_old_content_truncated(truncated);
  }
  if (opt.include_new_content && new_text) {
    bool truncated = false;
    fc->set_new_content(text(Capped(b.data, opt.content_cap, utf8, &truncated)));
    fc->set_new_content_truncated(truncated);
  }
  return absl::OkStatus();
}

void FillSignature(const git_signature* sig, std::string_view encoding,
                   fixmine::v1::Signature* out) {
  if (!sig) return;
  out->set_name(DecodeToUtf8(sig->name ? sig->name : "", encoding).text);
  out->set_email(DecodeToUtf8(sig->email ? sig->email : "", encoding).text);
  out->set_time(sig->when.time);
  out->set_offset_minutes(sig->when.offset);
}

absl::Status DiffTrees(git_repository* repo, git_tree* old_tree, git_tree* new_tree,
                       const RecordOptions& opt, bool find_renames, DiffPtr* out) {
  git_diff_options dopts = GIT_DIFF_OPTIONS_INIT;
  dopts.flags = GIT_DIFF_INCLUDE_TYPECHANGE;
  git_diff* diff = nullptr;
  int rc = git_diff_tree_to_tree(&diff, repo, old_tree, new_tree, &dopts);
  if (rc != 0) return GitStatus(rc, "diffing trees");
  out->reset(diff);
  if (!find_renames) return absl::OkStatus();
  size_t adds = 0, dels = 0;
  for (size_t i = 0, n = git_diff_num_deltas(diff); i < n; ++i) {
    git_delta_t s = git_diff_get_delta(diff, i)->status;
    adds += s == GIT_DELTA_ADDED;
    dels += s == GIT_DELTA_DELETED;
  }
  if (adds == 0 || dels == 0) return absl::OkStatus();
  git_diff_find_options fopts = GIT_DIFF_FIND_OPTIONS_INIT;
  fopts.flags = GIT_DIFF_FIND_RENAMES;
  fopts.rename_threshold = static_cast<uint16_t>(opt.rename_threshold);
  fopts.rename_limit = SIZE_MAX;
  // git skips inexact rename detection when sources x destinations exceeds renameLimit squared.
  auto limit = static_cast<size_t>(opt.rename_limit);
  if (adds * dels > limit * limit) fopts.flags |= GIT_DIFF_FIND_EXACT_MATCH_ONLY;
  rc = git_diff_find_similar(diff, &fopts);
  if (rc != 0) return GitStatus(rc, "detecting renames");
  return absl::OkStatus();
}

}  // namespace

std::string RecordId(const std::string& repo_name, const std::string& commit_hex) {
  std::string key = absl::StrCat("fixmine-record\n", repo_name, "\n", commit_hex);
  git_oid oid;
  git_odb_hash(&oid, key.data(), key.size(), GIT_OBJECT_BLOB);
  return OidHex(oid).substr(0, 24);
}

std::string SubjectOf(std::string_view msg) {
  std::string out;
  bool first = true;
  bool started = false;
  while (!msg.empty()) {
    size_t nl = msg.find('\n');
    std::string_view line = msg.substr(0, nl);
    msg = nl == std::string_view::npos ? std::string_view() : msg.substr(nl + 1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r' ||
                             line.back() == '\v' || line.back() == '\f')) {
      line.remove_suffix(1);
    }
    bool blank = line.find_first_not_of(" \t\r\v\f") == std::string_view::npos;
    if (blank) {
      if (started) break;
      continue;
    }
    started = true;
    if (!first) out.push_back(' ');
    out.append(line);
    first = false;
  }
  return out;
}

std::string QuotePathForPatch(std::string_view prefix, std::string_view path) {
  bool needs = false;
  for (unsigned char c : path) {
    if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || c == 0x7f) {
      needs = true;
      break;
    }
  }
  if (!needs) return std::string(prefix).append(path);
  std::string out = "\"";
  out.append(prefix.data(), prefix.size());
  for (unsigned char c : path) {
    switch (c) {
      case '\a': out.append("\\a"); break;
      case '\b': out.append("\\b"); break;
      case '\t': out.append("\\t"); break;
      case '\n': out.append("\\n"); break;
      case '\v': out.append("\\v"); break;
      case '\f': out.append("\\f"); break;
      case '\r': out.append("\\r"); break;
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          out.append(fmt::format("\\{:03o}", c));
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return out;
}

absl::StatusOr<Record> BuildRecord(git_repository* repo, git_commit* commit,
                                   const RecordOptions& opt) {
  Record r;
  std::string hex = OidHex(*git_commit_id(commit));
  r.set_id(RecordId(opt.repo_name, hex));
  r.set_repo(opt.repo_name);
  r.set_commit(hex);
  unsigned nparents = git_commit_parentcount(commit);
  for (unsigned i = 0; i < nparents; ++i) r.add_parents(OidHex(*git_commit_parent_id(commit, i)));

  const char* enc = git_commit_message_encoding(commit);
  std::string_view encoding = enc ? enc : "";
  const char* raw_msg = git_commit_message_raw(commit);
  DecodedText msg = DecodeToUtf8(raw_msg ? raw_msg : "", encoding);
  r.set_subject(SubjectOf(msg.text));
  r.set_message(std::move(msg.text));
  r.set_message_encoding(std::move(msg.encoding));
  FillSignature(git_commit_author(commit), encoding, r.mutable_author());
  FillSignature(git_commit_committer(commit), encoding, r.mutable_committer());

  git_tree* tree_raw = nullptr;
  int rc = git_commit_tree(&tree_raw, commit);
  if (rc != 0) return GitStatus(rc, absl::StrCat("reading the tree of commit ", hex));
  TreePtr tree(tree_raw);
  TreePtr parent_tree;
  if (nparents > 0) {
    git_commit* parent = nullptr;
    rc = git_commit_parent(&parent, commit, 0);
    if (rc != 0) return GitStatus(rc, absl::StrCat("reading the first parent of commit ", hex));
    CommitPtr parent_ptr(parent);
    git_tree* pt = nullptr;
    rc = git_commit_tree(&pt, parent);
    if (rc != 0) return GitStatus(rc, absl::StrCat("reading the parent tree of commit ", hex));
    parent_tree.reset(pt);
  }

  DiffPtr diff;
  absl::Status st = DiffTrees(repo, parent_tree.get(), tree.get(), opt, true, &diff);
  if (!st.ok()) {
    // Rename detection reads blobs; when one is missing, list plain additions and deletions.
    r.set_renames_skipped(true);
    FIXMINE_RETURN_IF_ERROR(Annotate(
        DiffTrees(repo, parent_tree.get(), tree.get(), opt, false, &diff),
        absl::StrCat("diffing commit ", hex)));
  }
  int files = 0, added = 0, deleted = 0, unavailable = 0;
  for (size_t i = 0, n = git_diff_num_deltas(diff.get()); i < n; ++i) {
    const git_diff_delta* d = git_diff_get_delta(diff.get(), i);
    FileChange* fc = r.add_files();
    FIXMINE_RETURN_IF_ERROR(
        Annotate(BuildFile(repo, *d, opt, fc), absl::StrCat("diffing commit ", hex)));
    ++files;
    added += fc->added();
    deleted += fc->deleted();
    unavailable += fc->unavailable();
  }
  r.set_unavailable_files(unavailable);
  auto* q = r.mutable_quality();
  q->set_subject_length(static_cast<int32_t>(r.subject().size()));
  q->set_files_changed(files);
  q->set_lines_added(added);
  q->set_lines_deleted(deleted);
  int words = 0;
  bool in_word = false;
  for (char c : r.message()) {
    bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  q->set_message_words(words);
  return r;
}

}  // namespace fixmine::miner
