// github/gharchive.h: which events become which items, gzip and plain files, bad lines.
#include "github/gharchive.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

namespace fixmine::github {
namespace {

using Item = fixmine::v1::ImportGithubEventsRequest::Item;

constexpr char kDump[] =
    R"({"type":"PushEvent","repo":{"name":"acme/calc"},"payload":{"ref":"x"}})"
    "\n"
    R"({"type":"IssuesEvent","repo":{"name":"acme/calc"},"payload":{"action":"opened","issue":{"number":1,"title":"Crash","body":null,"user":{"login":"bob"},"extra":[1,2]}}})"
    "\n"
    R"({"type":"IssueCommentEvent","repo":{"name":"acme/calc"},"payload":{"action":"created","issue":{"number":3,"pull_request":{"url":"u"}},"comment":{"id":9,"body":"LGTM"}}})"
    "\n"
    R"({"type":"PullRequestEvent","repo":{"name":"acme/calc"},"payload":{"action":"closed","number":3,"pull_request":{"number":3,"merged_at":"2023-11-14T22:13:20Z","merge_commit_sha":"ab"}}})"
    "\n"
    R"({"type":"IssuesEvent", broken)"
    "\n";

class GhArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fixmine-gharchive-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<Item> Read(const std::string& path, GhArchiveStats* stats, absl::Status* st) {
    std::vector<Item> items;
    *st = ReadGhArchive(
        path,
        [&](Item item) {
          items.push_back(std::move(item));
          return absl::OkStatus();
        },
        stats);
    return items;
  }

  std::string dir_;
};

TEST_F(GhArchiveTest, GzipDumpGivesIssuesCommentsAndPulls) {
  std::string path = dir_ + "/2023-11-14-22.json.gz";
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, kDump, sizeof(kDump) - 1), static_cast<int>(sizeof(kDump) - 1));
  gzclose(f);
  GhArchiveStats stats;
  absl::Status st;
  std::vector<Item> items = Read(path, &stats, &st);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(stats.lines, 5);
  EXPECT_EQ(stats.events, 3);
  EXPECT_EQ(stats.bad_lines, 1);
  ASSERT_EQ(items.size(), 3u);  // the issue; the comment (its issue is a pull request); the pull
  EXPECT_EQ(items[0].github_repo(), "acme/calc");
  EXPECT_EQ(items[0].issue().title(), "Crash");
  EXPECT_EQ(items[1].comment().body(), "LGTM");
  EXPECT_EQ(items[1].issue_number(), 3);
  EXPECT_EQ(items[2].pull().merge_commit_sha(), "ab");
}

TEST_F(GhArchiveTest, PlainJsonLinesAndErrors) {
  std::string path = dir_ + "/plain.json";
  std::ofstream(path) << kDump;
  GhArchiveStats stats;
  absl::Status st;
  EXPECT_EQ(Read(path, &stats, &st).size(), 3u);
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(Read(dir_ + "/missing.json.gz", &stats, &st).size(), 0u);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  // A visitor's error stops the read with it.
  st = ReadGhArchive(
      path, [](const Item&) { return absl::UnavailableError("server gone"); }, &stats);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace fixmine::github
