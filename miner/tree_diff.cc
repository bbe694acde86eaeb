#include "miner/tree_diff.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "miner/git_handles.h"

namespace fixmine::miner {
namespace {

constexpr uint32_t kTypeMask = 0170000;
constexpr uint32_t kTreeType = 0040000;

bool IsTree(uint32_t mode) { return (mode & kTypeMask) == kTreeType; }

struct Entry {
  const char* name;
  size_t len;
  uint32_t mode;
  const git_oid* id;
};

// git's tree order: names compare bytewise, a folder's name as if followed by '/'.
int CompareEntries(const Entry& a, const Entry& b) {
  size_t n = std::min(a.len, b.len);
  int c = std::memcmp(a.name, b.name, n);
  if (c != 0) return c;
  unsigned char ca = a.len > n ? static_cast<unsigned char>(a.name[n]) : (IsTree(a.mode) ? '/' : 0);
  unsigned char cb = b.len > n ? static_cast<unsigned char>(b.name[n]) : (IsTree(b.mode) ? '/' : 0);
  return ca < cb ? -1 : (ca > cb ? 1 : 0);
}

std::vector<Entry> EntriesOf(const git_tree* tree) {
  std::vector<Entry> out;
  if (tree == nullptr) return out;
  size_t n = git_tree_entrycount(tree);
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const git_tree_entry* e = git_tree_entry_byindex(tree, i);
    const char* name = git_tree_entry_name(e);
    out.push_back({name, std::strlen(name), static_cast<uint32_t>(git_tree_entry_filemode(e)),
                   git_tree_entry_id(e)});
  }
  // Trees written by git are sorted already; a malformed one must not derail the merge below.
  auto less = [](const Entry& a, const Entry& b) { return CompareEntries(a, b) < 0; };
  if (!std::is_sorted(out.begin(), out.end(), less)) std::stable_sort(out.begin(), out.end(), less);
  return out;
}

class Differ {
 public:
  Differ(git_repository* repo, std::vector<TreeChange>* out) : repo_(repo), out_(out) {}

  absl::Status Walk(const std::string& prefix, const git_tree* a, const git_tree* b) {
    // Each level holds its trees and entries on the stack: a hostile tree nested without end
    // would exhaust it. git refuses trees deeper than core.maxTreeDepth (2048) the same way.
    if (depth_ >= kMaxTreeDepth) {
      return absl::InvalidArgumentError(absl::StrCat("tree nested deeper than ", kMaxTreeDepth,
                                                     " levels at \"", prefix.substr(0, 200),
                                                     "...\""));
    }
    ++depth_;
    absl::Status st = WalkLevel(prefix, a, b);
    --depth_;
    return st;
  }

 private:
  absl::Status WalkLevel(const std::string& prefix, const git_tree* a, const git_tree* b) {
    std::vector<Entry> ea = EntriesOf(a);
    std::vector<Entry> eb = EntriesOf(b);
    size_t i = 0, j = 0;
    while (i < ea.size() || j < eb.size()) {
      int c = i == ea.size() ? 1 : (j == eb.size() ? -1 : CompareEntries(ea[i], eb[j]));
      if (c < 0) {
        FIXMINE_RETURN_IF_ERROR(OneSided(prefix, ea[i++], /*added=*/false));
      } else if (c > 0) {
        FIXMINE_RETURN_IF_ERROR(OneSided(prefix, eb[j++], /*added=*/true));
      } else {
        const Entry& x = ea[i++];
        const Entry& y = eb[j++];
        if (x.mode == y.mode && git_oid_equal(x.id, y.id)) continue;
        std::string path = Join(prefix, x);
        if (IsTree(x.mode)) {  // both folders (the order separates a folder from a file)
          TreePtr ta, tb;
          FIXMINE_RETURN_IF_ERROR(Lookup(*x.id, path, &ta));
          FIXMINE_RETURN_IF_ERROR(Lookup(*y.id, path, &tb));
          FIXMINE_RETURN_IF_ERROR(Walk(path + "/", ta.get(), tb.get()));
          continue;
        }
        TreeChange& ch = out_->emplace_back();
        ch.kind = IsTypeChange(x.mode, y.mode) ? TreeChange::Kind::kTypeChanged
                                               : TreeChange::Kind::kModified;
        ch.path = std::move(path);
        ch.old_side = {x.mode, *x.id};
        ch.new_side = {y.mode, *y.id};
      }
    }
    return absl::OkStatus();
  }

  static std::string Join(const std::string& prefix, const Entry& e) {
    std::string p = prefix;
    p.append(e.name, e.len);
    return p;
  }

  absl::Status Lookup(const git_oid& id, const std::string& path, TreePtr* out) {
    git_tree* t = nullptr;
    int rc = git_tree_lookup(&t, repo_, &id);
    if (rc != 0) {
      return GitStatus(rc, absl::StrCat("reading tree ", OidHex(id), " of \"", path, "\""));
    }
    out->reset(t);
    return absl::OkStatus();
  }

  absl::Status OneSided(const std::string& prefix, const Entry& e, bool added) {
    std::string path = Join(prefix, e);
    if (IsTree(e.mode)) {
      TreePtr t;
      FIXMINE_RETURN_IF_ERROR(Lookup(*e.id, path, &t));
      return added ? Walk(path + "/", nullptr, t.get()) : Walk(path + "/", t.get(), nullptr);
    }
    TreeChange& ch = out_->emplace_back();
    ch.kind = added ? TreeChange::Kind::kAdded : TreeChange::Kind::kDeleted;
    ch.path = std::move(path);
    (added ? ch.new_side : ch.old_side) = {e.mode, *e.id};
    return absl::OkStatus();
  }

  static constexpr int kMaxTreeDepth = 2048;
  git_repository* repo_;
  std::vector<TreeChange>* out_;
  int depth_ = 0;
};

}  // namespace

bool IsTypeChange(uint32_t a, uint32_t b) { return (a & kTypeMask) != (b & kTypeMask); }

absl::Status DiffTrees(git_repository* repo, const git_tree* old_tree, const git_tree* new_tree,
                       std::vector<TreeChange>* out) {
  Differ d(repo, out);
  return d.Walk("", old_tree, new_tree);
}

}  // namespace fixmine::miner
