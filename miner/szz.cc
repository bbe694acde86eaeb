#include "miner/szz.h"

#include <git2/sys/hashsig.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <string_view>
#include <unordered_map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "miner/git_handles.h"
#include "miner/tree_diff.h"

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

// Drops the identical 1 KiB blocks at the end of both buffers, then gives back the part of the
// last dropped block after its first newline, so that the cut falls after a whole line. git
// blame and libgit2's blame do this before every diff; doing it too keeps the diff's choices
// (where an ambiguous change is placed) the same as theirs.
void TrimCommonTail(std::string_view* a, std::string_view* b) {
  constexpr size_t kBlock = 1024;
  size_t smaller = std::min(a->size(), b->size());
  size_t trimmed = 0;
  while (trimmed + kBlock <= smaller && a->substr(a->size() - trimmed - kBlock, kBlock) ==
                                            b->substr(b->size() - trimmed - kBlock, kBlock)) {
    trimmed += kBlock;
  }
  size_t recovered = 0;
  const char* tail = a->data() + a->size() - trimmed;
  while (recovered < trimmed) {
    if (tail[recovered++] == '\n') break;
  }
  a->remove_suffix(trimmed - recovered);
  b->remove_suffix(trimmed - recovered);
}

struct OidLess {
  bool operator()(const git_oid& a, const git_oid& b) const { return git_oid_cmp(&a, &b) < 0; }
};

using BlobHandle = std::shared_ptr<git_blob>;

// A file at one commit that some blamed lines are traced through (git blame's "origin"): the
// lines are 1-based line numbers in `blob`.
struct Suspect {
  git_oid commit;
  std::string path;
  git_oid blob;
  std::vector<int> lines;
};

// Where a file of a commit is in one of its parents.
struct ParentFile {
  std::string path;
  git_oid blob;
};

// libgit2's similarity signature of a blob (sys/hashsig.h), and its size.
struct Signature {
  std::shared_ptr<git_hashsig> sig;  // null when the blob cannot be compared
  size_t size = 0;
};
constexpr int kRenameThreshold = 50;  // percent similar, git's and libgit2's default

// Signatures of the blobs rename detection compared, shared by the threads of the process (each
// walk worker blames with its own repository handle); blob ids name the content in any
// repository, so an entry is right whichever repository is mined.
class SignatureCache {
 public:
  std::optional<Signature> Find(const std::string& key) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = sigs_.find(key);
    if (it == sigs_.end()) return std::nullopt;
    return it->second;
  }
  void Put(std::string key, Signature sig) {
    std::lock_guard<std::mutex> l(mu_);
    if (sigs_.size() >= kMaxBlobs) sigs_.clear();  // then it starts over
    sigs_.emplace(std::move(key), std::move(sig));
  }

 private:
  static constexpr size_t kMaxBlobs = 4096;  // a signature is about 1 KiB
  std::mutex mu_;  // std::mutex: ThreadSanitizer sees it (Debian's libabsl is not instrumented)
  std::map<std::string, Signature> sigs_ ABSL_GUARDED_BY(mu_);
};
SignatureCache& SharedSignatures() {
  static SignatureCache* cache = new SignatureCache();
  return *cache;
}

// Where a file's unchanged stretch of history ends, shared by the threads of the process: for a
// commit and a path, the commit reached by stepping, while one exists, to the first parent (in
// parent order) holding the same blob at that path (git blame's pass of every line to a
// TREESAME parent). A commit id names its whole history, so an entry is right whichever
// repository is mined. A blame that walked such a stretch records its end for its first commit
// and for the commits of the stretch whose id starts with a byte divisible by kStride: a later
// blame of the same file from anywhere on the stretch meets one of them within about kStride
// commits and jumps to the end, instead of reading every commit's trees again.
class ChainCache {
 public:
  static constexpr int kStride = 8;
  static bool Sampled(const git_oid& commit) { return commit.id[0] % kStride == 0; }

