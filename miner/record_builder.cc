#include "miner/record_builder.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status.h"
#include "fmt/format.h"
#include "miner/binary_probe.h"
#include "miner/file_diff.h"
#include "miner/functions.h"
#include "miner/git_handles.h"
#include "miner/language.h"
#include "miner/rename.h"
#include "miner/tree_diff.h"

namespace fixmine::miner {
namespace {

using fixmine::v1::ChangeType;
using fixmine::v1::FileChange;
using fixmine::v1::Record;

// git treats blobs over core.bigFileThreshold (512 MiB) as binary without reading them.
constexpr size_t kBigFileThreshold = size_t{512} << 20;

// IsValidUtf8 with the ASCII prefix skipped eight bytes at a time (source code is mostly ASCII).
bool IsUtf8(std::string_view data) {
  size_t i = 0;
  for (; i + 8 <= data.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, data.data() + i, 8);
    if (w & 0x8080808080808080ull) break;
  }
  while (i < data.size() && static_cast<unsigned char>(data[i]) < 0x80) ++i;
  return i == data.size() || IsValidUtf8(data.substr(i));
}

std::string ModeOctal(uint32_t mode) { return fmt::format("{:06o}", mode); }

// A blob read once per record, shared by rename detection and rendering.
struct CachedBlob {
  BlobPtr blob;
  std::string_view data;
  bool ok = false;
  bool too_big = false;
  std::string error;
};

// Blobs of one commit, keyed by id. Not thread-safe (one per record being built).
class BlobCache {
 public:
  BlobCache(git_repository* repo, size_t max_blob_bytes)
      : repo_(repo), max_blob_bytes_(max_blob_bytes) {}

  // Returns the blob `id`, reading it on first use; `ok` is false when it cannot be read.
  const CachedBlob& Get(const git_oid& id) {
    auto [it, fresh] = blobs_.try_emplace(Key(id));
    CachedBlob& b = it->second;
    if (!fresh) return b;
    // The size comes from the object header, so an oversized blob is never inflated.
    if (odb_ == nullptr) {
      git_odb* odb = nullptr;
      if (git_repository_odb(&odb, repo_) == 0) odb_.reset(odb);
    }
    if (odb_ != nullptr) {
      size_t len = 0;
      git_object_t type = GIT_OBJECT_INVALID;
      if (git_odb_read_header(&len, &type, odb_.get(), &id) == 0 && len > max_blob_bytes_) {
        b.ok = true;
        b.too_big = true;
        return b;
      }
    }
    git_blob* blob = nullptr;
    int rc = git_blob_lookup(&blob, repo_, &id);
    if (rc != 0) {
      b.error = std::string(GitStatus(rc, absl::StrCat("reading blob ", OidHex(id))).message());
      return b;
    }
    b.blob.reset(blob);
    b.ok = true;
    auto size = static_cast<size_t>(git_blob_rawsize(blob));
    b.data = std::string_view(static_cast<const char*>(git_blob_rawcontent(blob)), size);
    b.too_big = size > std::min(kBigFileThreshold, max_blob_bytes_);
    return b;
  }

  // Drops `id` (read again on the next Get).
  void Release(const git_oid& id) { blobs_.erase(Key(id)); }

 private:
  static std::string Key(const git_oid& id) {
    return std::string(reinterpret_cast<const char*>(id.id), GIT_OID_RAWSZ);
  }

