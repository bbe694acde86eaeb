#include "storage/dedup_index.h"

#include <algorithm>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "common/status.h"
#include "curation/canonical.h"
#include "fmt/format.h"
#include "storage/keys.h"

namespace fixmine::storage::internal {
namespace {

using fixmine::v1::Record;

constexpr int kSignatureSize = keys::kLshBands * keys::kLshRows;

// A RocksDB error met while planning, for `what`.
absl::Status IndexError(const rocksdb::Status& s, std::string_view what) {
  return FromRocks(s, fmt::format("{}: the dedup index", what));
}

// A fingerprint or commit that can be a key part: not empty, no '\0'.
bool Indexable(std::string_view v) { return !v.empty() && v.find('\0') == std::string_view::npos; }

DedupLabels LabelsOf(const Record& r) {
  return {r.duplicate_of(), r.near_duplicate_of(), r.near_duplicate_similarity()};
}

void SetLabels(const DedupLabels& l, Record* r) {
  r->set_duplicate_of(l.duplicate_of);
  r->set_near_duplicate_of(l.near_duplicate_of);
  r->set_near_duplicate_similarity(l.near_duplicate_similarity);
}

// One record as the dedup index sees it.
struct Node {
  Record member;  // id, commit, author.time, patch_fingerprint, minhash (the 'm' value)
  bool is_new = false;
  bool removed = false;
  Record* added = nullptr;  // the caller's record, for new nodes
  DedupLabels old_labels;   // as stored (empty for new nodes)
  DedupLabels labels;       // after this change

  const std::string& id() const { return member.id(); }
  bool has_signature() const { return member.minhash_size() == kSignatureSize; }
  bool was_canonical() const { return !is_new && old_labels.duplicate_of.empty(); }
  bool is_canonical() const { return !removed && labels.duplicate_of.empty(); }
};

bool Before(const Node* a, const Node* b) {
  return curation::CanonicalBefore(a->member.author().time(), a->id(), b->member.author().time(),
                                   b->id());
}

// The state of one Apply: nodes loaded from the index or added, and the planning steps.
class Plan {
 public:
  Plan(const DbCore& core, double threshold, std::string_view what)
      : core_(core),
        dedup_cf_(core.cf(Family::kDedup)),
        lsh_cf_(core.cf(Family::kLsh)),
        threshold_(threshold),
        what_(what) {}

  absl::Status Add(Record* record) {
    auto node = std::make_unique<Node>();
    node->member.set_id(record->id());
    node->member.set_commit(record->commit());
    node->member.mutable_author()->set_time(record->author().time());
    node->member.set_patch_fingerprint(record->patch_fingerprint());
    *node->member.mutable_minhash() = record->minhash();
    node->is_new = true;
    node->added = record;
    Node* n = node.get();
    if (!nodes_.emplace(record->id(), std::move(node)).second) {
      return absl::InvalidArgumentError(
          fmt::format("{}: record \"{}\" is given twice", what_, record->id()));
    }
    if (Indexable(n->member.patch_fingerprint())) {
      new_by_key_[keys::DedupFingerprintPrefix(n->member.patch_fingerprint())].push_back(n);
    }
    if (Indexable(n->member.commit())) {
      new_by_key_[keys::DedupCommitPrefix(n->member.commit())].push_back(n);
    }
    seeds_.push_back(n);
    return absl::OkStatus();
  }

  absl::Status Remove(const std::string& id) {
    FIXMINE_ASSIGN_OR_RETURN(Node * n, Load(id));
    if (n == nullptr || n->is_new) return absl::OkStatus();
    n->removed = true;
    removed_.push_back(n);
    return absl::OkStatus();
  }

  // Exact groups: every group that gains or loses a member is recomputed whole.
  absl::Status ExactGroups() {
    // A removed record's group may fall apart: every remaining member sharing one of its keys
    // seeds a group of its own.
    for (Node* r : removed_) {
      for (const std::string& key : KeysOf(*r)) {
        FIXMINE_ASSIGN_OR_RETURN(std::vector<Node*> members, KeyMembers(key));
        seeds_.insert(seeds_.end(), members.begin(), members.end());
      }
    }
    std::unordered_set<Node*> visited;
    std::unordered_set<std::string> visited_keys;
    for (Node* seed : seeds_) {
      if (seed->removed || !visited.insert(seed).second) continue;
      std::vector<Node*> group;
      std::vector<Node*> queue = {seed};
      while (!queue.empty()) {
        Node* n = queue.back();
        queue.pop_back();
        group.push_back(n);
        for (const std::string& key : KeysOf(*n)) {
          if (!visited_keys.insert(key).second) continue;
          FIXMINE_ASSIGN_OR_RETURN(std::vector<Node*> members, KeyMembers(key));
          for (Node* m : members) {
            if (visited.insert(m).second) queue.push_back(m);
          }
        }
      }
      Node* canonical = *std::min_element(group.begin(), group.end(), Before);
      for (Node* m : group) {
        m->labels.duplicate_of = m == canonical ? "" : canonical->id();
        if (m != canonical) m->labels.near_duplicate_of.clear();
        if (m != canonical) m->labels.near_duplicate_similarity = 0;
      }
    }
    return absl::OkStatus();
  }

