#include "storage/record_store.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "storage/keys.h"
#include "storage/trajectory_store.h"
#include "tests/testutil/git_repo.h"

namespace fixmine::storage {
namespace {

using fixmine::v1::Job;
using fixmine::v1::Record;
using fixmine::v1::Repository;
using ::testing::HasSubstr;

// A filter with a hand-set predicate and hints, so these tests do not depend on the parser.
class TestFilter : public Filter {
 public:
  TestFilter(std::function<bool(const Record&)> pred, FilterHints hints, std::string canonical)
      : pred_(std::move(pred)), hints_(std::move(hints)), canonical_(std::move(canonical)) {}
  bool Matches(const Record& record) const override { return pred_(record); }
  const FilterHints& hints() const override { return hints_; }
  const std::string& canonical() const override { return canonical_; }

 private:
  std::function<bool(const Record&)> pred_;
  FilterHints hints_;
  std::string canonical_;
};

bool HasLanguage(const Record& r, const std::string& lang) {
  for (const auto& f : r.files()) {
    if (f.language() == lang) return true;
  }
  return false;
}

// Filters whose predicate is exactly what their hints promise, optionally narrowed further.
TestFilter RepoFilter(const std::string& repo, std::optional<int64_t> min_time = std::nullopt,
                      std::optional<int64_t> max_time = std::nullopt) {
  FilterHints h;
  h.repo = repo;
  h.min_time = min_time;
  h.max_time = max_time;
  return TestFilter(
      [=](const Record& r) {
        int64_t t = r.committer().time();
        return r.repo() == repo && (!min_time || t >= *min_time) && (!max_time || t <= *max_time);
      },
      h, "repo");
}

TestFilter LangFilter(const std::string& lang, bool fixes_only = false) {
  FilterHints h;
  h.language = lang;
  return TestFilter(
      [=](const Record& r) { return HasLanguage(r, lang) && (!fixes_only || r.labels().is_fix()); },
      h, "lang");
}

TestFilter TimeFilter(std::optional<int64_t> min_time, std::optional<int64_t> max_time) {
  FilterHints h;
  h.min_time = min_time;
  h.max_time = max_time;
  return TestFilter(
      [=](const Record& r) {
        int64_t t = r.committer().time();
        return (!min_time || t >= *min_time) && (!max_time || t <= *max_time);
      },
      h, "time");
}

// No hints at all: a full scan evaluating the predicate.
TestFilter FixFilter() {
  return TestFilter([](const Record& r) { return r.labels().is_fix(); }, FilterHints(), "fix");
}

std::string CommitFor(const std::string& repo, int n) {
  size_t h = std::hash<std::string>()(repo + "#" + std::to_string(n));
  return fmt::format("{:016x}{:016x}{:08x}", h, h * 31 + 7, n);
}

Record MakeRecord(const std::string& repo, int n, int64_t time,
                  const std::vector<std::string>& langs) {
  Record r;
  r.set_commit(CommitFor(repo, n));
  r.set_id(repo + ":" + r.commit());
  r.set_repo(repo);
  r.set_subject(fmt::format("commit {} of {}", n, repo));
  r.mutable_committer()->set_time(time);
  r.mutable_author()->set_time(time - 10);
  r.mutable_labels()->set_is_fix(n % 3 == 0);
  for (size_t i = 0; i < langs.size(); ++i) {
    auto* f = r.add_files();
    f->set_path(fmt::format("file{}", i));
    f->set_language(langs[i]);
  }
  return r;
}

Job MakeJob(const std::string& id, const std::string& repo, int64_t created_at) {
  Job j;
  j.set_id(id);
  j.set_repo(repo);
  j.set_created_at(created_at);
  j.set_state(fixmine::v1::RUNNING);
  return j;
}

Repository MakeRepo(const std::string& name) {
  Repository r;
  r.set_name(name);
  r.set_source("/src/" + name);
  r.set_local_path("/src/" + name);
  r.set_created_at(1700000000);
  r.add_watermarks("refs/heads/main " + std::string(40, 'a'));
  return r;
}

// The data set: repositories whose names share a prefix, equal and negative times, records
// with several, repeated or no languages.
std::vector<Record> Dataset() {
  std::vector<Record> out;
  const std::vector<std::vector<std::string>> langs = {
      {"C++"}, {"Go", "C++"}, {}, {"Python", "Python"}, {"Go"}, {"", "C++", "Markdown"}};
  int n = 0;
  for (const std::string repo : {"alpha", "alphabet", "beta"}) {
    for (int i = 0; i < 12; ++i, ++n) {
      int64_t time = 1600000000 + (i / 2) * 3600;  // pairs share a second
      if (i == 11) time = -86400;                  // before the epoch
      out.push_back(MakeRecord(repo, n, time, langs[n % langs.size()]));
    }
  }
  return out;
}

// Store order: repository, newest committer time first, then commit id.
std::vector<std::string> StoreOrder(std::vector<Record> records) {
  std::sort(records.begin(), records.end(), [](const Record& a, const Record& b) {
    return std::make_tuple(a.repo(), -a.committer().time(), a.commit()) <
           std::make_tuple(b.repo(), -b.committer().time(), b.commit());
  });
  std::vector<std::string> ids;
  ids.reserve(records.size());
  for (const auto& r : records) ids.push_back(r.id());
  return ids;
}

struct Visited {
  std::vector<std::string> ids;
  std::vector<ScanPosition> after;
};

Visited ScanAll(RecordStore& store, const Filter* filter, const ScanPosition& from = {}) {
  Visited v;
  absl::Status s = store.Scan(filter, from, [&v](const Record& r, const ScanPosition& after) {
    v.ids.push_back(r.id());
    v.after.push_back(after);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s;
  return v;
}

std::unique_ptr<RecordStore> OpenOrDie(const std::string& dir) {
  auto store = RecordStore::Open(dir);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

class RecordStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path() + "/store";
    store_ = OpenOrDie(dir_);
    ASSERT_NE(store_, nullptr);
  }

  // Writes the data set, one batch per repository.
  void WriteDataset() {
    std::map<std::string, std::vector<Record>> by_repo;
    for (const auto& r : Dataset()) by_repo[r.repo()].push_back(r);
    for (const auto& [repo, records] : by_repo) {
      Repository meta = MakeRepo(repo);
      auto n = store_->WriteBatch(records, MakeJob("job-" + repo, repo, 100), &meta);
      ASSERT_TRUE(n.ok()) << n.status();
      EXPECT_EQ(*n, static_cast<int64_t>(records.size()));
    }
  }

  testutil::TempDir tmp_;
  std::string dir_;
  std::unique_ptr<RecordStore> store_;
};

TEST(KeysTest, PrimaryKeysOrderByRepoThenNewestFirst) {
  std::vector<std::tuple<std::string, int64_t>> in = {
      {"a", 5}, {"a", -5}, {"a", 0}, {"a", 1700000000}, {"ab", 9}, {"b", -9}, {"a", 4}};
  std::vector<std::pair<std::string, std::tuple<std::string, int64_t>>> keyed;
  for (const auto& [repo, time] : in) {
    Record r;
    r.set_repo(repo);
    r.set_commit(std::string(40, 'f'));
    r.mutable_committer()->set_time(time);
    auto key = keys::PrimaryKey(r);
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(key->size(), repo.size() + 1 + 8 + 20);
    keyed.emplace_back(*key, std::make_tuple(repo, -time));
  }
  std::sort(keyed.begin(), keyed.end());
  for (size_t i = 1; i < keyed.size(); ++i) EXPECT_LT(keyed[i - 1].second, keyed[i].second);
}

TEST(KeysTest, BiasedTimeIsMonotonicAndHelpersWork) {
  std::vector<int64_t> times = {INT64_MIN, -(int64_t{1} << 62), -1, 0, 1, INT64_MAX};
  for (size_t i = 1; i < times.size(); ++i) {
    EXPECT_LE(keys::BiasedTime(times[i - 1]), keys::BiasedTime(times[i]));
  }
  EXPECT_EQ(keys::BiasedTime(0), uint64_t{1} << 62);
  EXPECT_EQ(keys::PrefixSuccessor(std::string("a\0", 2)), std::string("a\1", 2));
  EXPECT_EQ(keys::PrefixSuccessor("a\xff\xff"), "b");
  EXPECT_EQ(keys::PrefixSuccessor("\xff"), "");
  EXPECT_EQ(keys::HexToBytes("00fF"), std::string("\0\xff", 2));
  EXPECT_FALSE(keys::HexToBytes("abc").has_value());
  EXPECT_FALSE(keys::HexToBytes("zz").has_value());
  EXPECT_EQ(keys::DecodeCounter(keys::EncodeCounter(-42)), -42);
  Record r;
  r.set_repo("r");
  r.set_commit("12");
  EXPECT_FALSE(keys::PrimaryKey(Record()).ok());
  r.set_commit("xyz");
  EXPECT_EQ(keys::PrimaryKey(r).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RecordStoreTest, OpenCloseReopenKeepsEverything) {
  WriteDataset();
  ASSERT_TRUE(store_->PutJob(MakeJob("extra", "beta", 500)).ok());
  Visited before = ScanAll(*store_, nullptr);
  ASSERT_EQ(before.ids.size(), 36u);

  store_.reset();
  store_ = OpenOrDie(dir_);
  ASSERT_NE(store_, nullptr);

  Visited after = ScanAll(*store_, nullptr);
  EXPECT_EQ(after.ids, before.ids);
  EXPECT_EQ(*store_->TotalRecords(), 36);
  EXPECT_EQ(*store_->RecordCount("alpha"), 12);
  auto repos = store_->ListRepositories();
  ASSERT_TRUE(repos.ok());
  ASSERT_EQ(repos->size(), 3u);
  EXPECT_EQ((*repos)[1].name(), "alphabet");
  EXPECT_EQ((*repos)[1].record_count(), 12);
  auto jobs = store_->ListJobs();
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(jobs->size(), 4u);
  EXPECT_TRUE(store_->GetJob("extra").ok());
  // A lang index scan after reopening still finds its records.
  TestFilter go = LangFilter("Go");
  EXPECT_FALSE(ScanAll(*store_, &go).ids.empty());
}

TEST_F(RecordStoreTest, OpenCreatesMissingFolders) {
  std::string nested = tmp_.path() + "/a/b/c";
  auto store = RecordStore::Open(nested);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(*(*store)->TotalRecords(), 0);
}

TEST_F(RecordStoreTest, SchemaVersionMismatchIsFailedPrecondition) {
  store_.reset();
  {
    rocksdb::DBOptions options;
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(options, dir_, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    descriptors.reserve(names.size());
    for (const auto& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir_, descriptors, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), keys::kSchemaVersionKey, "999").ok());
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    ASSERT_TRUE(db->Close().ok());
  }
  auto store = RecordStore::Open(dir_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("schema version \"999\""));
}

TEST_F(RecordStoreTest, SecondOpenWhileOpenIsUnavailable) {
  auto second = RecordStore::Open(dir_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();
  // The first store is unaffected.
  EXPECT_TRUE(store_->TotalRecords().ok());
}

TEST_F(RecordStoreTest, OpenLockedByAnotherProcessIsUnavailable) {
  store_.reset();
  int ready[2];
  int release[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(release), 0);
  std::string lock_path = dir_ + "/LOCK";
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Only async-signal-safe calls in the child: take the fcntl lock RocksDB takes, report,
    // hold it until the parent closes the pipe.
    close(ready[0]);
    close(release[1]);
    int fd = open(lock_path.c_str(), O_RDWR | O_CREAT, 0644);
    struct flock fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    char ok = (fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0) ? '1' : '0';
    if (write(ready[1], &ok, 1) != 1) _exit(2);
    char c;
    while (read(release[0], &c, 1) > 0) {
    }
    _exit(0);
  }
  close(ready[1]);
  close(release[0]);
  char ok = 0;
  ASSERT_EQ(read(ready[0], &ok, 1), 1);
  EXPECT_EQ(ok, '1');
  auto store = RecordStore::Open(dir_);
  close(release[1]);
  int status = 0;
  waitpid(child, &status, 0);
  close(ready[0]);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
  // Released: opens again.
  EXPECT_TRUE(RecordStore::Open(dir_).ok());
}

TEST_F(RecordStoreTest, WriteBatchIsIdempotent) {
  std::vector<Record> records;
  records.reserve(5);
  for (int i = 0; i < 5; ++i) records.push_back(MakeRecord("alpha", i, 1000 + i, {"Go"}));
  Repository repo = MakeRepo("alpha");
  repo.set_record_count(12345);  // derived by the store, never stored
  auto n = store_->WriteBatch(records, MakeJob("j1", "alpha", 1), &repo);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 5);
  n = store_->WriteBatch(records, MakeJob("j1", "alpha", 1), &repo);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 0);
  EXPECT_EQ(*store_->TotalRecords(), 5);
  EXPECT_EQ(*store_->RecordCount("alpha"), 5);
  EXPECT_EQ(store_->GetRepository("alpha")->record_count(), 5);

