// The store's dedup labels follow the canonical rule of curation/canonical.h whatever the order
// of writing, the batch boundaries and removals: each case writes the same records in several
// orders and batch sizes and compares every record's duplicate_of / near_duplicate_of /
// near_duplicate_similarity with an independent brute-force oracle of the rule (every pair of
// records compared, no LSH), and with each other.
#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "curation/canonical.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/maintenance.h"
#include "storage/record_store.h"
#include "tests/testutil/git_repo.h"

namespace fixmine::storage {
namespace {

using fixmine::v1::Job;
using fixmine::v1::Record;

struct Labels {
  std::string dup;
  std::string near;
  int sim = 0;
  bool operator==(const Labels&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Labels& l) {
  return os << "{dup=" << l.dup << " near=" << l.near << " sim=" << l.sim << "}";
}

using LabelMap = std::map<std::string, Labels>;

// A record of `repo` for commit number `commit` (the same number in two repositories is the
// same commit id), authored at `time`, with fingerprint `fp` and signature `sig` (empty: none).
Record Make(const std::string& repo, int commit, int64_t time, const std::string& fp,
            const std::vector<uint32_t>& sig = {}) {
  Record r;
  r.set_repo(repo);
  r.set_commit(fmt::format("{:040x}", commit));
  r.set_id(fmt::format("{}-{:040x}", repo, commit));
  r.mutable_author()->set_time(time);
  // Committer times differ from author times (a rebase), so the rule must use the author's.
  r.mutable_committer()->set_time(2000000000 - time);
  r.set_patch_fingerprint(fp);
  for (uint32_t v : sig) r.add_minhash(v);
  return r;
}

// A 64-value signature of family `family` whose positions in `changed` hold values of their own
// (`variant` tells variants apart).
std::vector<uint32_t> Sig(int family, int variant = 0, const std::vector<int>& changed = {}) {
  std::vector<uint32_t> out(64);
  for (int i = 0; i < 64; ++i) out[i] = static_cast<uint32_t>(family * 1000 + i);
  for (int i : changed) out[i] = static_cast<uint32_t>(1000000 + variant * 100 + i);
  return out;
}

// `sig` with the positions in `changed` given values of their own (`variant` tells them apart).
std::vector<uint32_t> Change(std::vector<uint32_t> sig, const std::vector<int>& changed,
                             int variant) {
  for (int i : changed) sig[i] = static_cast<uint32_t>(2000000 + variant * 100 + i);
  return sig;
}

std::vector<int> Range(int from, int to) {
  std::vector<int> out(static_cast<size_t>(to - from));
  std::iota(out.begin(), out.end(), from);
  return out;
}

// The rule, by brute force over every pair (an independent oracle of the store's incremental,
// LSH-based implementation).
LabelMap Oracle(const std::vector<Record>& records, double threshold) {
  const size_t n = records.size();
  std::vector<size_t> parent(n);
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  auto before = [&](size_t a, size_t b) {
    return curation::CanonicalBefore(records[a].author().time(), records[a].id(),
                                     records[b].author().time(), records[b].id());
  };
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      const Record& a = records[i];
      const Record& b = records[j];
      bool same_fp =
          !a.patch_fingerprint().empty() && a.patch_fingerprint() == b.patch_fingerprint();
      if (same_fp || a.commit() == b.commit()) parent[find(i)] = find(j);
    }
  }
  std::map<size_t, size_t> canonical;  // root -> least member
  for (size_t i = 0; i < n; ++i) {
    auto [it, fresh] = canonical.emplace(find(i), i);
    if (!fresh && before(i, it->second)) it->second = i;
  }
  LabelMap out;
  std::vector<size_t> canonicals;
  for (size_t i = 0; i < n; ++i) {
    size_t c = canonical[find(i)];
    out[records[i].id()].dup = c == i ? "" : records[c].id();
    if (c == i && records[i].minhash_size() == 64) canonicals.push_back(i);
  }
  std::iota(parent.begin(), parent.end(), 0);
  for (size_t x = 0; x < canonicals.size(); ++x) {
    for (size_t y = x + 1; y < canonicals.size(); ++y) {
      const Record& a = records[canonicals[x]];
      const Record& b = records[canonicals[y]];
      if (curation::IsNearDuplicate(curation::MinHashAgreement(a.minhash(), b.minhash()), 64,
                                    threshold)) {
        parent[find(canonicals[x])] = find(canonicals[y]);
      }
    }
  }
  std::map<size_t, size_t> near_root;
  for (size_t i : canonicals) {
    auto [it, fresh] = near_root.emplace(find(i), i);
    if (!fresh && before(i, it->second)) it->second = i;
  }
  for (size_t i : canonicals) {
    size_t c = near_root[find(i)];
    if (c == i) continue;
    out[records[i].id()].near = records[c].id();
    out[records[i].id()].sim = curation::SimilarityPercent(
        curation::MinHashAgreement(records[i].minhash(), records[c].minhash()), 64);
  }
  return out;
}

Job TestJob() {
  Job j;
  j.set_id("job");
  return j;
}

class CanonicalStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<RecordStore> Open(const std::string& name, double threshold = 0.8) {
    StoreOptions options;
    options.near_dup_threshold = threshold;
    auto s = RecordStore::Open(dir_.path() + "/" + name, options);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // Writes `records` in order, `per_batch` at a time.
  static void WriteAll(RecordStore* store, const std::vector<Record>& records, size_t per_batch) {
    for (size_t i = 0; i < records.size(); i += per_batch) {
      std::vector<Record> batch(
          records.begin() + static_cast<long>(i),
          records.begin() + static_cast<long>(std::min(records.size(), i + per_batch)));
      auto n = store->WriteBatch(batch, TestJob(), nullptr);
      ASSERT_TRUE(n.ok()) << n.status();
      ASSERT_EQ(*n, static_cast<int64_t>(batch.size()));
    }
  }

