#include "tests/testutil/jobs.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <utility>

#include "tests/testutil/history.h"

namespace fixmine::testutil {

using fixmine::v1::Job;

bool JobEnded(fixmine::v1::JobState state) {
  return state == fixmine::v1::SUCCEEDED || state == fixmine::v1::FAILED ||
         state == fixmine::v1::CANCELLED;
}

absl::StatusOr<Job> StartJob(client::FixmineClient& c, const std::string& name) {
  fixmine::v1::StartMiningRequest req;
  req.set_repo(name);
  return c.StartMining(req);
}

absl::StatusOr<Job> AddAndStartJob(client::FixmineClient& c, const std::string& path,
                                   const std::string& name) {
  auto repo = c.AddRepository(path, name);
  if (!repo.ok()) return repo.status();
  return StartJob(c, name);
}

Job WatchToEnd(client::FixmineClient& c, const std::string& id) {
  Job last;
  absl::Status st = c.WatchJob(id, [&](const Job& j) { last = j; });
  EXPECT_TRUE(st.ok()) << "watching job " << id << ": " << st;
  return last;
}

Job MineToEnd(client::FixmineClient& c, const std::string& path, const std::string& name) {
  auto job = AddAndStartJob(c, path, name);
  EXPECT_TRUE(job.ok()) << job.status();
  if (!job.ok()) return {};
  return WatchToEnd(c, job->id());
}

absl::StatusOr<Job> WaitForJob(client::FixmineClient& c, const std::string& id,
                               const std::function<bool(const Job&)>& done,
                               double timeout_seconds) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  while (true) {
    auto j = c.GetJob(id);
    if (!j.ok()) return j.status();
    if (done(*j) || JobEnded(j->state()) || std::chrono::steady_clock::now() >= deadline) {
      return j;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

absl::StatusOr<Job> WaitForRecords(client::FixmineClient& c, const std::string& id,
                                   double timeout_seconds) {
  return WaitForJob(
      c, id, [](const Job& j) { return j.records_written() > 0; }, timeout_seconds);
}

absl::StatusOr<Job> StartJobMidway(client::FixmineClient& c, const std::string& name,
                                   double timeout_seconds) {
  auto job = StartJob(c, name);
  if (!job.ok()) return job.status();
  auto j = WaitForRecords(c, job->id(), timeout_seconds);
  if (!j.ok()) return j.status();
  if (JobEnded(j->state()) || j->records_written() == 0) {
    return absl::FailedPreconditionError(
        "job " + j->id() + " of \"" + name + "\" was not mid-way (" +
        fixmine::v1::JobState_Name(j->state()) + ", " + std::to_string(j->records_written()) +
        " records written): the test needs more commits");
  }
  return j;
}

absl::StatusOr<Job> WaitEnded(client::FixmineClient& c, const std::string& id,
                              double timeout_seconds) {
  return WaitForJob(
      c, id, [](const Job&) { return false; }, timeout_seconds);
}

bool WaitRunning(client::FixmineClient& c, const std::string& id) {
  auto walking = [](const Job& j) {
    return j.state() == fixmine::v1::RUNNING && j.phase() == "walk";
  };
  auto j = WaitForJob(c, id, walking, 60);
  if (!j.ok() || !walking(*j)) return false;
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(500 * kSlowdown)));
  return true;
}

std::map<std::string, fixmine::v1::Record> AllRecords(client::FixmineClient& c, bool* ok) {
  std::map<std::string, fixmine::v1::Record> out;
  fixmine::v1::StreamRecordsRequest req;
  absl::Status st = c.StreamRecords(req, [&](const fixmine::v1::StreamRecordsResponse& b) {
    for (const auto& r : b.records()) {
      EXPECT_TRUE(out.emplace(r.id(), r).second) << "record " << r.id() << " streamed twice";
    }
    return true;
  });
  if (ok != nullptr) *ok = st.ok();
  EXPECT_TRUE(st.ok()) << st;
  return out;
}

HistoryServer::HistoryServer(int commits, const std::string& message_prefix,
                             std::vector<std::string> server_args)
    : commits_(commits),
      message_prefix_(message_prefix),
      server_(repo_.path(), std::move(server_args)) {}

bool HistoryServer::Start() {
  ImportLinearHistory(repo_, commits_, message_prefix_);
  if (!server_.Start()) {
    ADD_FAILURE() << "fixmined did not start; log " << server_.log_path();
    return false;
  }
  client::FixmineClient c(server_.address(), "");
  auto added = c.AddRepository(repo_.path(), "big");
  EXPECT_TRUE(added.ok()) << added.status();
  return added.ok();
}

}  // namespace fixmine::testutil