  // Duplicates inside one batch, and a mix of old and new records.
  std::vector<Record> mixed = {records[0], MakeRecord("alpha", 7, 5000, {"Go"}),
                               MakeRecord("alpha", 7, 5000, {"Go"}), records[3]};
  Job job = MakeJob("j1", "alpha", 1);
  job.set_records_written(6);
  n = store_->WriteBatch(mixed, job, nullptr);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(*store_->TotalRecords(), 6);
  EXPECT_EQ(*store_->RecordCount("alpha"), 6);
  EXPECT_EQ(ScanAll(*store_, nullptr).ids.size(), 6u);
  TestFilter go = LangFilter("Go");
  EXPECT_EQ(ScanAll(*store_, &go).ids.size(), 6u);
  TestFilter time = TimeFilter(0, std::nullopt);
  EXPECT_EQ(ScanAll(*store_, &time).ids.size(), 6u);
  // The job is written with the batch.
  EXPECT_EQ(store_->GetJob("j1")->records_written(), 6);
}

TEST_F(RecordStoreTest, WriteBatchRejectsBadRecordAndWritesNothing) {
  std::vector<Record> records = {MakeRecord("alpha", 1, 10, {}), MakeRecord("alpha", 2, 20, {})};
  records[1].set_commit("not-hex");
  auto n = store_->WriteBatch(records, MakeJob("j", "alpha", 1), nullptr);
  EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument) << n.status();
  EXPECT_EQ(*store_->TotalRecords(), 0);
  EXPECT_FALSE(*store_->HasRecord(records[0].id()));
  EXPECT_EQ(store_->GetJob("j").status().code(), absl::StatusCode::kNotFound);