  // Near groups among exact canonicals: the groups of records that leave the set of
  // canonicals are recomputed from their remaining members' buckets; records that join it
  // are joined with every group they have a near pair in.
  absl::Status NearGroups() {
    std::vector<Node*> leaving;
    std::vector<Node*> joining;
    for (const auto& [id, node] : nodes_) {
      Node* n = node.get();
      if (n->was_canonical() && !n->is_canonical()) leaving.push_back(n);
      if (n->is_canonical() && !n->was_canonical()) joining.push_back(n);
    }
    for (Node* n : leaving) {
      leaving_.insert(n);
      if (!n->removed) n->labels.near_duplicate_of.clear();
      if (!n->removed) n->labels.near_duplicate_similarity = 0;
    }
    std::vector<Node*> recompute;  // nodes whose near pairs are looked up in the buckets
    std::unordered_set<Node*> in_recompute;
    auto add_recompute = [&](Node* n) {
      if (in_recompute.insert(n).second) recompute.push_back(n);
    };
    for (Node* n : joining) {
      n->labels.near_duplicate_of.clear();
      n->labels.near_duplicate_similarity = 0;
      if (!n->has_signature()) continue;
      for (const std::string& prefix : keys::LshBucketPrefixes(n->member.minhash())) {
        new_buckets_[prefix].push_back(n);
      }
      add_recompute(n);
    }
    std::unordered_set<std::string> broken;
    for (Node* n : leaving) {
      if (!n->has_signature()) continue;
      const std::string& root = n->old_labels.near_duplicate_of;
      broken.insert(root.empty() ? n->id() : root);
    }
    for (const std::string& root : broken) {
      FIXMINE_ASSIGN_OR_RETURN(std::vector<Node*> members, NearMembers(root));
      for (Node* m : members) {
        if (leaving_.count(m) == 0 && m->has_signature()) add_recompute(m);
      }
    }

    std::unordered_map<Node*, Node*> parent;
    auto find = [&parent](Node* n) {
      Node* r = n;
      while (parent[r] != r) r = parent[r];
      while (parent[n] != r) {
        Node* next = parent[n];
        parent[n] = r;
        n = next;
      }
      return r;
    };
    auto add = [&parent](Node* n) { parent.emplace(n, n); };
    auto join = [&](Node* a, Node* b) {
      add(a);
      add(b);
      Node* ra = find(a);
      Node* rb = find(b);
      if (ra != rb) parent[ra] = rb;
    };
    std::unordered_set<std::string> touched;  // roots of unbroken groups a recomputed node joins
    for (Node* e : recompute) {
      add(e);
      if (threshold_ <= 0) continue;
      for (const std::string& prefix : keys::LshBucketPrefixes(e->member.minhash())) {
        FIXMINE_ASSIGN_OR_RETURN(std::vector<Node*> candidates, BucketMembers(prefix));
        for (Node* c : candidates) {
          if (c == e) continue;
          int equal = curation::MinHashAgreement(e->member.minhash(), c->member.minhash());
          if (!curation::IsNearDuplicate(equal, kSignatureSize, threshold_)) continue;
          join(e, c);
          if (in_recompute.count(c) == 0) {
            const std::string& root = c->old_labels.near_duplicate_of;
            touched.insert(root.empty() ? c->id() : root);
          }
        }
      }
    }
    for (const std::string& root : touched) {
      FIXMINE_ASSIGN_OR_RETURN(Node * r, Load(root));
      if (r == nullptr) continue;
      FIXMINE_ASSIGN_OR_RETURN(std::vector<Node*> members, NearMembers(root));
      for (Node* m : members) join(m, r);
    }

    std::unordered_map<Node*, std::vector<Node*>> groups;
    for (const auto& [n, p] : parent) groups[find(n)].push_back(n);
    for (auto& [root, group] : groups) {
      Node* canonical = *std::min_element(group.begin(), group.end(), Before);
      for (Node* m : group) {
        if (m == canonical) {
          m->labels.near_duplicate_of.clear();
          m->labels.near_duplicate_similarity = 0;
          continue;
        }
        m->labels.near_duplicate_of = canonical->id();
        m->labels.near_duplicate_similarity = curation::SimilarityPercent(
            curation::MinHashAgreement(m->member.minhash(), canonical->member.minhash()),
            kSignatureSize);
      }
    }
    return absl::OkStatus();
  }