  std::optional<git_oid> Find(const git_oid& commit, std::string_view path) {
    Key k = KeyOf(commit, path);
    std::lock_guard<std::mutex> l(mu_);
    auto it = ends_.find(k);
    if (it == ends_.end()) return std::nullopt;
    return it->second;
  }
  void Put(const git_oid& commit, std::string_view path, const git_oid& end) {
    Key k = KeyOf(commit, path);
    std::lock_guard<std::mutex> l(mu_);
    if (ends_.size() >= kMaxEntries) ends_.clear();  // then it starts over
    ends_[k] = end;
  }

 private:
  static constexpr size_t kMaxEntries = size_t{1} << 19;  // about 64 bytes each
  struct Key {
    git_oid commit;
    uint64_t path_hash;
    bool operator==(const Key& o) const {
      return path_hash == o.path_hash && git_oid_equal(&commit, &o.commit);
    }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      uint64_t h = 0;
      std::memcpy(&h, k.commit.id, sizeof(h));  // already uniformly distributed
      return static_cast<size_t>(h ^ k.path_hash);
    }
  };
  static Key KeyOf(const git_oid& commit, std::string_view path) {
    return Key{commit, std::hash<std::string_view>()(path)};
  }
  std::mutex mu_;  // std::mutex: ThreadSanitizer sees it (Debian's libabsl is not instrumented)
  std::unordered_map<Key, git_oid, KeyHash> ends_ ABSL_GUARDED_BY(mu_);
};
ChainCache& SharedChains() {
  static ChainCache* cache = new ChainCache();
  return *cache;
}

// What each commit changed against each of its parents, as hashes of the paths whose blob
// differs (or that exist on one side only), shared by the threads of the process: a blame
// steps through a commit that left the blamed file alone with one lookup here instead of
// reading the parent's trees, and the blames of every file share one tree diff per commit.
// Keyed by commit id (which names its trees and parents), so an entry is right whichever
// repository is mined. A hash of another path can only make a file look changed; the blame
// then reads the trees to be sure.
class ChangedPaths {
 public:
  struct Entry {
    std::vector<git_oid> parents;
    // Sorted path hashes, one list per parent; nullopt when that parent's diff could not be
    // made or was too large to keep (the blame reads the trees).
    std::vector<std::optional<std::vector<uint64_t>>> changed;
  };

  static uint64_t HashOf(std::string_view path) { return std::hash<std::string_view>()(path); }

  std::shared_ptr<const Entry> Find(const git_oid& commit) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = entries_.find(commit);
    return it == entries_.end() ? nullptr : it->second;
  }
  void Put(const git_oid& commit, std::shared_ptr<const Entry> entry) {
    size_t cost = kEntryBytes + entry->parents.size() * sizeof(git_oid);
    for (const auto& c : entry->changed) cost += c ? c->size() * sizeof(uint64_t) : 0;
    std::lock_guard<std::mutex> l(mu_);
    if (bytes_ + cost > kMaxBytes) {  // then it starts over
      entries_.clear();
      bytes_ = 0;
    }
    if (entries_.emplace(commit, std::move(entry)).second) bytes_ += cost;
  }

 private:
  static constexpr size_t kEntryBytes = 160;  // map node, entry, vectors
  static constexpr size_t kMaxBytes = size_t{48} << 20;
  struct OidHash {
    size_t operator()(const git_oid& id) const {
      size_t h = 0;
      std::memcpy(&h, id.id, sizeof(h));  // already uniformly distributed
      return h;
    }
  };
  struct OidEq {
    bool operator()(const git_oid& a, const git_oid& b) const { return git_oid_equal(&a, &b); }
  };
  std::mutex mu_;  // std::mutex: ThreadSanitizer sees it (Debian's libabsl is not instrumented)
  std::unordered_map<git_oid, std::shared_ptr<const Entry>, OidHash, OidEq> entries_
      ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};
ChangedPaths& SharedChangedPaths() {
  static ChangedPaths* cache = new ChangedPaths();
  return *cache;
}

struct Hunk {
  int new_start, new_lines, old_lines;
};

