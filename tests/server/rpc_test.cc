// The gRPC API through the C++ client library, against the real fixmined on loopback.
#include <gtest/gtest.h>

#include <set>

#include "client/fixmine_client.h"
#include "server/resume_token.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

using client::FixmineClient;

TEST(ResumeToken, RoundTripsAndRejectsOtherFiltersAndGarbage) {
  storage::ScanPosition pos{"records", std::string("demo\0\x01\x02", 7)};
  std::string t = server::EncodeResumeToken(pos, "lang = \"Go\"");
  auto back = server::DecodeResumeToken(t, "lang = \"Go\"");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->index, pos.index);
  EXPECT_EQ(back->last_key, pos.last_key);
  auto other = server::DecodeResumeToken(t, "lang = \"C\"");
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server::DecodeResumeToken("!!", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server::DecodeResumeToken(t.substr(0, t.size() - 4), "lang = \"Go\"").status().code(),
            absl::StatusCode::kInvalidArgument);
}

class Rpc : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 30; ++i) {
      repo_.Write(i % 2 ? "src/x.py" : "src/y.c", "line " + std::to_string(i) + "\n");
      repo_.CommitAll("change " + std::to_string(i) + "\n");
    }
    server_ = std::make_unique<testutil::TestServer>(repo_.path());
    ASSERT_TRUE(server_->Start());
    client_ = std::make_unique<FixmineClient>(server_->address(), "");
  }
  testutil::GitRepo repo_;
  std::unique_ptr<testutil::TestServer> server_;
  std::unique_ptr<FixmineClient> client_;
};

TEST_F(Rpc, JobLifecycleWatchAndPagination) {
  auto repo = client_->AddRepository(repo_.path(), "r");
  ASSERT_TRUE(repo.ok()) << repo.status();
  EXPECT_EQ(repo->local_path().empty(), false);
  fixmine::v1::StartMiningRequest req;
  req.set_repo("r");
  auto job = client_->StartMining(req);
  ASSERT_TRUE(job.ok()) << job.status();
  std::vector<fixmine::v1::Job> events;
  absl::Status st =
      client_->WatchJob(job->id(), [&](const fixmine::v1::Job& j) { events.push_back(j); });
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().state(), fixmine::v1::SUCCEEDED);
  EXPECT_EQ(events.back().records_written(), 30);

  auto jobs = client_->ListJobs("r");
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].id(), job->id());

  // Pages of 7 cover the 30 records exactly once.
  std::set<std::string> seen;
  fixmine::v1::ListRecordsRequest lr;
  lr.set_page_size(7);
  int pages = 0;
  for (;;) {
    auto page = client_->ListRecords(lr);
    ASSERT_TRUE(page.ok()) << page.status();
    ++pages;
    for (const auto& r : page->records()) EXPECT_TRUE(seen.insert(r.id()).second) << r.id();
    if (page->next_page_token().empty()) break;
    lr.set_page_token(page->next_page_token());
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(seen.size(), 30u);
  EXPECT_EQ(pages, 5);

  auto one = client_->GetRecord(*seen.begin());
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->repo(), "r");

  auto stats = client_->GetStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->records(), 30);
  EXPECT_EQ(stats->repositories(), 1);
}

TEST_F(Rpc, StatusCodesForBadRequests) {
  ASSERT_TRUE(client_->AddRepository(repo_.path(), "r").ok());
  EXPECT_EQ(client_->CountRecords("lang =").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->CountRecords(std::string(5000, 'a')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->GetRecord("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->GetRecord("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client_->GetRepository("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client_->GetJob("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client_->AddRepository("/", "root").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(client_->AddRepository(repo_.path(), "r").status().code(),
            absl::StatusCode::kAlreadyExists);
  fixmine::v1::StartMiningRequest bad;
  EXPECT_EQ(client_->StartMining(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad.set_repo("r");
  bad.set_max_commits(-1);
  EXPECT_EQ(client_->StartMining(bad).status().code(), absl::StatusCode::kInvalidArgument);
  fixmine::v1::ListRecordsRequest lr;
  lr.set_page_size(-1);
  EXPECT_EQ(client_->ListRecords(lr).status().code(), absl::StatusCode::kInvalidArgument);
  fixmine::v1::StreamRecordsRequest sr;
  sr.set_resume_token("garbage");
  absl::Status st = client_->StreamRecords(sr, [](const auto&) { return true; });
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(client_->Health().ok());
}

TEST_F(Rpc, StreamBatchesCarryTokensThatResumeExactly) {
  ASSERT_TRUE(client_->AddRepository(repo_.path(), "r").ok());
  fixmine::v1::StartMiningRequest req;
  req.set_repo("r");
  auto job = client_->StartMining(req);
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(client_->WatchJob(job->id(), [](const auto&) {}).ok());
  std::vector<std::string> all;
  fixmine::v1::StreamRecordsRequest sr;
  sr.set_filter("path:\"src/*.py\"");
  ASSERT_TRUE(client_
                  ->StreamRecords(sr,
                                  [&](const auto& b) {
                                    for (const auto& r : b.records()) all.push_back(r.id());
                                    return true;
                                  })
                  .ok());
  ASSERT_EQ(all.size(), 15u);
  // Stop after the first batch of a 4-record limit, then resume from its token.
  sr.set_limit(4);
  std::string token;
  std::vector<std::string> got;
  ASSERT_TRUE(client_
                  ->StreamRecords(sr,
                                  [&](const auto& b) {
                                    for (const auto& r : b.records()) got.push_back(r.id());
                                    token = b.resume_token();
                                    return true;
                                  })
                  .ok());
  ASSERT_EQ(got.size(), 4u);
  sr.set_limit(0);
  sr.set_resume_token(token);
  ASSERT_TRUE(client_
                  ->StreamRecords(sr,
                                  [&](const auto& b) {
                                    for (const auto& r : b.records()) got.push_back(r.id());
                                    return true;
                                  })
                  .ok());
  EXPECT_EQ(got, all);
}

}  // namespace
}  // namespace fixmine
