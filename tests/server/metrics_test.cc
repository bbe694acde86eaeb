// fixmined --metrics-listen and --log-format json: after known traffic, /metrics (scraped with
// a plain HTTP GET over loopback) shows the go-grpc-prometheus names with the right counts, and
// every stderr line is one JSON object with the call's or job's fields.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "client/fixmine_client.h"
#include "fmt/format.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

// GET http://127.0.0.1:PORT/PATH; returns the whole response (headers and body), or "" on
// failure. Bounded by a 10 s receive timeout.
std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  std::string req =
      fmt::format("GET {} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
  if (send(fd, req.data(), req.size(), 0) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return "";
  }
  std::string resp;
  char buf[8192];
  for (int i = 0; i < 100000; ++i) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return resp;
}

using Labels = std::map<std::string, std::string>;

// Samples of the text exposition format: (name, labels) -> value.
std::map<std::pair<std::string, Labels>, double> ParseMetrics(const std::string& text) {
  std::map<std::pair<std::string, Labels>, double> out;
  std::istringstream in(text);
  static const std::regex kLabel(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)")re");
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t brace = line.find('{');
    size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    std::string name = line.substr(0, std::min(brace, line.find(' ')));
    Labels labels;
    if (brace != std::string::npos) {
      std::string body = line.substr(brace + 1, line.rfind('}') - brace - 1);
      for (std::sregex_iterator it(body.begin(), body.end(), kLabel), end; it != end; ++it) {
        labels[(*it)[1]] = (*it)[2];
      }
    }
    out[{name, labels}] = std::stod(line.substr(space + 1));
  }
  return out;
}

google::protobuf::Struct Json(const std::string& text) {
  google::protobuf::Struct s;
  auto st = google::protobuf::util::JsonStringToMessage(text, &s);
  EXPECT_TRUE(st.ok()) << st.ToString() << ": " << text;
  return s;
}

std::string Str(const google::protobuf::Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? "" : it->second.string_value();
}

class MetricsTest : public ::testing::Test {
 protected:
  static constexpr int kCommits = 5;

  static void SetUpTestSuite() {
    repo_ = new testutil::GitRepo();
    for (int i = 0; i < kCommits; ++i) {
      repo_->Write("src/a.py", fmt::format("def f():\n    return {}\n", i));
      repo_->CommitAll(fmt::format("fix: change {}\n", i));
    }
    server_ = new testutil::TestServer(repo_->path(),
                                       {"--metrics-listen", "127.0.0.1:0", "--log-format", "json"});
    ASSERT_TRUE(server_->Start());

    // Known traffic: one repository added, one job watched to its end, one stream read, one
    // call that fails with NOT_FOUND.
    client::FixmineClient c(server_->address(), "");
    ASSERT_TRUE(c.AddRepository(repo_->path(), "r").ok());
    fixmine::v1::StartMiningRequest req;
    req.set_repo("r");
    auto job = c.StartMining(req);
    ASSERT_TRUE(job.ok()) << job.status();
    job_id_ = job->id();
    fixmine::v1::Job last;
    ASSERT_TRUE(c.WatchJob(job_id_, [&](const fixmine::v1::Job& j) { last = j; }).ok());
    ASSERT_EQ(last.state(), fixmine::v1::SUCCEEDED) << last.error();
    fixmine::v1::StreamRecordsRequest sr;
    ASSERT_TRUE(c.StreamRecords(sr, [&](const fixmine::v1::StreamRecordsResponse& b) {
                   ++batches_;
                   streamed_ += b.record_count();
                   return true;
                 }).ok());
    ASSERT_EQ(streamed_, kCommits);
    auto missing = c.GetRepository("no-such-repo");
    ASSERT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete repo_;
  }

  static std::vector<std::string> LogLines() {
    std::ifstream in(server_->log_path());
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) {
      if (!l.empty()) lines.push_back(l);
    }
    return lines;
  }

  // The metrics port, from the server's "serving metrics at http://HOST:PORT/metrics" log line
  // (the bound port, though --metrics-listen asked for port 0).
  static int MetricsPort() {
    static const std::regex kPort(R"(serving metrics at http://[^/]+:(\d+)/metrics)");
    for (const std::string& line : LogLines()) {
      std::smatch m;
      std::string message = Str(Json(line), "message");
      if (std::regex_search(message, m, kPort)) return std::stoi(m[1]);
    }
    return 0;
  }

  static testutil::GitRepo* repo_;
  static testutil::TestServer* server_;
  static std::string job_id_;
  static int batches_;
  static int64_t streamed_;
};

testutil::GitRepo* MetricsTest::repo_ = nullptr;
testutil::TestServer* MetricsTest::server_ = nullptr;
std::string MetricsTest::job_id_;
int MetricsTest::batches_ = 0;
int64_t MetricsTest::streamed_ = 0;