  // Every stored record's labels, read back by scanning.
  static LabelMap Stored(RecordStore* store) {
    LabelMap out;
    absl::Status s =
        store->Scan(nullptr, ScanPosition(), [&](const Record& r, const ScanPosition&) {
          out[r.id()] = {r.duplicate_of(), r.near_duplicate_of(), r.near_duplicate_similarity()};
          EXPECT_EQ(r.minhash_size(), 0) << r.id();
          return true;
        });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  static void Register(RecordStore* store, const std::string& name) {
    fixmine::v1::Repository r;
    r.set_name(name);
    ASSERT_TRUE(store->PutRepository(r).ok());
  }

  testutil::TempDir dir_;
};

// Repository "up" and its fork "fork" (the same commits plus two of its own), "pick" with a
// cherry-pick of up's fix (same author time, other commit id, same fingerprint), "port" with a
// near-duplicate of up's table change and a chain of near duplicates, and a record with no
// fingerprint that is the same commit as one with a fingerprint.
std::map<std::string, std::vector<Record>> Corpus() {
  std::map<std::string, std::vector<Record>> repos;
  for (const std::string name : {"up", "fork"}) {
    repos[name] = {Make(name, 1, 100, "fp-init", Sig(1)), Make(name, 2, 200, "fp-fix"),
                   Make(name, 3, 300, "fp-table", Sig(3)), Make(name, 4, 400, "")};
  }
  repos["fork"].push_back(Make("fork", 5, 500, "fp-fork1", Sig(5)));
  repos["fork"].push_back(Make("fork", 6, 600, "fp-fork2"));
  // The cherry-pick keeps the author time of up's fix: the tie goes to the smaller id.
  repos["pick"] = {Make("pick", 10, 150, "fp-other"), Make("pick", 11, 200, "fp-fix"),
                   // The same commit as up's commit 4 (no fingerprint there) with one here.
                   Make("pick", 4, 400, "fp-four")};
  // 56 of 64 values equal to up's table (0.875): near; a chain x - y - z with x, z at 0.75.
  const std::vector<uint32_t> x = Sig(7);
  const std::vector<uint32_t> y = Change(x, Range(0, 8), 2);
  const std::vector<uint32_t> z = Change(y, Range(8, 16), 3);
  repos["port"] = {Make("port", 20, 50, "fp-port", Sig(3, 1, Range(0, 8))),
                   Make("port", 21, 700, "fp-x", x), Make("port", 22, 800, "fp-y", y),
                   Make("port", 23, 90, "fp-z", z),
                   // An exact copy (fingerprint) of the chain's middle, earlier: it takes y's
                   // place in the chain.
                   Make("port", 24, 750, "fp-y", y)};
  return repos;
}

TEST_F(CanonicalStoreTest, EveryRepositoryOrderAndBatchSizeGivesTheOraclesLabels) {
  auto corpus = Corpus();
  std::vector<std::string> names;
  std::vector<Record> all;
  for (const auto& [name, records] : corpus) {
    names.push_back(name);
    all.insert(all.end(), records.begin(), records.end());
  }
  const LabelMap want = Oracle(all, 0.8);
  // The corpus exercises what it claims: fork copies, the cherry-pick, the same commit
  // without and with a fingerprint, and near duplicates moved by an earlier arrival.
  EXPECT_EQ(want.at(Make("fork", 1, 0, "").id()).dup, "");
  EXPECT_EQ(want.at(Make("up", 1, 0, "").id()).dup, Make("fork", 1, 0, "").id());
  EXPECT_EQ(want.at(Make("up", 4, 0, "").id()).dup, Make("fork", 4, 0, "").id());
  EXPECT_EQ(want.at(Make("pick", 4, 0, "").id()).dup, Make("fork", 4, 0, "").id());
  EXPECT_EQ(want.at(Make("up", 2, 0, "").id()).dup, Make("fork", 2, 0, "").id());
  EXPECT_EQ(want.at(Make("pick", 11, 0, "").id()).dup, Make("fork", 2, 0, "").id());
  EXPECT_EQ(want.at(Make("fork", 3, 0, "").id()).near, Make("port", 20, 0, "").id());
  EXPECT_EQ(want.at(Make("fork", 3, 0, "").id()).sim, 88);
  EXPECT_EQ(want.at(Make("port", 21, 0, "").id()).near, Make("port", 23, 0, "").id());
  EXPECT_EQ(want.at(Make("port", 21, 0, "").id()).sim, 75);  // joined through y's copy
  EXPECT_EQ(want.at(Make("port", 22, 0, "").id()).dup, Make("port", 24, 0, "").id());
  EXPECT_EQ(want.at(Make("port", 22, 0, "").id()).near, "");
  EXPECT_EQ(want.at(Make("port", 24, 0, "").id()).near, Make("port", 23, 0, "").id());

  std::sort(names.begin(), names.end());
  int run = 0;
  do {
    for (size_t per_batch : {size_t{1}, size_t{3}, size_t{100}}) {
      SCOPED_TRACE(fmt::format("order {} {} {} {}, {} per batch", names[0], names[1], names[2],
                               names[3], per_batch));
      auto store = Open(fmt::format("s{}", run++));
      ASSERT_NE(store, nullptr);
      for (const std::string& name : names) {
        // Within a repository the miner writes newest first.
        std::vector<Record> records = corpus[name];
        std::reverse(records.begin(), records.end());
        WriteAll(store.get(), records, per_batch);
      }
      EXPECT_EQ(Stored(store.get()), want);
    }
  } while (std::next_permutation(names.begin(), names.end()));
}

TEST_F(CanonicalStoreTest, RemovingARepositoryRecomputesItsGroupsAndAddingItBackRestoresThem) {
  auto corpus = Corpus();
  auto store = Open("s");
  ASSERT_NE(store, nullptr);
  std::vector<Record> all;
  for (const auto& [name, records] : corpus) {
    Register(store.get(), name);
    WriteAll(store.get(), records, 2);
    all.insert(all.end(), records.begin(), records.end());
  }
  ASSERT_EQ(Stored(store.get()), Oracle(all, 0.8));
  LabelMap without_fork;
  for (const std::string name : {"fork", "port", "up"}) {
    SCOPED_TRACE("removing " + name);
    auto removed = store->RemoveRepository(name);
    ASSERT_TRUE(removed.ok()) << removed.status();
    std::vector<Record> left;
    for (const Record& r : all) {
      if (r.repo() != name) left.push_back(r);
    }
    LabelMap got = Stored(store.get());
    EXPECT_EQ(got, Oracle(left, 0.8));
    if (name == "fork") without_fork = got;
    Register(store.get(), name);
    WriteAll(store.get(), corpus[name], 100);
    EXPECT_EQ(Stored(store.get()), Oracle(all, 0.8));
  }
  // The fork held the canonical copies; the upstream's and the cherry-pick take over.
  ASSERT_EQ(without_fork.size(), 12u);
  EXPECT_EQ(without_fork.at(Make("up", 1, 0, "").id()).dup, "");
  EXPECT_EQ(without_fork.at(Make("up", 2, 0, "").id()).dup, Make("pick", 11, 0, "").id());
}

// Random corpora: fingerprints from a small pool, commits shared between repositories, author
// times with ties, signatures in a few families with up to 12 changed positions; written in
// random orders and batch sizes, with a repository removed and written back in between.
TEST_F(CanonicalStoreTest, RandomCorporaInRandomOrdersMatchTheOracle) {
  std::mt19937 rng(20261203);
  for (int round = 0; round < 12; ++round) {
    SCOPED_TRACE(fmt::format("round {}", round));
    std::uniform_int_distribution<int> pick(0, 1000000);
    std::map<std::string, std::vector<Record>> repos;
    std::vector<Record> all;
    for (int r = 0; r < 5; ++r) {
      std::string name = fmt::format("r{}", r);
      std::set<int> commits;
      for (int k = 0; k < 14; ++k) {
        int commit = pick(rng) % 40;
        if (!commits.insert(commit).second) continue;
        std::string fp = pick(rng) % 5 == 0 ? "" : fmt::format("fp{}", pick(rng) % 25);
        int64_t time = pick(rng) % 6;
        std::vector<uint32_t> sig;
        if (pick(rng) % 4 != 0) {
          std::vector<int> changed;
          int n = pick(rng) % 13;
          changed.reserve(n);
          for (int i = 0; i < n; ++i) changed.push_back(pick(rng) % 64);
          sig = Sig(pick(rng) % 4, pick(rng) % 1000, changed);
        }
        repos[name].push_back(Make(name, commit, time, fp, sig));
        all.push_back(repos[name].back());
      }
    }
    const LabelMap want = Oracle(all, 0.8);
    for (int order = 0; order < 3; ++order) {
      auto store = Open(fmt::format("r{}-{}", round, order));
      ASSERT_NE(store, nullptr);
      std::vector<std::string> names;
      names.reserve(repos.size());
      for (const auto& [name, records] : repos) names.push_back(name);
      std::shuffle(names.begin(), names.end(), rng);
      for (const std::string& name : names) {
        Register(store.get(), name);
        std::vector<Record> records = repos[name];
        std::shuffle(records.begin(), records.end(), rng);
        WriteAll(store.get(), records, 1 + pick(rng) % 6);
      }
      ASSERT_EQ(Stored(store.get()), want) << "order " << order;
      const std::string victim = names[pick(rng) % names.size()];
      ASSERT_TRUE(store->RemoveRepository(victim).ok());
      std::vector<Record> left;
      for (const Record& r : all) {
        if (r.repo() != victim) left.push_back(r);
      }
      ASSERT_EQ(Stored(store.get()), Oracle(left, 0.8)) << "without " << victim;
      Register(store.get(), victim);
      WriteAll(store.get(), repos[victim], 4);
      ASSERT_EQ(Stored(store.get()), want) << "with " << victim << " again";
    }
  }
}

// The dedup family persists: after a reopen, new writes move the labels of stored records.
TEST_F(CanonicalStoreTest, ReopeningKeepsLabelsAndTheIndexGoesOnFromThem) {
  auto corpus = Corpus();
  std::vector<Record> all;
  {
    auto store = Open("s");
    ASSERT_NE(store, nullptr);
    WriteAll(store.get(), corpus["fork"], 100);
    all = corpus["fork"];
  }
  auto store = Open("s");
  ASSERT_NE(store, nullptr);
  WriteAll(store.get(), corpus["up"], 100);
  all.insert(all.end(), corpus["up"].begin(), corpus["up"].end());
  EXPECT_EQ(Stored(store.get()), Oracle(all, 0.8));
}

// A store written by a build without the dedup family (no "dedup_layout" mark, no dedup
// entries, first-writer labels in its records) is relabelled by the rule when it is opened.
TEST_F(CanonicalStoreTest, AStoreWithoutTheDedupFamilyIsRelabelledAtOpen) {
  auto corpus = Corpus();
  std::vector<Record> all;
  {
    auto store = Open("s");
    ASSERT_NE(store, nullptr);
    for (const auto& [name, records] : corpus) {
      WriteAll(store.get(), records, 100);
      all.insert(all.end(), records.begin(), records.end());
    }
    // Everything into table files, merges resolved: the plain RocksDB open below has neither
    // the store's merge operator nor its write-ahead log settings.
    ASSERT_TRUE(store->Compact().ok());
  }
  {
    // Turn it into what an earlier build left: drop the mark and the family, and give every
    // record a label of its own.
    const std::string path = dir_.path() + "/s";
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    descriptors.reserve(names.size());
    for (const std::string& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::WriteBatch batch;
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == "default") {
        ASSERT_TRUE(batch.Delete(handles[i], "dedup_layout").ok());
      }
      if (names[i] == "dedup") {
        ASSERT_TRUE(batch.DeleteRange(handles[i], "", "\xff").ok());
      }
      if (names[i] != "records") continue;
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[i]));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        Record r;
        ASSERT_TRUE(r.ParseFromString(it->value().ToString()));
        r.set_duplicate_of("legacy");
        ASSERT_TRUE(batch.Put(handles[i], it->key(), r.SerializeAsString()).ok());
      }
      ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    }
    ASSERT_TRUE(db->Write(rocksdb::WriteOptions(), &batch).ok());
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  }
  auto store = Open("s");
  ASSERT_NE(store, nullptr);
  LabelMap want = Oracle(all, 0.8);
  // Signatures were dropped with the family here (an earlier build kept them for first copies
  // only), so only the exact labels can be compared.
  LabelMap got = Stored(store.get());
  ASSERT_EQ(*store->TotalRecords(), 18);
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [id, l] : want) EXPECT_EQ(got[id].dup, l.dup) << id;
  // And later writes go on from the rebuilt index.
  std::vector<Record> more = {Make("late", 2, 1, "fp-fix")};
  WriteAll(store.get(), more, 1);
  EXPECT_EQ(Stored(store.get()).at(Make("fork", 2, 0, "").id()).dup, more[0].id());
}