  // Adds every index change to `batch`, sets the added records' labels and returns the
  // changed labels of the other stored records.
  absl::StatusOr<std::map<std::string, DedupLabels>> Write(rocksdb::WriteBatch* batch) {
    std::map<std::string, DedupLabels> changed;
    std::string value;
    for (const auto& [id, node] : nodes_) {
      Node* n = node.get();
      const bool was = n->was_canonical() && n->has_signature();
      const bool is = n->is_canonical() && n->has_signature();
      if (n->removed) {
        FIXMINE_RETURN_IF_ERROR(
            IndexError(batch->Delete(dedup_cf_, keys::DedupMemberKey(id)), what_));
        for (const std::string& key : KeysOf(*n)) {
          FIXMINE_RETURN_IF_ERROR(IndexError(batch->Delete(dedup_cf_, key + id), what_));
        }
        FIXMINE_RETURN_IF_ERROR(SetNearEntry(n->old_labels.near_duplicate_of, "", id, batch));
        FIXMINE_RETURN_IF_ERROR(SetBuckets(*n, was, false, batch));
        FIXMINE_RETURN_IF_ERROR(
            IndexError(batch->Delete(lsh_cf_, keys::LshSignatureKey(id)), what_));
        continue;
      }
      if (!n->is_new && n->labels == n->old_labels) continue;
      SetLabels(n->labels, &n->member);
      value.clear();
      n->member.AppendToString(&value);
      FIXMINE_RETURN_IF_ERROR(
          IndexError(batch->Put(dedup_cf_, keys::DedupMemberKey(id), value), what_));
      FIXMINE_RETURN_IF_ERROR(
          SetNearEntry(n->old_labels.near_duplicate_of, n->labels.near_duplicate_of, id, batch));
      FIXMINE_RETURN_IF_ERROR(SetBuckets(*n, was, is, batch));
      if (n->is_new) {
        for (const std::string& key : KeysOf(*n)) {
          FIXMINE_RETURN_IF_ERROR(
              IndexError(batch->Put(dedup_cf_, key + id, rocksdb::Slice()), what_));
        }
        SetLabels(n->labels, n->added);
        n->added->clear_minhash();
      } else {
        changed[id] = n->labels;
      }
    }
    return changed;
  }

 private:
  // The 'f' and 'c' prefixes of a node (those it can be indexed under).
  static std::vector<std::string> KeysOf(const Node& n) {
    std::vector<std::string> out;
    if (Indexable(n.member.patch_fingerprint())) {
      out.push_back(keys::DedupFingerprintPrefix(n.member.patch_fingerprint()));
    }
    if (Indexable(n.member.commit())) out.push_back(keys::DedupCommitPrefix(n.member.commit()));
    return out;
  }

  absl::Status SetNearEntry(const std::string& old_root, const std::string& new_root,
                            const std::string& id, rocksdb::WriteBatch* batch) {
    if (old_root == new_root) return absl::OkStatus();
    if (!old_root.empty()) {
      FIXMINE_RETURN_IF_ERROR(
          IndexError(batch->Delete(dedup_cf_, keys::DedupNearPrefix(old_root) + id), what_));
    }
    if (!new_root.empty()) {
      FIXMINE_RETURN_IF_ERROR(IndexError(
          batch->Put(dedup_cf_, keys::DedupNearPrefix(new_root) + id, rocksdb::Slice()), what_));
    }
    return absl::OkStatus();
  }

  absl::Status SetBuckets(const Node& n, bool was, bool is, rocksdb::WriteBatch* batch) {
    if (was == is) return absl::OkStatus();
    for (const std::string& prefix : keys::LshBucketPrefixes(n.member.minhash())) {
      std::string key = keys::LshBucketKey(prefix, n.id());
      FIXMINE_RETURN_IF_ERROR(IndexError(
          is ? batch->Put(lsh_cf_, key, rocksdb::Slice()) : batch->Delete(lsh_cf_, key), what_));
    }
    return absl::OkStatus();
  }