// What one thread's blames keep for the next ones, keyed by object ids (which name content in
// any repository, so an entry stays right whichever repository the thread mines next).
struct Caches {
  static constexpr size_t kMaxPaths = 100000;  // about 10 MB; then it starts over
  std::unordered_map<std::string, std::optional<git_oid>> paths;  // tree id + path -> blob id
};
using HunkList = std::shared_ptr<const std::vector<Hunk>>;

// The hunks of diffs between two blobs (no context, white space ignored), shared by the threads
// of the process: the blames of one file's fixes on different workers cross the same changes.
class HunkCache {
 public:
  HunkList Find(const std::string& key) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = hunks_.find(key);
    return it == hunks_.end() ? nullptr : it->second;
  }
  void Put(std::string key, HunkList hunks) {
    std::lock_guard<std::mutex> l(mu_);
    if (hunks_.size() >= kMaxDiffs) hunks_.clear();  // then it starts over
    hunks_.emplace(std::move(key), std::move(hunks));
  }

 private:
  static constexpr size_t kMaxDiffs = 50000;  // a few hundred bytes each
  std::mutex mu_;  // std::mutex: ThreadSanitizer sees it (Debian's libabsl is not instrumented)
  std::unordered_map<std::string, HunkList> hunks_ ABSL_GUARDED_BY(mu_);  // blob id + blob id
};
HunkCache& SharedHunks() {
  static HunkCache* cache = new HunkCache();
  return *cache;
}

Caches& ThreadCaches() {
  thread_local Caches caches;
  return caches;
}

// Traces lines of a file back through history the way `git blame -w` does (no copy or move
// detection): from the start commit, commits are taken newest first by committer time; at each
// one, a parent holding the file's identical blob (under its path, else under the path a rename
// detection finds) takes every line; otherwise each parent in order takes the lines its diff
// (white space ignored) leaves unchanged, and the lines no parent takes were written by the
// commit. Unlike libgit2's git_blame_file, it follows only the requested lines, looks the file up
// in each parent by path (a few tree reads) instead of diffing whole trees, and detects renames
// only where the file is absent from a parent.
class LineBlamer {
 public:
  explicit LineBlamer(git_repository* repo) : repo_(repo) {}

  // Adds to `found` the commits that wrote `lines` (1-based, ascending) of `path` as of commit
  // `start`. Does nothing when the file cannot be read there; lines past a lookup failure further
  // back are credited to the last commit reached.
  void Blame(const git_oid& start, const std::string& path, const std::vector<int>& lines,
             std::set<std::string>* found) {
    pending_.clear();
    queue_ = {};
    seq_ = 0;
    std::optional<ParentFile> at = FileAt(start, path);
    if (!at) return;
    Add(start, at->path, at->blob, lines);
    while (!queue_.empty()) {
      Key key = queue_.top().key;
      queue_.pop();
      auto it = pending_.find(key);
      if (it == pending_.end()) continue;
      Suspect s = std::move(it->second);
      pending_.erase(it);
      if (!Pass(&s)) found->insert(OidHex(s.commit));
    }
  }

 private:
  using Key = std::pair<std::string, std::string>;  // raw commit id, path
  struct Queued {
    int64_t time;
    uint64_t seq;
    Key key;
    bool operator<(const Queued& o) const {  // the newest first; equal times in arrival order
      return time != o.time ? time < o.time : seq > o.seq;
    }
  };

  static Key KeyOf(const git_oid& commit, const std::string& path) {
    return {std::string(reinterpret_cast<const char*>(commit.id), GIT_OID_RAWSZ), path};
  }

  CommitPtr Commit(const git_oid& id) {
    git_commit* c = nullptr;
    if (git_commit_lookup(&c, repo_, &id) != 0) return nullptr;
    return CommitPtr(c);
  }