TEST_F(MetricsTest, ScrapeShowsGrpcAndFixmineCountsAfterKnownTraffic) {
  int port = MetricsPort();
  ASSERT_GT(port, 0) << "no \"serving metrics\" log line";
  std::string resp = HttpGet(port, "/metrics");
  ASSERT_NE(resp.find("200 OK"), std::string::npos) << resp.substr(0, 200);
  std::string body = resp.substr(resp.find("\r\n\r\n") + 4);
  EXPECT_NE(body.find("# TYPE grpc_server_handled_total counter"), std::string::npos);
  EXPECT_NE(body.find("# TYPE grpc_server_handling_seconds histogram"), std::string::npos);
  auto m = ParseMetrics(body);
  auto value = [&](const std::string& name, const Labels& labels) -> double {
    auto it = m.find({name, labels});
    return it == m.end() ? -1 : it->second;
  };
  const Labels add = {{"grpc_type", "unary"},
                      {"grpc_service", "fixmine.v1.AdminService"},
                      {"grpc_method", "AddRepository"}};
  const Labels get = {{"grpc_type", "unary"},
                      {"grpc_service", "fixmine.v1.AdminService"},
                      {"grpc_method", "GetRepository"}};
  const Labels stream = {{"grpc_type", "server_stream"},
                         {"grpc_service", "fixmine.v1.RecordService"},
                         {"grpc_method", "StreamRecords"}};
  auto with_code = [](Labels l, const std::string& code) {
    l["grpc_code"] = code;
    return l;
  };
  EXPECT_EQ(value("grpc_server_started_total", add), 1);
  EXPECT_EQ(value("grpc_server_handled_total", with_code(add, "OK")), 1);
  EXPECT_EQ(value("grpc_server_msg_received_total", add), 1);
  EXPECT_EQ(value("grpc_server_msg_sent_total", add), 1);
  EXPECT_EQ(value("grpc_server_handled_total", with_code(get, "NotFound")), 1);
  EXPECT_EQ(value("grpc_server_handled_total", with_code(get, "OK")), -1) << "no such sample";
  EXPECT_EQ(value("grpc_server_started_total", stream), 1);
  EXPECT_EQ(value("grpc_server_handled_total", with_code(stream, "OK")), 1);
  EXPECT_EQ(value("grpc_server_msg_sent_total", stream), batches_);
  EXPECT_EQ(value("grpc_server_handling_seconds_count", add), 1);
  EXPECT_GE(value("grpc_server_handling_seconds_sum", add), 0);
  Labels add_le = add;
  add_le["le"] = "+Inf";
  EXPECT_EQ(value("grpc_server_handling_seconds_bucket", add_le), 1);

  EXPECT_EQ(value("fixmine_commits_mined_total", {}), kCommits);
  EXPECT_EQ(value("fixmine_records_streamed_total", {}), streamed_);
  EXPECT_EQ(value("fixmine_jobs_finished_total", {{"state", "SUCCEEDED"}}), 1);
  EXPECT_EQ(value("fixmine_job_duration_seconds_count", {{"state", "SUCCEEDED"}}), 1);
  EXPECT_EQ(value("fixmine_store_records", {}), kCommits);
  EXPECT_GT(value("fixmine_store_size_bytes", {}), 0);
  EXPECT_EQ(value("fixmine_jobs_active", {}), 0);
}

TEST_F(MetricsTest, JsonLogHasOneObjectPerLineWithCallAndJobFields) {
  std::vector<std::string> lines = LogLines();
  ASSERT_FALSE(lines.empty());
  static const std::regex kTime(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  bool saw_not_found = false, saw_job_end = false, saw_job_start = false;
  for (const std::string& line : lines) {
    ASSERT_EQ(line.front(), '{') << line;
    google::protobuf::Struct s = Json(line);
    EXPECT_TRUE(std::regex_match(Str(s, "time"), kTime)) << line;
    EXPECT_FALSE(Str(s, "level").empty()) << line;
    EXPECT_FALSE(Str(s, "message").empty()) << line;
    if (Str(s, "method") == "/fixmine.v1.AdminService/GetRepository") {
      EXPECT_EQ(Str(s, "code"), "NotFound") << line;
      EXPECT_EQ(Str(s, "level"), "warn") << line;
      EXPECT_NE(Str(s, "peer").find("127.0.0.1"), std::string::npos) << line;
      EXPECT_TRUE(s.fields().contains("duration_ms")) << line;
      EXPECT_GE(s.fields().at("duration_ms").number_value(), 0);
      EXPECT_NE(Str(s, "error").find("no-such-repo"), std::string::npos) << line;
      saw_not_found = true;
    }
    if (Str(s, "job") == job_id_) {
      EXPECT_EQ(Str(s, "repository"), "r") << line;
      if (Str(s, "message").find("started") != std::string::npos) saw_job_start = true;
      if (Str(s, "message").find("ended: SUCCEEDED") != std::string::npos) {
        EXPECT_TRUE(s.fields().contains("duration_ms")) << line;
        saw_job_end = true;
      }
    }
  }
  EXPECT_TRUE(saw_not_found);
  EXPECT_TRUE(saw_job_start);
  EXPECT_TRUE(saw_job_end);
}

}  // namespace
}  // namespace fixmine
