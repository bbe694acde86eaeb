// storage/github_store.h on a real RocksDB store: unchanged writes count nothing, instances by
// filter and position, everything removed with its repository.
#include "storage/github_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "github/linker.h"
#include "storage/maintenance.h"

namespace fixmine::storage {
namespace {

class GithubStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fixmine-ghstore-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto store = RecordStore::Open(dir_ + "/store");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto gh = GithubStore::Of(store_.get());
    ASSERT_TRUE(gh.ok()) << gh.status();
    gh_ = std::move(*gh);
    fixmine::v1::Repository repo;
    repo.set_name("calc");
    repo.set_github("acme/calc");
    ASSERT_TRUE(store_->PutRepository(repo).ok());
  }
  void TearDown() override {
    gh_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  static fixmine::v1::Issue MakeIssue(const std::string& repo, int64_t n) {
    fixmine::v1::Issue i;
    i.set_repo(repo);
    i.set_number(n);
    i.set_title("issue " + std::to_string(n));
    return i;
  }

  std::string dir_;
  std::unique_ptr<RecordStore> store_;
  std::unique_ptr<GithubStore> gh_;
};

TEST_F(GithubStoreTest, UnchangedObjectsCountNothing) {
  GithubWrite w;
  w.issues = {MakeIssue("calc", 1), MakeIssue("calc", 2)};
  w.etags.push_back({"calc", "https://api/x", "W/\"1\"\nhttps://api/x?page=2"});
  auto n = gh_->Write(w);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2);
  n = gh_->Write(w);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  w.issues[1].set_title("changed");
  EXPECT_EQ(*gh_->Write(w), 1);
  auto etag = gh_->GetEtag("calc", "https://api/x");
  ASSERT_TRUE(etag.ok() && etag->has_value());
  EXPECT_EQ((*etag)->etag, "W/\"1\"");
  EXPECT_EQ((*etag)->next_url, "https://api/x?page=2");
  EXPECT_FALSE(gh_->GetEtag("calc", "https://api/y")->has_value());
  GithubWrite bad;
  bad.issues = {MakeIssue("", 1)};
  EXPECT_EQ(gh_->Write(bad).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(GithubStoreTest, InstancesByFilterAndPosition) {
  std::vector<fixmine::v1::Instance> instances;
  for (int64_t n : {3, 10, 7}) {
    fixmine::v1::Instance i;
    i.set_repo_name("calc");
    i.set_pull_number(n);
    i.set_instance_id(github::InstanceId("acme/calc", n));
    instances.push_back(i);
  }
  ASSERT_TRUE(gh_->ReplaceInstances("calc", instances, {}).ok());
  // Other objects of the repository share its prefix and are not instances.
  GithubWrite w;
  w.issues = {MakeIssue("calc", 1)};
  ASSERT_TRUE(gh_->Write(w).ok());
  std::vector<std::string> ids;
  std::string third_key;
  ASSERT_TRUE(gh_->ScanInstances(nullptr, "",
                                 [&](const auto& i, const std::string& key) {
                                   ids.push_back(i.instance_id());
                                   if (ids.size() == 2) third_key = key;
                                   return true;
                                 })
                  .ok());
  EXPECT_EQ(ids, (std::vector<std::string>{"acme__calc-3", "acme__calc-7", "acme__calc-10"}));
  ids.clear();
  ASSERT_TRUE(gh_->ScanInstances(nullptr, third_key,
                                 [&](const auto& i, const std::string&) {
                                   ids.push_back(i.instance_id());
                                   return true;
                                 })
                  .ok());
  EXPECT_EQ(ids, (std::vector<std::string>{"acme__calc-10"}));
  auto filter = InstanceFilter::Parse("repo = calc AND pull_number >= 7");
  ASSERT_TRUE(filter.ok());
  ids.clear();
  ASSERT_TRUE(gh_->ScanInstances(filter->get(), "",
                                 [&](const auto& i, const std::string&) {
                                   ids.push_back(i.instance_id());
                                   return true;
                                 })
                  .ok());
  EXPECT_EQ(ids, (std::vector<std::string>{"acme__calc-7", "acme__calc-10"}));
  EXPECT_EQ(gh_->ScanInstances(nullptr, "zz", [](const auto&, const auto&) { return true; }).code(),
            absl::StatusCode::kInvalidArgument);
  // A replacement drops the instances it does not name.
  ASSERT_TRUE(gh_->ReplaceInstances("calc", {instances[0]}, {}).ok());
  int count = 0;
  ASSERT_TRUE(gh_->ScanInstances(nullptr, "",
                                 [&](const auto&, const auto&) {
                                   ++count;
                                   return true;
                                 })
                  .ok());
  EXPECT_EQ(count, 1);
}

TEST_F(GithubStoreTest, RemovedWithTheRepository) {
  fixmine::v1::Repository other;
  other.set_name("calc2");
  ASSERT_TRUE(store_->PutRepository(other).ok());
  GithubWrite w;
  w.issues = {MakeIssue("calc", 1), MakeIssue("calc2", 1)};
  fixmine::v1::PullRequest p;
  p.set_repo("calc");
  p.set_number(3);
  w.pulls = {p};
  fixmine::v1::IssueComment c;
  c.set_repo("calc");
  c.set_issue_number(1);
  c.set_id(5);
  w.comments = {c};
  w.etags.push_back({"calc", "u", "e\n"});
  w.state.emplace("calc", fixmine::v1::GithubSyncState());
  w.state->second.set_since("2023-11-14T22:13:20Z");
  ASSERT_TRUE(gh_->Write(w).ok());
  ASSERT_TRUE(store_->RemoveRepository("calc").ok());
  EXPECT_FALSE(gh_->GetIssue("calc", 1)->has_value());
  EXPECT_FALSE(gh_->GetPull("calc", 3)->has_value());
  EXPECT_FALSE(gh_->GetEtag("calc", "u")->has_value());
  EXPECT_EQ(gh_->GetSyncState("calc")->since(), "");
  int comments = 0;
  ASSERT_TRUE(gh_->ScanComments("calc", 1, [&](const auto&) { return ++comments, true; }).ok());
  EXPECT_EQ(comments, 0);
  // The other repository (whose name extends this one's) keeps its issue.
  EXPECT_TRUE(gh_->GetIssue("calc2", 1)->has_value());
}

TEST_F(GithubStoreTest, BackupHoldsItAndVerifyChecksIt) {
  GithubWrite w;
  w.issues = {MakeIssue("calc", 1)};
  ASSERT_TRUE(gh_->Write(w).ok());
  auto report = VerifyStore(store_.get());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->problems.empty());
  auto info = CheckpointStore(store_.get(), dir_ + "/backup");
  ASSERT_TRUE(info.ok()) << info.status();
  gh_.reset();
  store_.reset();
  auto copy = RecordStore::Open(dir_ + "/backup");
  ASSERT_TRUE(copy.ok()) << copy.status();
  auto gh = GithubStore::Of(copy->get());
  ASSERT_TRUE(gh.ok());
  auto issue = (*gh)->GetIssue("calc", 1);
  ASSERT_TRUE(issue.ok() && issue->has_value());
  EXPECT_EQ((*issue)->title(), "issue 1");
}

}  // namespace
}  // namespace fixmine::storage