  // The blob at `path` in `commit`'s tree.
  std::optional<ParentFile> FileAt(const git_oid& commit, const std::string& path) {
    CommitPtr c = Commit(commit);
    if (!c) return std::nullopt;
    return FileIn(c.get(), path);
  }
  std::optional<ParentFile> FileIn(git_commit* c, const std::string& path) {
    std::optional<git_oid> blob = BlobAt(*git_commit_tree_id(c), path);
    if (!blob) return std::nullopt;
    return ParentFile{path, *blob};
  }

  // The blob at `path` under tree `tree`, one tree read per folder level unless this thread
  // resolved the same (tree, rest of path) before: a blame walks the same subtrees commit after
  // commit, and the blames of one file's fixes walk the same commits.
  std::optional<git_oid> BlobAt(const git_oid& tree, std::string_view path) {
    Caches& caches = ThreadCaches();
    std::string key(reinterpret_cast<const char*>(tree.id), GIT_OID_RAWSZ);
    key.append(path);
    auto hit = caches.paths.find(key);
    if (hit != caches.paths.end()) return hit->second;
    std::optional<git_oid> out;
    git_tree* raw = nullptr;
    if (git_tree_lookup(&raw, repo_, &tree) == 0) {
      TreePtr t(raw);
      size_t slash = path.find('/');
      std::string name(path.substr(0, slash));
      const git_tree_entry* e = git_tree_entry_byname(t.get(), name.c_str());
      if (e && slash == std::string_view::npos) {
        if (git_tree_entry_type(e) == GIT_OBJECT_BLOB) out = *git_tree_entry_id(e);
      } else if (e && git_tree_entry_type(e) == GIT_OBJECT_TREE) {
        git_oid sub = *git_tree_entry_id(e);
        t.reset();
        out = BlobAt(sub, path.substr(slash + 1));
      }
    }
    if (caches.paths.size() >= Caches::kMaxPaths) caches.paths.clear();  // then it starts over
    caches.paths.emplace(std::move(key), out);
    return out;
  }

  // The file that `path` (holding `blob`) of `child` was renamed from in `parent`, found the
  // way git blame does (rename detection for that one file): a file the commit deleted with the
  // same blob, else the deleted file most similar to it, when at least 50% similar (git's and
  // libgit2's default threshold; libgit2's similarity signatures, as its rename detection uses,
  // kept per blob in SharedSignatures). Rename detection over the whole trees compared every
  // added file with every deleted one: seconds on the merges of libgit2 whose second parent
  // predates its move of src/ to src/libgit2/.
  std::optional<ParentFile> RenamedFrom(git_commit* parent, git_commit* child,
                                        const std::string& path, const git_oid& blob) {
    git_tree *pt = nullptr, *ct = nullptr;
    if (git_commit_tree(&pt, parent) != 0) return std::nullopt;
    TreePtr ptree(pt);
    if (git_commit_tree(&ct, child) != 0) return std::nullopt;
    TreePtr ctree(ct);
    std::vector<TreeChange> diff;
    if (!DiffTrees(repo_, ptree.get(), ctree.get(), &diff).ok()) return std::nullopt;
    std::vector<const TreeChange*> deleted;
    for (const TreeChange& d : diff) {
      // A type change is a deletion and an addition to git's and libgit2's tree diffs.
      if (d.kind != TreeChange::Kind::kDeleted && d.kind != TreeChange::Kind::kTypeChanged) {
        continue;
      }
      if (d.old_side.mode == GIT_FILEMODE_COMMIT) continue;
      if (git_oid_equal(&d.old_side.id, &blob)) return ParentFile{d.path, blob};
      deleted.push_back(&d);
    }
    if (deleted.empty()) return std::nullopt;
    Signature target = SignatureOf(blob);
    if (!target.sig) return std::nullopt;
    int best = -1;
    const TreeChange* from = nullptr;
    for (const TreeChange* d : deleted) {
      Signature s = SignatureOf(d->old_side.id);
      if (!s.sig) continue;
      // Files of very different sizes are not compared (as libgit2's rename detection does).
      size_t big = std::max(s.size, target.size), small = std::min(s.size, target.size);
      if (small > 127 && big > small * 8) continue;
      int score = git_hashsig_compare(target.sig.get(), s.sig.get());
      if (score > best) {
        best = score;
        from = d;
      }
    }
    if (!from || best < kRenameThreshold) return std::nullopt;
    return ParentFile{from->path, from->old_side.id};
  }

