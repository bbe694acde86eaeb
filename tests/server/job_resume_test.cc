// Jobs survive a killed server: the restarted server resumes them, and the store ends with
// exactly one record per non-merge commit. Also: cancelling a running job.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "client/fixmine_client.h"
#include "fmt/format.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

// Builds `n` linear commits quickly with git fast-import, each editing one of a few files.
void FastHistory(testutil::GitRepo& repo, int n) {
  std::string stream;
  for (int i = 1; i <= n; ++i) {
    std::string msg = fmt::format("change {}\n", i);
    std::string body;
    for (int l = 0; l < 40; ++l) body += fmt::format("line {} of version {}\n", l, i);
    stream += fmt::format(
        "commit refs/heads/main\nmark :{}\ncommitter Ada <ada@example.com> {} +0000\n"
        "data {}\n{}",
        i, 1700000000 + i * 60, msg.size(), msg);
    if (i > 1) stream += fmt::format("from :{}\n", i - 1);
    stream += fmt::format("M 100644 inline src/file{}.c\ndata {}\n{}\n", i % 7, body.size(), body);
  }
  testutil::TempDir tmp;
  std::string path = tmp.path() + "/stream";
  {
    std::ofstream f(path, std::ios::binary);
    f << stream;
  }
  repo.Git("fast-import --quiet < " + testutil::ShellQuote(path));
  repo.Git("reset -q --hard main");
}

bool Ended(fixmine::v1::JobState s) {
  return s == fixmine::v1::SUCCEEDED || s == fixmine::v1::FAILED || s == fixmine::v1::CANCELLED;
}

TEST(JobResume, KilledServerResumesTheJobWithoutLossOrDuplicates) {
  testutil::GitRepo repo;
  const int kCommits = 1500;
  FastHistory(repo, kCommits);
  bool killed_mid_job = false;
  testutil::TestServer server(repo.path(), {"--mine-threads", "1"});
  ASSERT_TRUE(server.Start());
  {
    client::FixmineClient c(server.address(), "");
    ASSERT_TRUE(c.AddRepository(repo.path(), "big").ok());
    fixmine::v1::StartMiningRequest req;
    req.set_repo("big");
    auto job = c.StartMining(req);
    ASSERT_TRUE(job.ok()) << job.status();
    // Wait (bounded) until some records are written, then kill without any drain.
    for (int i = 0; i < 1000; ++i) {
      auto j = c.GetJob(job->id());
      ASSERT_TRUE(j.ok());
      if (j->records_written() > 0 || Ended(j->state())) {
        killed_mid_job = !Ended(j->state());
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  server.Kill();
  ASSERT_TRUE(server.Start());
  client::FixmineClient c(server.address(), "");
  auto jobs = c.ListJobs("big");
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  std::string id = (*jobs)[0].id();
  fixmine::v1::Job last;
  ASSERT_TRUE(c.WatchJob(id, [&](const fixmine::v1::Job& j) { last = j; }).ok());
  EXPECT_EQ(last.state(), fixmine::v1::SUCCEEDED) << last.error();
  EXPECT_TRUE(killed_mid_job) << "the job ended before the kill; the test proved nothing";
  EXPECT_EQ(last.attempts(), 2);
  EXPECT_GT(last.already_present(), 0);
  auto count = c.CountRecords("");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, kCommits);
  // Every record id is distinct and every commit is present.
  std::set<std::string> commits;
  fixmine::v1::StreamRecordsRequest sr;
  ASSERT_TRUE(c.StreamRecords(sr, [&](const auto& b) {
                 for (const auto& r : b.records()) EXPECT_TRUE(commits.insert(r.commit()).second);
                 return true;
               }).ok());
  EXPECT_EQ(commits.size(), static_cast<size_t>(kCommits));
}

TEST(JobResume, CancelStopsARunningJobAndKeepsWrittenRecords) {
  testutil::GitRepo repo;
  const int kCommits = 4000;
  FastHistory(repo, kCommits);
  testutil::TestServer server(repo.path(), {"--mine-threads", "1"});
  ASSERT_TRUE(server.Start());
  client::FixmineClient c(server.address(), "");
  ASSERT_TRUE(c.AddRepository(repo.path(), "big").ok());
  fixmine::v1::StartMiningRequest req;
  req.set_repo("big");
  auto job = c.StartMining(req);
  ASSERT_TRUE(job.ok());
  // A second job for the same repository is refused while the first is queued or runs.
  auto second = c.StartMining(req);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  auto cancelled = c.CancelJob(job->id());
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  fixmine::v1::Job last;
  ASSERT_TRUE(c.WatchJob(job->id(), [&](const fixmine::v1::Job& j) { last = j; }).ok());
  ASSERT_TRUE(Ended(last.state()));
  auto count = c.CountRecords("");
  ASSERT_TRUE(count.ok());
  // The cancel came right after the start of a 4000-commit job: it ended the job early, and
  // what the job wrote is kept and counted.
  ASSERT_EQ(last.state(), fixmine::v1::CANCELLED) << last.error();
  EXPECT_EQ(*count, last.records_written());
  EXPECT_LT(*count, kCommits);
  // Mining again completes the repository.
  auto again = c.StartMining(req);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_TRUE(c.WatchJob(again->id(), [&](const fixmine::v1::Job& j) { last = j; }).ok());
  EXPECT_EQ(last.state(), fixmine::v1::SUCCEEDED);
  EXPECT_EQ(*c.CountRecords(""), kCommits);
}

}  // namespace
}  // namespace fixmine
