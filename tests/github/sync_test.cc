// github/sync.h with a scripted HTTP client and a real store: what a failing or hostile API
// turns into (no waits: one try per request), and that the token never reaches an error.
#include "github/sync.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <deque>
#include <filesystem>

namespace fixmine::github {
namespace {

constexpr char kToken[] = "ghp_secretTokenValue42";
constexpr char kApi[] = "https://api.example.test";

// Answers requests in order from a script; records what was asked.
class ScriptedHttp final : public HttpClient {
 public:
  std::deque<absl::StatusOr<HttpResponse>> script;
  std::vector<std::pair<std::string, std::vector<std::string>>> asked;

  absl::StatusOr<HttpResponse> Get(const std::string& url, const std::vector<std::string>& headers,
                                   const std::atomic<bool>*) override {
    asked.emplace_back(url, headers);
    if (script.empty()) return HttpResponse{200, {}, "[]"};
    auto r = script.front();
    script.pop_front();
    return r;
  }
};

HttpResponse Answer(long status, std::string body,
                    std::map<std::string, std::string> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

class SyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fixmine-sync-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto store = storage::RecordStore::Open(dir_ + "/store");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    gh_ = std::move(*storage::GithubStore::Of(store_.get()));
    options_.api_url = kApi;
    options_.token = kToken;
    options_.max_attempts = 1;
  }
  void TearDown() override {
    gh_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  absl::Status Sync() {
    std::atomic<bool> cancel{false};
    return SyncRepository(options_, &http_, gh_.get(), "calc", "acme/calc", cancel, nullptr);
  }

  std::string dir_;
  std::unique_ptr<storage::RecordStore> store_;
  std::unique_ptr<storage::GithubStore> gh_;
  SyncOptions options_;
  ScriptedHttp http_;
};

TEST_F(SyncTest, AnEchoedTokenIsScrubbedFromTheError) {
  http_.script.emplace_back(
      Answer(401, std::string("{\"message\": \"Bad credentials ") + kToken + "\"}"));
  absl::Status st = Sync();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(std::string(st.message()).find(kToken), std::string::npos) << st;
  EXPECT_NE(std::string(st.message()).find("[token]"), std::string::npos) << st;
  EXPECT_NE(std::string(st.message()).find("HTTP 401"), std::string::npos) << st;
  EXPECT_NE(std::string(st.message()).find("--github-token-file"), std::string::npos) << st;
  // The token went to the API, as a bearer token.
  ASSERT_EQ(http_.asked.size(), 1u);
  EXPECT_NE(std::find(http_.asked[0].second.begin(), http_.asked[0].second.end(),
                      std::string("Authorization: Bearer ") + kToken),
            http_.asked[0].second.end());
}

TEST_F(SyncTest, ALinkToAnotherHostIsNotFollowed) {
  http_.script.emplace_back(
      Answer(200, "[]", {{"link", "<https://evil.example.test/steal?page=2>; rel=\"next\""}}));
  absl::Status st = Sync();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("not on the configured API host"), std::string::npos)
      << st;
  EXPECT_EQ(http_.asked.size(), 1u);  // nothing was sent to the other host
}

TEST_F(SyncTest, ServerErrorsFailAfterTheTriesAndNotFoundSaysWhatToCheck) {
  http_.script.emplace_back(Answer(503, "down"));
  absl::Status st = Sync();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("HTTP 503"), std::string::npos) << st;
  http_.script.emplace_back(Answer(404, "{\"message\": \"Not Found\"}"));
  st = Sync();
  EXPECT_NE(std::string(st.message()).find("check the repository's --github"), std::string::npos)
      << st;
  // A 403 that is no rate limit is an error, not a wait.
  http_.script.emplace_back(Answer(403, "{\"message\": \"Resource not accessible\"}",
                                   {{"x-ratelimit-remaining", "4000"}}));
  st = Sync();
  EXPECT_NE(std::string(st.message()).find("HTTP 403"), std::string::npos) << st;
}

TEST_F(SyncTest, ATransportErrorIsNamedAndAPlainRunSucceeds) {
  http_.script.emplace_back(absl::UnavailableError("GET x: Couldn't connect to server"));
  absl::Status st = Sync();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(std::string(st.message()).find("Couldn't connect"), std::string::npos);
  // Empty listings everywhere: the sync completes and records where the next one starts.
  http_.asked.clear();
  ASSERT_TRUE(Sync().ok());
  EXPECT_EQ(http_.asked.size(), 3u);  // issues, pulls, comments
  EXPECT_EQ(http_.asked[0].first, std::string(kApi) +
                                      "/repos/acme/calc/issues?state=all&sort=updated&direction=asc"
                                      "&per_page=100");
  EXPECT_EQ(gh_->GetSyncState("calc")->phase(), "");
}

}  // namespace
}  // namespace fixmine::github