  Signature SignatureOf(const git_oid& id) {
    std::string key(reinterpret_cast<const char*>(id.id), GIT_OID_RAWSZ);
    std::optional<Signature> hit = SharedSignatures().Find(key);
    if (hit) return *hit;
    Signature out;
    if (BlobHandle b = Load(id)) {
      out.size = static_cast<size_t>(git_blob_rawsize(b.get()));
      git_hashsig* sig = nullptr;
      if (git_hashsig_create(&sig, static_cast<const char*>(git_blob_rawcontent(b.get())), out.size,
                             GIT_HASHSIG_SMART_WHITESPACE) == 0) {
        out.sig.reset(sig, git_hashsig_free);
      } else {
        git_error_clear();  // too small or too uniform to be compared: never a rename source
      }
    }
    SharedSignatures().Put(std::move(key), out);
    return out;
  }

  void Add(const git_oid& commit, const std::string& path, const git_oid& blob,
           std::vector<int> lines) {
    if (lines.empty()) return;
    Key key = KeyOf(commit, path);
    auto it = pending_.find(key);
    if (it != pending_.end()) {  // reached again through another parent: one set of lines
      std::vector<int>& l = it->second.lines;
      l.insert(l.end(), lines.begin(), lines.end());
      std::sort(l.begin(), l.end());
      l.erase(std::unique(l.begin(), l.end()), l.end());
      return;
    }
    CommitPtr c = Commit(commit);
    int64_t time = c ? git_commit_time(c.get()) : 0;
    pending_.emplace(key, Suspect{commit, path, blob, std::move(lines)});
    queue_.push({time, seq_++, key});
  }

  BlobHandle Load(const git_oid& id) {
    git_blob* b = nullptr;
    if (git_blob_lookup(&b, repo_, &id) != 0) return nullptr;
    return BlobHandle(b, git_blob_free);
  }

  static int OnHunk(const git_diff_delta*, const git_diff_hunk* h, void* payload) {
    static_cast<std::vector<Hunk>*>(payload)->push_back({h->new_start, h->new_lines, h->old_lines});
    return 0;
  }

  // The hunks of the diff (no context, white space ignored) from blob `from` to blob `to`, kept
  // in SharedHunks() for the next blame that crosses the same change. Null when it failed.
  HunkList Hunks(const git_oid& from, const git_oid& to) {
    std::string key(reinterpret_cast<const char*>(from.id), GIT_OID_RAWSZ);
    key.append(reinterpret_cast<const char*>(to.id), GIT_OID_RAWSZ);
    if (HunkList hit = SharedHunks().Find(key)) return hit;
    BlobHandle a_blob = Load(from), b_blob = Load(to);
    if (!a_blob || !b_blob) return nullptr;
    std::string_view a(static_cast<const char*>(git_blob_rawcontent(a_blob.get())),
                       static_cast<size_t>(git_blob_rawsize(a_blob.get())));
    std::string_view b(static_cast<const char*>(git_blob_rawcontent(b_blob.get())),
                       static_cast<size_t>(git_blob_rawsize(b_blob.get())));
    TrimCommonTail(&a, &b);
    git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
    opts.context_lines = 0;
    opts.interhunk_lines = 0;
    opts.flags = GIT_DIFF_IGNORE_WHITESPACE | GIT_DIFF_FORCE_TEXT;
    auto hunks = std::make_shared<std::vector<Hunk>>();
    if (git_diff_buffers(a.data(), a.size(), nullptr, b.data(), b.size(), nullptr, &opts, nullptr,
                         nullptr, &LineBlamer::OnHunk, nullptr, hunks.get()) != 0) {
      return nullptr;
    }
    SharedHunks().Put(std::move(key), hunks);
    return hunks;
  }