  // The node of `id`: added, loaded before, or read from the index; nullptr when unknown.
  absl::StatusOr<Node*> Load(const std::string& id) {
    if (auto it = nodes_.find(id); it != nodes_.end()) return it->second.get();
    std::string value;
    FIXMINE_ASSIGN_OR_RETURN(bool found,
                             core_.Get(nullptr, Family::kDedup, keys::DedupMemberKey(id), &value,
                                       fmt::format("{}: the dedup index", what_)));
    if (!found) return nullptr;
    auto node = std::make_unique<Node>();
    if (!node->member.ParseFromString(value) || node->member.id() != id) {
      return absl::DataLossError(
          fmt::format("{}: the dedup entry of record \"{}\" does not parse", what_, id));
    }
    node->old_labels = LabelsOf(node->member);
    node->labels = node->old_labels;
    Node* n = node.get();
    nodes_.emplace(id, std::move(node));
    return n;
  }

  // The ids stored under `prefix` in `cf` (the rest of each key).
  absl::StatusOr<std::vector<std::string>> ScanIds(Family cf, const std::string& prefix) {
    std::vector<std::string> out;
    const rocksdb::ReadOptions ro;
    std::unique_ptr<rocksdb::Iterator> it = core_.NewIterator(ro, cf);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      out.emplace_back(it->key().ToStringView().substr(prefix.size()));
    }
    if (!it->status().ok()) return IndexError(it->status(), what_);
    return out;
  }

  // The records (stored and not removed, or added) indexed under an 'f' or 'c' prefix.
  absl::StatusOr<std::vector<Node*>> KeyMembers(const std::string& key) {
    FIXMINE_ASSIGN_OR_RETURN(std::vector<std::string> ids, ScanIds(Family::kDedup, key));
    std::vector<Node*> out;
    for (const std::string& id : ids) {
      FIXMINE_ASSIGN_OR_RETURN(Node * n, Load(id));
      if (n != nullptr && !n->is_new && !n->removed) out.push_back(n);
    }
    if (auto it = new_by_key_.find(key); it != new_by_key_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
    }
    return out;
  }

  // A near group as stored: its canonical `root` and the records naming it.
  absl::StatusOr<std::vector<Node*>> NearMembers(const std::string& root) {
    FIXMINE_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                             ScanIds(Family::kDedup, keys::DedupNearPrefix(root)));
    ids.push_back(root);
    std::vector<Node*> out;
    for (const std::string& id : ids) {
      FIXMINE_ASSIGN_OR_RETURN(Node * n, Load(id));
      if (n != nullptr && !n->removed) out.push_back(n);
    }
    return out;
  }

  // The canonicals with a signature in an LSH bucket after this change.
  absl::StatusOr<std::vector<Node*>> BucketMembers(const std::string& prefix) {
    FIXMINE_ASSIGN_OR_RETURN(std::vector<std::string> ids, ScanIds(Family::kLsh, prefix));
    std::vector<Node*> out;
    for (const std::string& id : ids) {
      FIXMINE_ASSIGN_OR_RETURN(Node * n, Load(id));
      // Entries of added records can only be a rebuild's leftovers (CompleteDedupIndex).
      if (n != nullptr && !n->is_new && leaving_.count(n) == 0 && n->has_signature()) {
        out.push_back(n);
      }
    }
    if (auto it = new_buckets_.find(prefix); it != new_buckets_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
    }
    return out;
  }

  const DbCore& core_;
  rocksdb::ColumnFamilyHandle* const dedup_cf_;
  rocksdb::ColumnFamilyHandle* const lsh_cf_;
  const double threshold_;
  const std::string_view what_;
  std::unordered_map<std::string, std::unique_ptr<Node>> nodes_;
  std::unordered_map<std::string, std::vector<Node*>> new_by_key_;   // 'f'/'c' prefix -> added
  std::unordered_map<std::string, std::vector<Node*>> new_buckets_;  // bucket -> joining nodes
  std::unordered_set<Node*> leaving_;  // canonicals that stop being one (or are removed)
  std::vector<Node*> seeds_;
  std::vector<Node*> removed_;
};

}  // namespace

absl::StatusOr<std::map<std::string, DedupLabels>> DedupIndex::Apply(
    const std::vector<Record*>& added, const std::vector<std::string>& removed,
    rocksdb::WriteBatch* batch, std::string_view what) {
  Plan plan(*core_, threshold_, what);
  for (Record* r : added) FIXMINE_RETURN_IF_ERROR(plan.Add(r));
  for (const std::string& id : removed) FIXMINE_RETURN_IF_ERROR(plan.Remove(id));
  FIXMINE_RETURN_IF_ERROR(plan.ExactGroups());
  FIXMINE_RETURN_IF_ERROR(plan.NearGroups());
  return plan.Write(batch);
}

}  // namespace fixmine::storage::internal