  records[1] = MakeRecord("alpha", 2, 20, {});
  records[1].clear_id();
  EXPECT_EQ(store_->WriteBatch(records, MakeJob("j", "alpha", 1), nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->WriteBatch({}, Job(), nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RecordStoreTest, ScanOrderIsRepoThenNewestFirst) {
  WriteDataset();
  Visited all = ScanAll(*store_, nullptr);
  EXPECT_EQ(all.ids, StoreOrder(Dataset()));
  for (const auto& pos : all.after) EXPECT_EQ(pos.index, "records");

  // One repository is its own prefix: "alpha" does not run into "alphabet".
  TestFilter alpha = RepoFilter("alpha");
  Visited a = ScanAll(*store_, &alpha);
  std::vector<Record> only_alpha;
  for (const auto& r : Dataset()) {
    if (r.repo() == "alpha") only_alpha.push_back(r);
  }
  EXPECT_EQ(a.ids, StoreOrder(only_alpha));
  ASSERT_FALSE(a.after.empty());
  EXPECT_EQ(a.after[0].index, "records:alpha");
}

TEST_F(RecordStoreTest, VisitReturningFalseStops) {
  WriteDataset();
  int calls = 0;
  ASSERT_TRUE(store_
                  ->Scan(nullptr, {},
                         [&calls](const Record&, const ScanPosition&) {
                           ++calls;
                           return calls < 3;
                         })
                  .ok());
  EXPECT_EQ(calls, 3);
}

TEST_F(RecordStoreTest, ResumeFromEveryPositionYieldsExactlyTheRest) {
  WriteDataset();
  std::vector<std::pair<std::string, std::unique_ptr<TestFilter>>> filters;
  filters.emplace_back("none", nullptr);
  filters.emplace_back("repo", std::make_unique<TestFilter>(RepoFilter("alphabet")));
  filters.emplace_back("repo+time",
                       std::make_unique<TestFilter>(RepoFilter("beta", 0, 1600007200)));
  filters.emplace_back("lang", std::make_unique<TestFilter>(LangFilter("C++")));
  filters.emplace_back("lang+fix", std::make_unique<TestFilter>(LangFilter("C++", true)));
  filters.emplace_back("time", std::make_unique<TestFilter>(TimeFilter(1600003600, std::nullopt)));
  filters.emplace_back("fix", std::make_unique<TestFilter>(FixFilter()));
  const std::map<std::string, std::string> want_index = {
      {"none", "records"},  {"repo", "records:alphabet"}, {"repo+time", "records:beta"},
      {"lang", "lang:C++"}, {"lang+fix", "lang:C++"},     {"time", "time"},
      {"fix", "records"}};
  for (const auto& [name, filter] : filters) {
    SCOPED_TRACE(name);
    Visited all = ScanAll(*store_, filter.get());
    ASSERT_GE(all.ids.size(), 2u);
    for (const auto& pos : all.after) EXPECT_EQ(pos.index, want_index.at(name));
    for (size_t i = 0; i < all.ids.size(); ++i) {
      Visited rest = ScanAll(*store_, filter.get(), all.after[i]);
      std::vector<std::string> want(all.ids.begin() + i + 1, all.ids.end());
      EXPECT_EQ(rest.ids, want) << "resuming after position " << i;
    }
  }
}

TEST_F(RecordStoreTest, ResumeSurvivesDeletionOfTheLastRecord) {
  WriteDataset();
  TestFilter alpha = RepoFilter("alpha");
  Visited all = ScanAll(*store_, &alpha);
  ASSERT_EQ(store_->RemoveRepository("alpha").status().code(), absl::StatusCode::kOk);
  EXPECT_TRUE(ScanAll(*store_, &alpha, all.after[3]).ids.empty());
  // A full-scan position inside a removed repository resumes at the next repository.
  Visited full = ScanAll(*store_, nullptr);
  EXPECT_EQ(full.ids.size(), 24u);
  std::string mid_alpha = keys::PrimaryTimePrefix("alpha", 1600003600);
  Visited rest = ScanAll(*store_, nullptr, ScanPosition{"records", mid_alpha});
  EXPECT_EQ(rest.ids, full.ids);
}

TEST_F(RecordStoreTest, IndexScansReturnWhatAFullScanWithMatchesReturns) {
  WriteDataset();
  std::vector<std::pair<std::string, TestFilter>> filters = {
      {"lang C++", LangFilter("C++")},
      {"lang Go", LangFilter("Go")},
      {"lang Python", LangFilter("Python")},
      {"lang Markdown+fix", LangFilter("Markdown", true)},
      {"lang absent", LangFilter("Rust")},
      {"time min", TimeFilter(1600007200, std::nullopt)},
      {"time max", TimeFilter(std::nullopt, 1600003600)},
      {"time range", TimeFilter(1600003600, 1600010800)},
      {"time negative", TimeFilter(-100000, 0)},
      {"time empty", TimeFilter(1600010800, 1600003600)},
      {"repo time", RepoFilter("alpha", 1600003600, 1600010800)},
      {"repo min", RepoFilter("beta", 1600014400, std::nullopt)},
      {"repo max", RepoFilter("alphabet", std::nullopt, 0)},
      {"repo unknown", RepoFilter("gamma")},
  };
  Visited all = ScanAll(*store_, nullptr);
  std::map<std::string, Record> by_id;
  for (const auto& r : Dataset()) by_id[r.id()] = r;
  for (const auto& [name, filter] : filters) {
    SCOPED_TRACE(name);
    std::multiset<std::string> want;
    for (const auto& id : all.ids) {
      if (filter.Matches(by_id[id])) want.insert(id);
    }
    Visited got = ScanAll(*store_, &filter);
    EXPECT_EQ(std::multiset<std::string>(got.ids.begin(), got.ids.end()), want);
    EXPECT_EQ(*store_->Count(&filter), static_cast<int64_t>(want.size()));
  }
  // Sanity: the interesting filters match something.
  TestFilter cpp = LangFilter("C++");
  EXPECT_GT(*store_->Count(&cpp), 5);
  TestFilter negative = TimeFilter(-100000, 0);
  EXPECT_EQ(*store_->Count(&negative), 3);
  EXPECT_EQ(*store_->Count(nullptr), 36);
  TestFilter fix = FixFilter();
  EXPECT_EQ(*store_->Count(&fix), 12);
}

TEST_F(RecordStoreTest, PositionOfAnotherIndexIsInvalidArgument) {
  WriteDataset();
  TestFilter go = LangFilter("Go");
  TestFilter cpp = LangFilter("C++");
  TestFilter alpha = RepoFilter("alpha");
  TestFilter time = TimeFilter(0, std::nullopt);
  Visited go_scan = ScanAll(*store_, &go);
  Visited full = ScanAll(*store_, nullptr);
  ASSERT_FALSE(go_scan.after.empty());
  auto noop = [](const Record&, const ScanPosition&) { return true; };
  EXPECT_EQ(store_->Scan(&cpp, go_scan.after[0], noop).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Scan(nullptr, go_scan.after[0], noop).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Scan(&time, full.after[0], noop).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Scan(&alpha, full.after[0], noop).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Scan(&go, full.after[0], noop).code(), absl::StatusCode::kInvalidArgument);
  // A key from outside the named key space, and a key without an index.
  EXPECT_EQ(
      store_->Scan(&alpha, ScanPosition{"records:alpha", full.after.back().last_key}, noop).code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Scan(nullptr, ScanPosition{"", "x"}, noop).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RecordStoreTest, RemoveRepositoryRemovesRecordsIndexEntriesAndCounts) {
  WriteDataset();
  std::vector<Record> alpha_records;
  for (const auto& r : Dataset()) {
    if (r.repo() == "alpha") alpha_records.push_back(r);
  }
  auto removed = store_->RemoveRepository("alpha");
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 12);
  EXPECT_EQ(*store_->TotalRecords(), 24);
  EXPECT_EQ(*store_->RecordCount("alpha"), 0);
  EXPECT_EQ(*store_->RecordCount("alphabet"), 12);
  EXPECT_EQ(store_->GetRepository("alpha").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->ListRepositories()->size(), 2u);

  for (const std::string lang : {"C++", "Go", "Python", "Markdown"}) {
    TestFilter f = LangFilter(lang);
    for (const auto& id : ScanAll(*store_, &f).ids)
      EXPECT_EQ(id.rfind("alpha:", 0), std::string::npos) << id;
  }
  // Index entries are gone, not only filtered out: a filter with a lang hint that matches
  // everything sees only other repositories' records.
  FilterHints hints;
  hints.language = "C++";
  TestFilter lang_any([](const Record&) { return true; }, hints, "any");
  for (const auto& id : ScanAll(*store_, &lang_any).ids)
    EXPECT_EQ(id.rfind("alpha:", 0), std::string::npos);
  FilterHints time_hints;
  time_hints.min_time = INT64_MIN / 2;
  TestFilter time_any([](const Record&) { return true; }, time_hints, "any");
  EXPECT_EQ(ScanAll(*store_, &time_any).ids.size(), 24u);
  for (const auto& r : alpha_records) {
    EXPECT_FALSE(*store_->HasRecord(r.id()));
    EXPECT_EQ(store_->GetRecord(r.id()).status().code(), absl::StatusCode::kNotFound);
  }
  EXPECT_EQ(store_->RemoveRepository("alpha").status().code(), absl::StatusCode::kNotFound);

  // After removal the same records can be mined again.
  Repository repo = MakeRepo("alpha");
  auto n = store_->WriteBatch(alpha_records, MakeJob("again", "alpha", 2), &repo);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 12);
  EXPECT_EQ(*store_->TotalRecords(), 36);
  EXPECT_EQ(store_->GetRepository("alpha")->record_count(), 12);
}

// The removal takes the repository's trajectories with its records (one batch), and only its
// own: "alphabet" shares "alpha" as a name prefix.
TEST_F(RecordStoreTest, RemoveRepositoryRemovesItsTrajectoriesAndNoOthers) {
  WriteDataset();
  auto trajectories = TrajectoryStore::Of(store_.get());
  ASSERT_TRUE(trajectories.ok()) << trajectories.status();
  std::vector<fixmine::v1::Trajectory> put;
  for (const std::string repo : {"alpha", "alphabet"}) {
    for (int i = 0; i < 3; ++i) {
      fixmine::v1::Trajectory t;
      t.set_id(fmt::format("{}-t{}", repo, i));
      t.set_repo(repo);
      t.mutable_merged_by()->set_time(1000 + i);
      put.push_back(t);
    }
  }
  ASSERT_TRUE((*trajectories)->Put(put).ok());
  auto repos_of_stored = [&] {
    std::multiset<std::string> repos;
    EXPECT_TRUE((*trajectories)
                    ->Scan(nullptr, "",
                           [&](const fixmine::v1::Trajectory& t, const std::string&) {
                             repos.insert(t.repo());
                             return true;
                           })
                    .ok());
    return repos;
  };
  ASSERT_EQ(repos_of_stored().count("alpha"), 3u);

  auto removed = store_->RemoveRepository("alpha");
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 12);
  std::multiset<std::string> left = repos_of_stored();
  EXPECT_EQ(left.count("alpha"), 0u);
  EXPECT_EQ(left.count("alphabet"), 3u);
  // The id entries went too: a Get by id finds nothing.
  EXPECT_EQ((*trajectories)->Get("alpha-t0").status().code(), absl::StatusCode::kNotFound);
  auto kept = (*trajectories)->Get("alphabet-t1");
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->repo(), "alphabet");
}

