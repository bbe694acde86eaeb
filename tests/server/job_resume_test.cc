// Jobs survive a killed server: the restarted server resumes them, and the store ends with
// exactly one record per non-merge commit. Also: cancelling a running job.
#include <gtest/gtest.h>

#include <set>

#include "client/fixmine_client.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/jobs.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

using testutil::JobEnded;

TEST(JobResume, KilledServerResumesTheJobWithoutLossOrDuplicates) {
  const int kCommits = 1500;
  testutil::HistoryServer h(kCommits);
  ASSERT_TRUE(h.Start());
  testutil::TestServer& server = h.server();
  {
    client::FixmineClient c(server.address(), "");
    // Once some records are written, kill without any drain.
    auto job = testutil::StartJobMidway(c, "big");
    ASSERT_TRUE(job.ok()) << job.status();
  }
  server.Kill();
  ASSERT_TRUE(server.Start());
  client::FixmineClient c(server.address(), "");
  auto jobs = c.ListJobs("big");
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  fixmine::v1::Job last = testutil::WatchToEnd(c, (*jobs)[0].id());
  EXPECT_EQ(last.state(), fixmine::v1::SUCCEEDED) << last.error();
  EXPECT_EQ(last.attempts(), 2);
  EXPECT_GT(last.already_present(), 0);
  auto count = c.CountRecords("");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, kCommits);
  // Every record id is distinct (AllRecords checks) and every commit is present.
  std::set<std::string> commits;
  for (const auto& [id, r] : testutil::AllRecords(c)) commits.insert(r.commit());
  EXPECT_EQ(commits.size(), static_cast<size_t>(kCommits));
}

TEST(JobResume, CancelStopsARunningJobAndKeepsWrittenRecords) {
  const int kCommits = 4000;
  testutil::HistoryServer h(kCommits);
  ASSERT_TRUE(h.Start());
  client::FixmineClient c(h.server().address(), "");
  auto job = testutil::StartJob(c, "big");
  ASSERT_TRUE(job.ok()) << job.status();
  // A second job for the same repository is refused while the first is queued or runs.
  auto second = testutil::StartJob(c, "big");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  auto cancelled = c.CancelJob(job->id());
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  fixmine::v1::Job last = testutil::WatchToEnd(c, job->id());
  ASSERT_TRUE(JobEnded(last.state()));
  auto count = c.CountRecords("");
  ASSERT_TRUE(count.ok());
  // The cancel came right after the start of a 4000-commit job: it ended the job early, and
  // what the job wrote is kept and counted.
  ASSERT_EQ(last.state(), fixmine::v1::CANCELLED) << last.error();
  EXPECT_EQ(*count, last.records_written());
  EXPECT_LT(*count, kCommits);
  // Mining again completes the repository.
  auto again = testutil::StartJob(c, "big");
  ASSERT_TRUE(again.ok()) << again.status();
  last = testutil::WatchToEnd(c, again->id());
  EXPECT_EQ(last.state(), fixmine::v1::SUCCEEDED);
  EXPECT_EQ(*c.CountRecords(""), kCommits);
}

}  // namespace
}  // namespace fixmine