// `db verify` notices a record without its dedup member.
TEST_F(CanonicalStoreTest, VerifyReportsARecordMissingFromTheDedupIndex) {
  auto corpus = Corpus();
  const std::string path = dir_.path() + "/s";
  {
    auto store = Open("s");
    ASSERT_NE(store, nullptr);
    WriteAll(store.get(), corpus["up"], 100);
    auto clean = VerifyStore(store.get());
    ASSERT_TRUE(clean.ok()) << clean.status();
    EXPECT_TRUE(clean->problems.empty());
    ASSERT_TRUE(store->Compact().ok());
  }
  {
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    descriptors.reserve(names.size());
    for (const std::string& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] != "dedup") continue;
      ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), handles[i], "m" + corpus["up"][0].id()).ok());
    }
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  }
  auto store = Open("s");
  ASSERT_NE(store, nullptr);
  auto report = VerifyStore(store.get());
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_EQ(report->problems[0], "the dedup index has 3 members but there are 4 records");
}

// Near groups made at one threshold are remade when the store is opened with another.
TEST_F(CanonicalStoreTest, AnotherThresholdAtOpenRemakesTheNearGroups) {
  auto corpus = Corpus();
  std::vector<Record> all;
  {
    auto store = Open("s", 0.8);
    ASSERT_NE(store, nullptr);
    for (const auto& [name, records] : corpus) {
      WriteAll(store.get(), records, 100);
      all.insert(all.end(), records.begin(), records.end());
    }
    ASSERT_EQ(Stored(store.get()), Oracle(all, 0.8));
  }
  for (double threshold : {0.9, 0.0, 0.7, 0.8}) {
    SCOPED_TRACE(threshold);
    auto store = Open("s", threshold);
    ASSERT_NE(store, nullptr);
    LabelMap want = Oracle(all, threshold);
    EXPECT_EQ(Stored(store.get()), want);
  }
  // The thresholds make a difference: up's table and its port (0.875) only below 0.9.
  EXPECT_EQ(Oracle(all, 0.8).at(Make("fork", 3, 0, "").id()).near, Make("port", 20, 0, "").id());
  EXPECT_EQ(Oracle(all, 0.9).at(Make("fork", 3, 0, "").id()).near, "");
}

TEST_F(CanonicalStoreTest, ThresholdZeroGivesNoNearDuplicatesButExactOnesStill) {
  auto store = Open("s", 0);
  ASSERT_NE(store, nullptr);
  std::vector<Record> records = {Make("a", 1, 10, "f1", Sig(1)),
                                 Make("b", 2, 5, "f2", Sig(1, 1, {0})),
                                 Make("c", 3, 1, "f1", Sig(1))};
  WriteAll(store.get(), records, 1);
  LabelMap got = Stored(store.get());
  EXPECT_EQ(got, Oracle(records, 0));
  EXPECT_EQ(got.at(records[0].id()).dup, records[2].id());
  EXPECT_EQ(got.at(records[1].id()).near, "");
}

}  // namespace
}  // namespace fixmine::storage