TEST_F(RecordStoreTest, RemoveRepositoryWithoutRecords) {
  ASSERT_TRUE(store_->PutRepository(MakeRepo("empty")).ok());
  auto removed = store_->RemoveRepository("empty");
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 0);
  EXPECT_EQ(store_->RemoveRepository("never").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RecordStoreTest, JobsAndRepositoriesRoundTrip) {
  Repository repo = MakeRepo("zeta");
  repo.set_remote(true);
  repo.set_last_job_id("j2");
  ASSERT_TRUE(store_->PutRepository(repo).ok());
  ASSERT_TRUE(store_->PutRepository(MakeRepo("eta")).ok());
  auto got = store_->GetRepository("zeta");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->SerializeAsString(), repo.SerializeAsString());
  EXPECT_EQ(store_->GetRepository("nope").status().code(), absl::StatusCode::kNotFound);
  auto list = store_->ListRepositories();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name(), "eta");
  EXPECT_EQ((*list)[1].name(), "zeta");
  // Replacing keeps one entry.
  repo.set_source("/elsewhere");
  ASSERT_TRUE(store_->PutRepository(repo).ok());
  EXPECT_EQ(store_->GetRepository("zeta")->source(), "/elsewhere");
  EXPECT_EQ(store_->ListRepositories()->size(), 2u);

  Job a = MakeJob("a", "zeta", 100);
  Job b = MakeJob("b", "zeta", 300);
  Job c = MakeJob("c", "eta", 200);
  Job d = MakeJob("d", "eta", 300);
  a.add_skipped_errors("bad object");
  for (const Job& j : {a, b, c, d}) ASSERT_TRUE(store_->PutJob(j).ok());
  auto job = store_->GetJob("a");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->SerializeAsString(), a.SerializeAsString());
  EXPECT_EQ(store_->GetJob("zz").status().code(), absl::StatusCode::kNotFound);
  auto jobs = store_->ListJobs();
  ASSERT_TRUE(jobs.ok());
  std::vector<std::string> ids;
  for (const auto& j : *jobs) ids.push_back(j.id());
  EXPECT_EQ(ids, (std::vector<std::string>{"d", "b", "c", "a"}));
  EXPECT_EQ(store_->PutJob(Job()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->PutRepository(Repository()).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RecordStoreTest, GetRecordById) {
  WriteDataset();
  Record want = Dataset()[7];
  EXPECT_TRUE(*store_->HasRecord(want.id()));
  auto got = store_->GetRecord(want.id());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->SerializeAsString(), want.SerializeAsString());
  EXPECT_FALSE(*store_->HasRecord("missing"));
  auto missing = store_->GetRecord("missing");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("\"missing\""));
}

