// Formats, sampling and parallel read sessions over the gRPC API, against the real fixmined.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "client/fixmine_client.h"
#include "server/read_plan.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

using client::FixmineClient;

TEST(StreamName, RoundTripsAndRejectsDamage) {
  server::StreamSpec spec;
  spec.filter = "lang = \"Go\"";
  spec.format = "chat";
  spec.sample_rate = 0.25;
  spec.sample_seed = 42;
  spec.bucket = 2;
  spec.buckets = 5;
  std::string name = server::EncodeStreamName(spec);
  auto back = server::DecodeStreamName(name);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->filter, spec.filter);
  EXPECT_EQ(back->format, "chat");
  EXPECT_EQ(back->sample_rate, 0.25);
  EXPECT_EQ(back->sample_seed, 42u);
  EXPECT_EQ(back->bucket, 2u);
  EXPECT_EQ(back->buckets, 5u);
  std::string damaged = name;
  damaged[damaged.size() / 2] = damaged[damaged.size() / 2] == 'A' ? 'B' : 'A';
  for (const std::string& bad :
       {damaged, std::string("rs1.!!"), std::string("x"), name.substr(0, name.size() - 3)}) {
    EXPECT_EQ(server::DecodeStreamName(bad).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
  spec.bucket = 5;
  EXPECT_EQ(server::MakeReadPlan(spec).status().code(), absl::StatusCode::kInvalidArgument);
}

class ReadSessions : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    repo_ = new testutil::GitRepo();
    for (int i = 0; i < 60; ++i) {
      repo_->Write(i % 3 == 0 ? "tests/test_x.py" : "src/x.py", "v " + std::to_string(i) + "\n");
      repo_->CommitAll("change " + std::to_string(i) + "\n");
    }
    server_ = new testutil::TestServer(repo_->path());
    ASSERT_TRUE(server_->Start());
    FixmineClient c(server_->address(), "");
    ASSERT_TRUE(c.AddRepository(repo_->path(), "r").ok());
    fixmine::v1::StartMiningRequest req;
    req.set_repo("r");
    auto job = c.StartMining(req);
    ASSERT_TRUE(job.ok()) << job.status();
    ASSERT_TRUE(c.WatchJob(job->id(), [](const auto&) {}).ok());
  }
  static void TearDownTestSuite() {
    delete server_;
    delete repo_;
  }
  void SetUp() override { client_ = std::make_unique<FixmineClient>(server_->address(), ""); }

  std::vector<std::string> StreamIds(const fixmine::v1::StreamRecordsRequest& req) {
    std::vector<std::string> ids;
    absl::Status st = client_->StreamRecords(req, [&](const auto& b) {
      for (const auto& r : b.records()) ids.push_back(r.id());
      return true;
    });
    EXPECT_TRUE(st.ok()) << st;
    return ids;
  }

  static testutil::GitRepo* repo_;
  static testutil::TestServer* server_;
  std::unique_ptr<FixmineClient> client_;
};
testutil::GitRepo* ReadSessions::repo_ = nullptr;
testutil::TestServer* ReadSessions::server_ = nullptr;

TEST_F(ReadSessions, ThreeConcurrentStreamsReturnEveryRecordOnce) {
  std::vector<std::string> all = StreamIds({});
  ASSERT_EQ(all.size(), 60u);
  fixmine::v1::CreateReadSessionRequest req;
  req.set_max_streams(3);
  auto session = client_->CreateReadSession(req);
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_EQ(session->streams_size(), 3);
  EXPECT_GT(session->generation(), 0u);
  std::vector<std::vector<std::string>> got(3);
  std::vector<absl::Status> status(3);
  std::vector<std::thread> readers;
  readers.reserve(3);
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&, i] {
      FixmineClient own(server_->address(), "");  // one connection per reader, as in N processes
      fixmine::v1::ReadStreamRequest rs;
      rs.set_stream(session->streams(i));
      status[i] = own.ReadStream(rs, [&](const fixmine::v1::ReadStreamResponse& b) {
        for (const auto& r : b.records()) got[i].push_back(r.id());
        return true;
      });
    });
  }
  for (auto& t : readers) t.join();
  std::multiset<std::string> union_ids;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(status[i].ok()) << status[i];
    EXPECT_GT(got[i].size(), 5u) << "stream " << i << " is nearly empty";
    union_ids.insert(got[i].begin(), got[i].end());
  }
  EXPECT_EQ(union_ids.size(), 60u);
  EXPECT_EQ(std::set<std::string>(union_ids.begin(), union_ids.end()),
            std::set<std::string>(all.begin(), all.end()));
}