  git_repository* repo_;
  size_t max_blob_bytes_;
  std::unique_ptr<git_odb, GitDeleter<git_odb, git_odb_free>> odb_;
  std::map<std::string, CachedBlob> blobs_;
};

// One changed file after rename detection.
struct FilePair {
  ChangeType type = fixmine::v1::MODIFIED;
  std::string old_path;
  std::string new_path;
  TreeSide old_side;
  TreeSide new_side;
  int similarity = 0;  // percent, renames only
};

// One side of a file pair as loaded from the object database.
struct Side {
  bool present = false;  // the side exists (not /dev/null)
  bool readable = true;  // its content could be read
  std::string error;
  std::string synthetic;  // owns `data` for gitlinks
  std::string_view data;
  // The blob `data` points into (owned by the BlobCache); null for gitlinks and absent sides.
  const git_blob* blob = nullptr;
  uint32_t mode = 0;
  std::string path;
  git_oid id{};
  bool too_big = false;
};

void LoadSide(BlobCache* cache, const std::string& path, const TreeSide& ts, bool present,
              Side* s) {
  s->present = present;
  s->mode = present ? ts.mode : 0;
  s->path = path;
  s->id = ts.id;
  if (!present) return;
  if (ts.mode == GIT_FILEMODE_COMMIT) {
    s->synthetic = absl::StrCat("Subproject commit ", OidHex(ts.id), "\n");
    s->data = s->synthetic;
    return;
  }
  const CachedBlob& b = cache->Get(ts.id);
  if (!b.ok) {
    s->readable = false;
    s->error = absl::StrCat(b.error, " (\"", path, "\")");
    return;
  }
  s->too_big = b.too_big;
  s->blob = b.blob.get();
  if (!b.too_big) s->data = b.data;
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
  // Empty paths: libgit2 then uses its default diff driver without looking up attributes (a
  // few stat calls per file), which is also what git does in a bare repository. The paths in
  // the headers are rendered by AppendLabel, not by libgit2.
  const char* a_path = a.present ? "" : nullptr;
  const char* b_path = b.present ? "" : nullptr;
  int rc;
  if ((!a.present || a.blob) && (!b.present || b.blob)) {
    // From the blobs: libgit2 takes their ids as they are, where from buffers it would SHA-1
    // both sides again (a fifth of all CPU time, measured on fmtlib/fmt).
    rc = git_patch_from_blobs(&raw, a.present ? a.blob : nullptr, a_path,
                              b.present ? b.blob : nullptr, b_path, &dopts);
  } else {
    rc = git_patch_from_buffers(&raw, a.data.data(), a.data.size(), a_path, b.data.data(),
                                b.data.size(), b_path, &dopts);
  }
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
    // libgit2 keeps trailing white space of a truncated function line; git trims it.
    std::string_view hdr(hunk->header, hunk->header_len);
    std::string func;
    size_t close = hdr.find("@@", 2);
    if (close != std::string_view::npos) {
      std::string_view rest = hdr.substr(close + 2);
      if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.back()))) {
        rest.remove_suffix(1);
      }
      func = std::string(rest);
    }
    auto range = [](int start, int lines) {
      return lines == 1 ? absl::StrCat(start) : absl::StrCat(start, ",", lines);
    };
    absl::StrAppend(&out->body, "@@ -", range(hunk->old_start, hunk->old_lines), " +",
                    range(hunk->new_start, hunk->new_lines), " @@", func.empty() ? "" : " ", func,
                    "\n");
    ph->set_header(std::move(func));
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