TEST_F(RecordStoreTest, ScanReadsOneSnapshot) {
  WriteDataset();
  int visited = 0;
  bool wrote = false;
  ASSERT_TRUE(store_
                  ->Scan(nullptr, {},
                         [&](const Record&, const ScanPosition&) {
                           ++visited;
                           if (!wrote) {
                             wrote = true;
                             // Sorts after everything already there; must not show up in this scan.
                             auto n = store_->WriteBatch({MakeRecord("zzz", 1, 1, {"Go"})},
                                                         MakeJob("z", "zzz", 1), nullptr);
                             EXPECT_TRUE(n.ok() && *n == 1);
                           }
                           return true;
                         })
                  .ok());
  EXPECT_EQ(visited, 36);
  EXPECT_EQ(ScanAll(*store_, nullptr).ids.size(), 37u);
}

TEST_F(RecordStoreTest, ConcurrentWritersOfDifferentRepositoriesKeepCountsExact) {
  constexpr int kWriters = 4;
  constexpr int kBatches = 10;
  constexpr int kPerBatch = 5;
  std::vector<std::thread> threads;
  threads.reserve(kWriters);
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([this, w] {
      std::string repo = fmt::format("repo{}", w);
      for (int b = 0; b < kBatches; ++b) {
        std::vector<Record> records;
        for (int i = 0; i < kPerBatch; ++i) {
          int n = b * kPerBatch + i;
          records.push_back(MakeRecord(repo, n, 1000 + n, {"Go"}));
        }
        auto n = store_->WriteBatch(records, MakeJob(repo, repo, 1), nullptr);
        EXPECT_TRUE(n.ok() && *n == kPerBatch);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(*store_->TotalRecords(), kWriters * kBatches * kPerBatch);
  for (int w = 0; w < kWriters; ++w) {
    EXPECT_EQ(*store_->RecordCount(fmt::format("repo{}", w)), kBatches * kPerBatch);
  }
  EXPECT_EQ(*store_->Count(nullptr), kWriters * kBatches * kPerBatch);
}

TEST_F(RecordStoreTest, CompactKeepsDataAndSizeIsReported) {
  WriteDataset();
  EXPECT_GT(store_->ApproximateSize(), 0);
  ASSERT_TRUE(store_->Compact().ok());
  EXPECT_GT(store_->ApproximateSize(), 0);
  EXPECT_EQ(ScanAll(*store_, nullptr).ids, StoreOrder(Dataset()));
  TestFilter go = LangFilter("Go");
  EXPECT_EQ(*store_->Count(&go), 12);  // languages cycle with period 6; two of them have Go
}

}  // namespace
}  // namespace fixmine::storage