TEST_F(ReadSessions, StreamResumesWithItsOwnTokenOnly) {
  fixmine::v1::CreateReadSessionRequest req;
  req.set_max_streams(2);
  req.set_filter("path:\"src/*\"");
  auto session = client_->CreateReadSession(req);
  ASSERT_TRUE(session.ok());
  fixmine::v1::ReadStreamRequest rs;
  rs.set_stream(session->streams(0));
  std::vector<std::string> whole, parts;
  ASSERT_TRUE(client_
                  ->ReadStream(rs,
                               [&](const auto& b) {
                                 for (const auto& r : b.records()) whole.push_back(r.id());
                                 return true;
                               })
                  .ok());
  ASSERT_GT(whole.size(), 4u);
  rs.set_limit(3);
  std::string token;
  ASSERT_TRUE(client_
                  ->ReadStream(rs,
                               [&](const auto& b) {
                                 for (const auto& r : b.records()) parts.push_back(r.id());
                                 token = b.resume_token();
                                 EXPECT_EQ(b.record_count(), b.records_size());
                                 return true;
                               })
                  .ok());
  rs.set_limit(0);
  rs.set_resume_token(token);
  ASSERT_TRUE(client_
                  ->ReadStream(rs,
                               [&](const auto& b) {
                                 for (const auto& r : b.records()) parts.push_back(r.id());
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(parts, whole);
  // The token of stream 0 does not resume stream 1, nor StreamRecords.
  rs.set_stream(session->streams(1));
  EXPECT_EQ(client_->ReadStream(rs, [](const auto&) { return true; }).code(),
            absl::StatusCode::kInvalidArgument);
  fixmine::v1::StreamRecordsRequest sr;
  sr.set_filter("path:\"src/*\"");
  sr.set_resume_token(token);
  EXPECT_EQ(client_->StreamRecords(sr, [](const auto&) { return true; }).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ReadSessions, BadSessionRequests) {
  fixmine::v1::CreateReadSessionRequest req;
  req.set_max_streams(5000);
  EXPECT_EQ(client_->CreateReadSession(req).status().code(), absl::StatusCode::kInvalidArgument);
  req.set_max_streams(2);
  req.set_format("alpaca");
  auto bad = client_->CreateReadSession(req);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("commitpack"), std::string::npos);
  req.set_format("");
  req.set_sample_rate(2);
  EXPECT_EQ(client_->CreateReadSession(req).status().code(), absl::StatusCode::kInvalidArgument);
  fixmine::v1::ReadStreamRequest rs;
  rs.set_stream("rs1.not-a-stream");
  EXPECT_EQ(client_->ReadStream(rs, [](const auto&) { return true; }).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ReadSessions, StreamRecordsRendersFormats) {
  fixmine::v1::StreamRecordsRequest sr;
  sr.set_format("swe");
  int64_t records = 0;
  std::vector<std::string> rows;
  ASSERT_TRUE(client_
                  ->StreamRecords(sr,
                                  [&](const auto& b) {
                                    EXPECT_EQ(b.records_size(), 0);
                                    records += b.record_count();
                                    rows.insert(rows.end(), b.rendered().begin(),
                                                b.rendered().end());
                                    return true;
                                  })
                  .ok());
  EXPECT_EQ(records, 60);
  ASSERT_EQ(rows.size(), 60u);
  int with_tests = 0;
  for (const auto& row : rows) {
    EXPECT_TRUE(row.starts_with("{\"repo\":\"r\",\"instance_id\":\"r-")) << row;
    with_tests += row.find("\"test_patch\":\"diff --git a/tests/test_x.py") != std::string::npos;
  }
  EXPECT_EQ(with_tests, 20);
  sr.set_format("alpaca");
  absl::Status st = client_->StreamRecords(sr, [](const auto&) { return true; });
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("raw, commitpack, chat, sharegpt, swe, datatrove"),
            std::string::npos);
}

TEST_F(ReadSessions, SamplesAreStableSubsetsAndResume) {
  std::vector<std::string> all = StreamIds({});
  fixmine::v1::StreamRecordsRequest sr;
  sr.set_sample_seed(3);
  sr.set_sample_rate(0.2);
  std::vector<std::string> s20 = StreamIds(sr);
  sr.set_sample_rate(0.6);
  std::vector<std::string> s60 = StreamIds(sr);
  EXPECT_EQ(StreamIds(sr), s60);  // the same every time
  std::set<std::string> big(s60.begin(), s60.end());
  for (const auto& id : s20) EXPECT_TRUE(big.count(id)) << id;
  EXPECT_LT(s20.size(), s60.size());
  EXPECT_LT(s60.size(), all.size());
  EXPECT_GT(s20.size(), 2u);
  fixmine::v1::CountRecordsRequest cr;
  cr.set_sample_rate(0.6);
  cr.set_sample_seed(3);
  auto n = client_->CountRecords(cr);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->count(), static_cast<int64_t>(s60.size()));

  // Resume a sampled stream; the token is bound to the sample.
  sr.set_limit(2);
  std::string token;
  std::vector<std::string> parts;
  ASSERT_TRUE(client_
                  ->StreamRecords(sr,
                                  [&](const auto& b) {
                                    for (const auto& r : b.records()) parts.push_back(r.id());
                                    token = b.resume_token();
                                    return true;
                                  })
                  .ok());
  sr.set_limit(0);
  sr.set_resume_token(token);
  ASSERT_TRUE(client_
                  ->StreamRecords(sr,
                                  [&](const auto& b) {
                                    for (const auto& r : b.records()) parts.push_back(r.id());
                                    return true;
                                  })
                  .ok());
  EXPECT_EQ(parts, s60);
  sr.set_sample_rate(0.2);
  EXPECT_EQ(client_->StreamRecords(sr, [](const auto&) { return true; }).code(),
            absl::StatusCode::kInvalidArgument);
  for (double bad : {-0.1, 1.01}) {
    sr.set_resume_token("");
    sr.set_sample_rate(bad);
    EXPECT_EQ(client_->StreamRecords(sr, [](const auto&) { return true; }).code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
    cr.set_sample_rate(bad);
    EXPECT_EQ(client_->CountRecords(cr).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace fixmine