// Renders one "diff --git" section (for a type change, the caller renders two).
// `a` or `b` may be absent (added / deleted). Counts lines into `fc`.
absl::Status RenderSection(const Side& a, const Side& b, ChangeType type, int similarity,
                           const RecordOptions& opt, std::string* patch, FileChange* fc) {
  const std::string& a_name = a.present ? a.path : b.path;
  const std::string& b_name = b.present ? b.path : a.path;
  absl::StrAppend(patch, "diff --git ", QuotePathForPatch("a/", a_name), " ",
                  QuotePathForPatch("b/", b_name), "\n");
  if (!a.present) {
    absl::StrAppend(patch, "new file mode ", ModeOctal(b.mode), "\n");
  } else if (!b.present) {
    absl::StrAppend(patch, "deleted file mode ", ModeOctal(a.mode), "\n");
  } else if (a.mode != b.mode) {
    absl::StrAppend(patch, "old mode ", ModeOctal(a.mode), "\nnew mode ", ModeOctal(b.mode), "\n");
  }
  if (type == fixmine::v1::RENAMED || type == fixmine::v1::COPIED) {
    const char* verb = type == fixmine::v1::RENAMED ? "rename" : "copy";
    absl::StrAppend(patch, "similarity index ", similarity, "%\n", verb, " from ",
                    QuotePathForPatch("", a.path), "\n", verb, " to ",
                    QuotePathForPatch("", b.path), "\n");
  }
  git_oid zero{};
  const git_oid& aid = a.present ? a.id : zero;
  const git_oid& bid = b.present ? b.id : zero;
  bool same_content = a.present && b.present && git_oid_equal(&aid, &bid);
  if (same_content) return absl::OkStatus();
  absl::StrAppend(patch, "index ", OidHex(aid), "..", OidHex(bid));
  if (a.present && b.present && a.mode == b.mode) absl::StrAppend(patch, " ", ModeOctal(a.mode));
  patch->push_back('\n');
  if ((a.present && !a.readable) || (b.present && !b.readable)) return absl::OkStatus();
  bool binary = a.too_big || b.too_big || LooksBinary(a.data) || LooksBinary(b.data);
  if (binary) {
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

absl::Status BuildFile(BlobCache* cache, const FilePair& p, const RecordOptions& opt,
                       FileChange* fc) {
  bool has_old = p.type != fixmine::v1::ADDED;
  bool has_new = p.type != fixmine::v1::DELETED;
  Side a, b;
  LoadSide(cache, p.old_path, p.old_side, has_old, &a);
  LoadSide(cache, p.new_path, p.new_side, has_new, &b);
  DecodedText np = DecodeToUtf8(p.new_path);
  fc->set_path(np.text);
  fc->set_old_path(DecodeToUtf8(p.old_path).text);
  fc->set_change_type(p.type);
  // The post-image tells a `.h` file's language; a deleted file's pre-image does.
  fc->set_language(std::string(
      LanguageForFile(np.text, has_new ? std::string_view(b.data) : std::string_view(a.data),
                      opt.header_language)));
  fc->set_old_mode(a.mode);
  fc->set_new_mode(b.mode);
  if (has_old) fc->set_old_blob(OidHex(a.id));
  if (has_new) fc->set_new_blob(OidHex(b.id));
  if (p.type == fixmine::v1::RENAMED || p.type == fixmine::v1::COPIED) {
    fc->set_similarity(p.similarity);
  }
  if ((has_old && !a.readable) || (has_new && !b.readable)) {
    fc->set_unavailable(true);
    fc->set_unavailable_reason(!a.error.empty() ? a.error : b.error);
  }
  // As `git log --numstat`: binary when either side is, even when the content is unchanged.
  bool binary = (has_old && a.readable && (a.too_big || LooksBinary(a.data))) ||
                (has_new && b.readable && (b.too_big || LooksBinary(b.data)));

  std::string patch;
  if (p.type == fixmine::v1::TYPE_CHANGED) {
    // git prints a type change as a deletion of the old entry and an addition of the new one,
    // but counts its lines (numstat) on the old and new content directly.
    Side none_a, none_b;
    none_a.path = a.path;
    none_b.path = b.path;
    FIXMINE_RETURN_IF_ERROR(RenderSection(a, none_b, fixmine::v1::DELETED, 0, opt, &patch, fc));
    FIXMINE_RETURN_IF_ERROR(RenderSection(none_a, b, fixmine::v1::ADDED, 0, opt, &patch, fc));
    if (!binary && a.readable && b.readable) {
      TextDiff td;
      FIXMINE_RETURN_IF_ERROR(DiffText(a, b, opt, &td));
      fc->set_added(td.added);
      fc->set_deleted(td.deleted);
    }
  } else {
    Side none;
    FIXMINE_RETURN_IF_ERROR(RenderSection(has_old ? a : none, has_new ? b : none, p.type,
                                          p.similarity, opt, &patch, fc));
  }
  if (binary) {
    fc->set_binary(true);
    fc->set_added(0);
    fc->set_deleted(0);
    fc->clear_hunks();
  } else {
    std::string_view old_text_view = has_old && a.readable ? a.data : std::string_view();
    std::string_view new_text_view = has_new && b.readable ? b.data : std::string_view();
    for (std::string& name :
         ChangedFunctions(fc->language(), old_text_view, new_text_view, fc->hunks())) {
      fc->add_functions_changed(std::move(name));
    }
  }

  // Text fields must be UTF-8: content that is not is decoded as ISO-8859-1, losslessly.
  bool old_text =
      has_old && a.readable && !a.too_big && a.mode != GIT_FILEMODE_COMMIT && !LooksBinary(a.data);
  bool new_text =
      has_new && b.readable && !b.too_big && b.mode != GIT_FILEMODE_COMMIT && !LooksBinary(b.data);
  bool utf8 = IsUtf8(patch) && (!old_text || IsUtf8(a.data)) &&
              (!new_text || !opt.include_new_content || IsUtf8(b.data));
  auto text = [&](std::string_view s) { return utf8 ? std::string(s) : Latin1ToUtf8(s); };
  if (!utf8) {
    fc->set_content_encoding("ISO-8859-1");
    for (auto& h : *fc->mutable_hunks()) {
      h.set_text(Latin1ToUtf8(h.text()));
      h.set_header(Latin1ToUtf8(h.header()));
    }
  }
  if (utf8) {
    fc->set_patch(std::move(patch));
  } else {
    fc->set_patch(Latin1ToUtf8(patch));
  }
  if (old_text && p.type != fixmine::v1::TYPE_CHANGED) {
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

// Turns the tree changes into git's file list: renames paired (`git diff -M`), each placed
// where its destination was, its source's deletion dropped. When a blob needed for scoring
// cannot be read, no renames are reported and `*renames_skipped` is set.
std::vector<FilePair> PairFiles(const std::vector<TreeChange>& changes, const RecordOptions& opt,
                                BlobCache* cache, bool* renames_skipped) {
  std::vector<RenameEntry> sources, destinations;
  std::vector<size_t> source_change, destination_change;
  for (size_t i = 0; i < changes.size(); ++i) {
    const TreeChange& ch = changes[i];
    if (ch.kind == TreeChange::Kind::kDeleted) {
      sources.push_back({ch.path, ch.old_side.mode, ch.old_side.id});
      source_change.push_back(i);
    } else if (ch.kind == TreeChange::Kind::kAdded) {
      destinations.push_back({ch.path, ch.new_side.mode, ch.new_side.id});
      destination_change.push_back(i);
    }
  }
  // change index -> (source change index, score) for renamed destinations.
  std::vector<std::pair<long, int>> renamed_from(changes.size(), {-1, 0});
  std::vector<bool> source_used(changes.size(), false);
  if (!sources.empty() && !destinations.empty()) {
    RenameOptions ro;
    ro.min_score_percent = opt.rename_threshold;
    ro.rename_limit = opt.rename_limit;
    BlobReader read = [cache](const git_oid& id) -> absl::StatusOr<std::string_view> {
      const CachedBlob& b = cache->Get(id);
      if (!b.ok) return absl::DataLossError(b.error);
      return b.data;
    };
    absl::StatusOr<RenameResult> found = FindRenames(sources, destinations, ro, read);
    if (!found.ok()) {
      *renames_skipped = true;
    } else {
      for (const RenamePair& rp : found->pairs) {
        size_t s = source_change[rp.source];
        renamed_from[destination_change[rp.destination]] = {static_cast<long>(s), rp.score};
        source_used[s] = true;
      }
    }
  }
  std::vector<FilePair> out;
  out.reserve(changes.size());
  for (size_t i = 0; i < changes.size(); ++i) {
    const TreeChange& ch = changes[i];
    if (source_used[i]) continue;
    FilePair& p = out.emplace_back();
    p.old_path = p.new_path = ch.path;
    p.old_side = ch.old_side;
    p.new_side = ch.new_side;
    switch (ch.kind) {
      case TreeChange::Kind::kAdded:
        p.type = fixmine::v1::ADDED;
        if (renamed_from[i].first >= 0) {
          const TreeChange& src = changes[static_cast<size_t>(renamed_from[i].first)];
          p.type = fixmine::v1::RENAMED;
          p.old_path = src.path;
          p.old_side = src.old_side;
          p.similarity = renamed_from[i].second * 100 / kMaxScore;
        }
        break;
      case TreeChange::Kind::kDeleted:
        p.type = fixmine::v1::DELETED;
        break;
      case TreeChange::Kind::kTypeChanged:
        p.type = fixmine::v1::TYPE_CHANGED;
        break;
      case TreeChange::Kind::kModified:
        p.type = fixmine::v1::MODIFIED;
        break;
    }
  }
  return out;
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
      case '\a':
        out.append("\\a");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\v':
        out.append("\\v");
        break;
      case '\f':
        out.append("\\f");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
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

absl::Status DiffFiles(git_repository* repo, const git_tree* old_tree, const git_tree* new_tree,
                       const RecordOptions& opt, std::string_view what,
                       google::protobuf::RepeatedPtrField<FileChange>* out, DiffFilesStats* stats) {
  std::vector<TreeChange> changes;
  FIXMINE_RETURN_IF_ERROR(Annotate(DiffTrees(repo, old_tree, new_tree, &changes), what));
  BlobCache cache(repo, opt.max_blob_bytes);
  std::vector<FilePair> pairs = PairFiles(changes, opt, &cache, &stats->renames_skipped);
  for (const FilePair& p : pairs) {
    FileChange* fc = out->Add();
    FIXMINE_RETURN_IF_ERROR(Annotate(BuildFile(&cache, p, opt, fc), what));
    // Each blob is usually needed by this file only; keep memory to one file's worth.
    if (p.old_side.present()) cache.Release(p.old_side.id);
    if (p.new_side.present()) cache.Release(p.new_side.id);
    ++stats->files;
    stats->added += fc->added();
    stats->deleted += fc->deleted();
    stats->unavailable += fc->unavailable();
  }
  return absl::OkStatus();
}

void FillCommitFields(git_commit* commit, const RecordOptions& opt, Record* out) {
  Record& r = *out;
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
  if (opt.max_message_bytes > 0 && msg.text.size() > opt.max_message_bytes) {
    // Cut before a UTF-8 continuation byte so the message stays valid UTF-8.
    size_t n = opt.max_message_bytes;
    while (n > 0 && (static_cast<unsigned char>(msg.text[n]) & 0xC0) == 0x80) --n;
    msg.text.resize(n);
  }
  r.set_subject(SubjectOf(msg.text));
  r.set_message(std::move(msg.text));
  r.set_message_encoding(std::move(msg.encoding));
  FillSignature(git_commit_author(commit), encoding, r.mutable_author());
  FillSignature(git_commit_committer(commit), encoding, r.mutable_committer());
}

absl::StatusOr<Record> BuildRecord(git_repository* repo, git_commit* commit,
                                   const RecordOptions& opt) {
  Record r;
  FillCommitFields(commit, opt, &r);
  const std::string& hex = r.commit();
  unsigned nparents = git_commit_parentcount(commit);

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

  DiffFilesStats ds;
  FIXMINE_RETURN_IF_ERROR(DiffFiles(repo, parent_tree.get(), tree.get(), opt,
                                    absl::StrCat("diffing commit ", hex), r.mutable_files(), &ds));
  r.set_renames_skipped(ds.renames_skipped);
  int unavailable = ds.unavailable;
  r.set_unavailable_files(unavailable);
  FinishRecord(opt, &r);
  return r;
}

BudgetShed FitFilesBudget(size_t max_bytes, const std::string& unavailable_reason,
                          size_t* total_bytes,
                          google::protobuf::RepeatedPtrField<FileChange>* files) {
  BudgetShed shed;
  size_t& total = *total_bytes;
  if (max_bytes == 0 || total <= max_bytes) return shed;
  const int n = files->size();
  std::vector<int> order(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  // Drops `drop` from the files with the largest `key` first until the total fits; returns how
  // many files it changed.
  auto shrink = [&](auto key, auto drop) {
    int changed = 0;
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return key(files->Get(a)) > key(files->Get(b)); });
    for (int i : order) {
      if (total <= max_bytes) break;
      FileChange* f = files->Mutable(i);
      if (key(*f) == 0) continue;
      size_t before = f->ByteSizeLong();
      drop(f);
      ++changed;
      total -= before - std::min(before, f->ByteSizeLong());
    }
    return changed;
  };
  shed.contents =
      shrink([](const FileChange& f) { return f.old_content().size() + f.new_content().size(); },
             [](FileChange* f) {
               if (!f->old_content().empty()) {
                 f->clear_old_content();
                 f->set_old_content_truncated(true);
               }
               if (!f->new_content().empty()) {
                 f->clear_new_content();
                 f->set_new_content_truncated(true);
               }
             });
  shed.patches = shrink([](const FileChange& f) { return f.patch().size() + f.hunks_size(); },
                        [&](FileChange* f) {
                          f->clear_patch();
                          f->clear_hunks();
                          if (!f->unavailable()) ++shed.newly_unavailable;
                          f->set_unavailable(true);
                          f->set_unavailable_reason(unavailable_reason);
                        });
  return shed;
}

namespace {

// RecordOptions::max_record_bytes for a record.
void FitRecordBudget(size_t max_bytes, Record* r) {
  if (max_bytes == 0) return;
  size_t total = r->ByteSizeLong();
  if (total <= max_bytes) return;
  BudgetShed shed = FitFilesBudget(
      max_bytes,
      absl::StrCat(kRecordBudgetReason, " ", max_bytes, "-byte budget: the patch was left out"),
      &total, r->mutable_files());
  r->set_unavailable_files(r->unavailable_files() + shed.newly_unavailable);
}

}  // namespace

void FinishRecord(const RecordOptions& opt, Record* out) {
  Record& r = *out;
  FitRecordBudget(opt.max_record_bytes, &r);
  int files = r.files_size(), added = 0, deleted = 0;
  for (const FileChange& fc : r.files()) {
    added += fc.added();
    deleted += fc.deleted();
  }
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
  curation::Curate(opt.curation, &r);
}

}  // namespace fixmine::miner