  // Moves the lines of `s` that the diff from `parent_blob` leaves unchanged to the parent's
  // line numbers in `passed`; the others stay in s->lines. False when the diff failed.
  bool Split(Suspect* s, const git_oid& parent_blob, std::vector<int>* passed) {
    HunkList found = Hunks(parent_blob, s->blob);
    if (!found) return false;
    const std::vector<Hunk>& hunks = *found;
    std::vector<int> kept;
    size_t h = 0;
    int offset = 0;  // parent line minus this line, before hunk h
    for (int line : s->lines) {
      bool changed = false;
      while (h < hunks.size()) {
        // The first line of this side at or after the hunk (a hunk that only deletes is placed
        // after its new_start).
        int begin = hunks[h].new_lines > 0 ? hunks[h].new_start : hunks[h].new_start + 1;
        if (line < begin) break;
        if (line < begin + hunks[h].new_lines) {
          changed = true;
          break;
        }
        offset += hunks[h].old_lines - hunks[h].new_lines;
        ++h;
      }
      if (changed) {
        kept.push_back(line);
      } else {
        passed->push_back(line + offset);
      }
    }
    s->lines = std::move(kept);
    return true;
  }

  // The first parent (in parent order) of `commit` holding `blob` at `path`; nullopt when there
  // is none or the commit cannot be read.
  std::optional<git_oid> SameParent(const git_oid& commit, const std::string& path,
                                    const git_oid& blob) {
    std::shared_ptr<const ChangedPaths::Entry> entry = Changes(commit);
    if (!entry) return std::nullopt;
    uint64_t hash = ChangedPaths::HashOf(path);
    for (size_t i = 0; i < entry->parents.size(); ++i) {
      const std::optional<std::vector<uint64_t>>& changed = entry->changed[i];
      if (changed) {
        // Listed: changed (or a hash collision, which Pass's own reading of the trees corrects).
        if (std::binary_search(changed->begin(), changed->end(), hash)) continue;
        return entry->parents[i];  // the same entry at `path` in this parent
      }
      // Not known: the parent's tree says.
      std::optional<ParentFile> f = FileAt(entry->parents[i], path);
      if (f && git_oid_equal(&f->blob, &blob)) return entry->parents[i];
    }
    return std::nullopt;
  }

  // The parents of `commit` and the paths it changed against each (ChangedPaths), made on
  // first use; null when the commit cannot be read.
  std::shared_ptr<const ChangedPaths::Entry> Changes(const git_oid& commit) {
    if (auto hit = SharedChangedPaths().Find(commit)) return hit;
    CommitPtr c = Commit(commit);
    if (!c) return nullptr;
    auto entry = std::make_shared<ChangedPaths::Entry>();
    unsigned n = git_commit_parentcount(c.get());
    entry->parents.reserve(n);
    entry->changed.reserve(n);
    git_tree* raw = nullptr;
    TreePtr tree;
    if (git_commit_tree(&raw, c.get()) == 0) tree.reset(raw);
    std::vector<TreeChange> diff;
    for (unsigned i = 0; i < n; ++i) {
      const git_oid* parent = git_commit_parent_id(c.get(), i);
      if (parent == nullptr) return nullptr;
      entry->parents.push_back(*parent);
      std::optional<std::vector<uint64_t>>& changed = entry->changed.emplace_back();
      CommitPtr p = Commit(*parent);
      raw = nullptr;
      if (!tree || !p || git_commit_tree(&raw, p.get()) != 0) continue;
      TreePtr ptree(raw);
      diff.clear();
      if (!DiffTrees(repo_, ptree.get(), tree.get(), &diff).ok() || diff.size() > kMaxChanged) {
        continue;
      }
      changed.emplace();
      changed->reserve(diff.size());
      for (const TreeChange& ch : diff) {
        // A mode change that keeps the blob keeps every line (the blame compares blobs).
        bool same_blob = ch.old_side.present() && ch.new_side.present() &&
                         ch.old_side.mode != GIT_FILEMODE_COMMIT &&
                         ch.new_side.mode != GIT_FILEMODE_COMMIT &&
                         git_oid_equal(&ch.old_side.id, &ch.new_side.id);
        if (!same_blob) changed->push_back(ChangedPaths::HashOf(ch.path));
      }
      std::sort(changed->begin(), changed->end());
    }
    SharedChangedPaths().Put(commit, entry);
    return entry;
  }
  // Diffs larger than this (a merge of a long-lived branch, a mass rename) are not kept.
  static constexpr size_t kMaxChanged = 4096;

