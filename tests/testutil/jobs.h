#pragma once
// Mining jobs driven through the real server's client API: register and mine a repository,
// wait (always bounded) for a job to reach a state.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/fixmine_client.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/test_server.h"

namespace fixmine::testutil {

// True for the states a job does not leave: SUCCEEDED, FAILED and CANCELLED.
bool JobEnded(fixmine::v1::JobState state);

// Starts mining the registered repository `name` with default options; the job as started.
absl::StatusOr<fixmine::v1::Job> StartJob(client::FixmineClient& c, const std::string& name);

// Registers `path` as `name` and starts mining it; the job as started.
absl::StatusOr<fixmine::v1::Job> AddAndStartJob(client::FixmineClient& c, const std::string& path,
                                                const std::string& name);

// Follows job `id` with WatchJob until it ends; its last state. A failed watch fails the current
// test and returns the last state seen (a default Job when none was).
fixmine::v1::Job WatchToEnd(client::FixmineClient& c, const std::string& id);

// Registers `path` as `name`, mines it and returns the job's final state (a failed call fails
// the current test and returns a default Job).
fixmine::v1::Job MineToEnd(client::FixmineClient& c, const std::string& path,
                           const std::string& name);

// Polls job `id` (every 5 ms) until `done` holds for it or it has ended, for at most
// `timeout_seconds`; returns the last state read, which the caller checks (the loop may have
// timed out). A failed GetJob ends the wait with that error.
absl::StatusOr<fixmine::v1::Job> WaitForJob(
    client::FixmineClient& c, const std::string& id,
    const std::function<bool(const fixmine::v1::Job&)>& done, double timeout_seconds);

// WaitForJob until the job has written its first records (or ended): the moment to kill,
// cancel or back up a job mid-way.
absl::StatusOr<fixmine::v1::Job> WaitForRecords(client::FixmineClient& c, const std::string& id,
                                                double timeout_seconds = 60);

// Starts mining the registered repository `name` and waits (bounded) until its job has written
// its first records and still runs: the moment to kill, cancel, back up or fail the disk under a
// job mid-way. The job as then; the start's or GetJob's error; FAILED_PRECONDITION when the job
// ended first or wrote nothing in time (the test would prove nothing: give it more commits).
absl::StatusOr<fixmine::v1::Job> StartJobMidway(client::FixmineClient& c, const std::string& name,
                                                double timeout_seconds = 60);

// WaitForJob until the job has ended.
absl::StatusOr<fixmine::v1::Job> WaitEnded(client::FixmineClient& c, const std::string& id,
                                           double timeout_seconds);

// Waits (bounded, 60 s) until job `id` is RUNNING in its "walk" phase (which its worker reports
// as its walk starts) and then 500 ms more (times kSlowdown), so that its worker is inside the
// walk. False when it never got there (or GetJob failed).
bool WaitRunning(client::FixmineClient& c, const std::string& id);

// Every record in the server's store by id, streamed with an empty filter. A record id seen
// twice fails the current test. `ok` (optional) is false when the stream failed, which fails
// the current test too.
std::map<std::string, fixmine::v1::Record> AllRecords(client::FixmineClient& c, bool* ok = nullptr);

// The set-up of the tests that kill, cancel or back up a job mid-way: a synthetic history
// (ImportLinearHistory) served by a TestServer, registered as "big".
class HistoryServer {
 public:
  // `commits` commits whose messages start with `message_prefix`; the server runs with
  // `server_args`.
  explicit HistoryServer(int commits, const std::string& message_prefix = "",
                         std::vector<std::string> server_args = {"--mine-threads", "1"});

  // Imports the history, starts the server and registers the repository; false (after failing
  // the current test) when one of them failed.
  bool Start();

  GitRepo& repo() { return repo_; }
  TestServer& server() { return server_; }

 private:
  int commits_;
  std::string message_prefix_;
  GitRepo repo_;
  TestServer server_;
};

}  // namespace fixmine::testutil