  // The end of the unchanged stretch of `path` (holding `blob`) from `commit` (ChainCache): the
  // commit every line of the file at `commit` is passed on to unchanged. Records the ends of
  // the stretch walked in SharedChains().
  git_oid StretchEnd(const git_oid& commit, const std::string& path, const git_oid& blob) {
    std::vector<git_oid> walked;
    git_oid at = commit;
    for (;;) {
      if (std::optional<git_oid> end = SharedChains().Find(at, path)) {
        at = *end;
        break;
      }
      std::optional<git_oid> next = SameParent(at, path, blob);
      if (!next) break;
      walked.push_back(at);
      at = *next;
    }
    for (size_t i = 0; i < walked.size(); ++i) {
      if (i == 0 || ChainCache::Sampled(walked[i])) SharedChains().Put(walked[i], path, at);
    }
    return at;
  }

  // Passes the lines of `s` on to its parents; returns false when some are left, written by
  // s->commit.
  bool Pass(Suspect* s) {
    git_oid end = StretchEnd(s->commit, s->path, s->blob);
    if (!git_oid_equal(&end, &s->commit)) {  // unchanged down to `end`: every line goes there
      Add(end, s->path, s->blob, std::move(s->lines));
      return true;
    }
    CommitPtr c = Commit(s->commit);
    if (!c) return false;
    unsigned n = git_commit_parentcount(c.get());
    std::vector<CommitPtr> parents(n);
    std::vector<std::optional<ParentFile>> files(n);
    for (int pass = 0; pass < 2; ++pass) {
      for (unsigned i = 0; i < n; ++i) {
        if (files[i] || (pass == 1 && !parents[i])) continue;
        if (pass == 0) {
          git_commit* p = nullptr;
          if (git_commit_parent(&p, c.get(), i) != 0) continue;
          parents[i].reset(p);
        }
        std::optional<ParentFile> f =
            pass == 0 ? FileIn(parents[i].get(), s->path)
                      : RenamedFrom(parents[i].get(), c.get(), s->path, s->blob);
        if (!f) continue;
        if (git_oid_equal(&f->blob, &s->blob)) {  // unchanged against this parent
          Add(*git_commit_id(parents[i].get()), f->path, f->blob, std::move(s->lines));
          return true;
        }
        bool same = false;  // a parent before this one has the same version
        for (unsigned j = 0; j < i && !same; ++j) {
          same = files[j] && git_oid_equal(&files[j]->blob, &f->blob);
        }
        if (!same) files[i] = std::move(f);
      }
    }
    for (unsigned i = 0; i < n && !s->lines.empty(); ++i) {
      if (!files[i]) continue;
      std::vector<int> passed;
      if (!Split(s, files[i]->blob, &passed)) continue;
      Add(*git_commit_id(parents[i].get()), files[i]->path, files[i]->blob, std::move(passed));
    }
    return s->lines.empty();
  }

  git_repository* repo_;
  std::map<Key, Suspect> pending_;
  std::priority_queue<Queued> queue_;
  uint64_t seq_ = 0;
};

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
  LineBlamer blamer(repo);
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
    std::vector<int> numbers;
    numbers.reserve(todo.size());
    for (const SzzLine& l : todo) numbers.push_back(l.line);
    blamer.Blame(parent, f.old_path(), numbers, &found);
  }
  auto* labels = record->mutable_labels();
  labels->clear_bug_introducing_commits();
  for (const std::string& id : found) labels->add_bug_introducing_commits(id);
}

}  // namespace fixmine::miner
