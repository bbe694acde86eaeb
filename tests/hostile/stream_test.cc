// Hostile clients (docs/security.md, "Hostile-input catalogue"): a client that stops reading
// (the server's memory stays bounded, the idle deadline frees the stream), one that vanishes,
// cancels and short deadlines mid-stream and mid-job, the stream and job caps, and 200
// concurrent streams with jobs running.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "absl/strings/match.h"
#include "tests/hostile/hostile_util.h"

namespace fixmine::hostile {
namespace {

using absl::StatusCode;
using fixmine::v1::Job;

// Writes `commits` commits with fast-import into a new repository `root/name`: commit i sets
// f.txt to "i" and carries a message of `message_bytes` bytes (at least a subject line).
std::string FastImportRepo(const std::string& root, const std::string& name, int commits,
                           size_t message_bytes) {
  std::string repo = InitRepo(root, name);
  std::string stream;
  for (int i = 0; i < commits; ++i) {
    std::string msg = "commit " + std::to_string(i) + "\n";
    if (message_bytes > msg.size()) {
      std::string body(message_bytes - msg.size() - 1, 'a');
      for (size_t k = 0; k < body.size(); ++k) body[k] = static_cast<char>('a' + (k * 7 + i) % 26);
      for (size_t k = 70; k < body.size(); k += 71) body[k] = '\n';
      msg += "\n" + body;
    }
    std::string content = std::to_string(i) + "\n";
    stream += fmt::format("commit refs/heads/main\ncommitter Cy <cy@example.com> {} +0000\n",
                          1700000000 + i);
    stream += fmt::format("data {}\n{}\n", msg.size(), msg);
    stream += fmt::format("M 644 inline f.txt\ndata {}\n{}\n", content.size(), content);
  }
  WriteFile(repo + "/.import", stream);
  Git(repo, "fast-import --quiet < .import");
  std::filesystem::remove(repo + "/.import");
  return repo;
}

// Resident memory of process `pid` in KiB (VmRSS), -1 when unreadable.
long RssKiB(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (absl::StartsWith(line, "VmRSS:")) return std::stol(line.substr(6));
  }
  return -1;
}

std::shared_ptr<grpc::Channel> Channel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

// Polls `probe` (bounded: 300 tries, 100 ms apart) until it returns true.
bool Eventually(const std::function<bool()>& probe) {
  for (int i = 0; i < 300; ++i) {
    if (probe()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

constexpr int kBigRecords = 60;
constexpr size_t kBigMessage = 1000000;
// Enough data (16 MB) that a stream cannot finish inside the HTTP/2 windows, so it stays open.
constexpr int kHoldRecords = 16;

// A server with two stream slots, one job slot and one worker, over a store of 60 records of
// about 1 MB each (60 MB in all). Each test starts its own (ctest runs each in its own process).
class Clients : public ::testing::Test {
 protected:
  // `idle_timeout`: --stream-idle-timeout (0: off); `big`: mine the 60 MB repository.
  void Boot(int idle_timeout, bool big = true, int records = kBigRecords) {
    server_ = std::make_unique<testutil::TestServer>(
        root_.path(), std::vector<std::string>{"--max-streams", "2", "--stream-idle-timeout",
                                               std::to_string(idle_timeout), "--max-jobs", "1",
                                               "--workers", "1"});
    ASSERT_TRUE(server_->Start());
    client_ = std::make_unique<client::FixmineClient>(server_->address(), "");
    stub_ = fixmine::v1::RecordService::NewStub(Channel(server_->address()));
    if (!big) return;
    std::string repo = FastImportRepo(root_.path(), "big", records, kBigMessage);
    Job job = MineToEnd(*client_, repo, "big");
    ASSERT_EQ(job.state(), fixmine::v1::SUCCEEDED) << job.error();
    ASSERT_EQ(job.records_written(), records);
  }
  void TearDown() override {
    if (client_) ExpectServing(*client_);
  }

  // True when a new stream can open now (not RESOURCE_EXHAUSTED).
  bool SlotFree() {
    fixmine::v1::StreamRecordsRequest req;
    req.set_limit(1);
    return client_->StreamRecords(req, [](const auto&) { return true; }).code() !=
           StatusCode::kResourceExhausted;
  }

  testutil::TempDir root_;
  std::unique_ptr<testutil::TestServer> server_;
  std::unique_ptr<client::FixmineClient> client_;
  std::unique_ptr<fixmine::v1::RecordService::Stub> stub_;
};

// A client that takes one response of a 60 MB stream and stops reading: flow control keeps
// the server from buffering the rest (its memory grows far less than the data), and the idle
// deadline then cancels the stream, so the client never gets the whole store.
TEST_F(Clients, StalledReaderKeepsServerMemoryBoundedAndIsCancelled) {
  Boot(/*idle_timeout=*/3);
  if (HasFatalFailure()) return;
  // Warm up: one full read, so caches are at their working size.
  int64_t all = 0;
  ASSERT_TRUE(client_
                  ->StreamRecords({},
                                  [&](const auto& b) {
                                    all += b.records_size();
                                    return true;
                                  })
                  .ok());
  ASSERT_EQ(all, kBigRecords);
  long before = RssKiB(server_->pid());
  ASSERT_GT(before, 0);

  grpc::ClientContext ctx;
  fixmine::v1::StreamRecordsRequest req;
  auto reader = stub_->StreamRecords(&ctx, req);
  fixmine::v1::StreamRecordsResponse resp;
  ASSERT_TRUE(reader->Read(&resp));
  // Stalled: the server has had time to push whatever it would; not an assertion on time.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  long during = RssKiB(server_->pid());
  EXPECT_LT(during - before, 24 * 1024)
      << "server RSS grew from " << before << " KiB to " << during << " KiB with a stalled reader";
  // The idle deadline (3 s) cancels the stream (the server logs it): the reader then gets
  // what was in flight, then an error, never all 60 records.
  EXPECT_TRUE(Eventually(
      [&] { return absl::StrContains(ReadFile(server_->log_path()), "--stream-idle-timeout"); }));
  int got = resp.records_size();
  while (reader->Read(&resp)) got += resp.records_size();
  grpc::Status st = reader->Finish();
  EXPECT_FALSE(st.ok());
  EXPECT_LT(got, kBigRecords);
  EXPECT_TRUE(Eventually([&] { return SlotFree(); }));
}

// Two slots: a third stream is RESOURCE_EXHAUSTED with the limit named; closing one frees it.
TEST_F(Clients, StreamCapIsResourceExhausted) {
  Boot(/*idle_timeout=*/0, /*big=*/true, kHoldRecords);
  if (HasFatalFailure()) return;
  fixmine::v1::StreamRecordsRequest req;
  fixmine::v1::StreamRecordsResponse resp;
  // The mining watch's slot is freed just after its client returns: retry until both open.
  std::unique_ptr<grpc::ClientContext> ctx[2];
  std::unique_ptr<grpc::ClientReader<fixmine::v1::StreamRecordsResponse>> rd[2];
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(Eventually([&] {
      ctx[i] = std::make_unique<grpc::ClientContext>();
      rd[i] = stub_->StreamRecords(ctx[i].get(), req);
      if (rd[i]->Read(&resp)) return true;
      (void)rd[i]->Finish();
      return false;
    }));
  }
  grpc::ClientContext& c1 = *ctx[0];
  grpc::ClientContext& c2 = *ctx[1];
  auto& r1 = rd[0];
  auto& r2 = rd[1];
  fixmine::v1::StreamRecordsRequest one;
  one.set_limit(1);
  absl::Status third = client_->StreamRecords(one, [](const auto&) { return true; });
  EXPECT_EQ(third.code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StrContains(third.message(), "--max-streams 2")) << third;
  // Unary calls are not streams: they still work.
  EXPECT_TRUE(client_->CountRecords("").ok());
  c1.TryCancel();
  (void)r1->Finish();
  c2.TryCancel();
  (void)r2->Finish();
  EXPECT_TRUE(Eventually([&] { return SlotFree(); }));
}

// A client process killed mid-stream (its socket closes): the server frees the stream.
TEST_F(Clients, ClientThatDisappearsFreesItsStream) {
  Boot(/*idle_timeout=*/0, /*big=*/true, kHoldRecords);  // idle deadline off
  if (HasFatalFailure()) return;
  // The CLI streams into a pipe nobody reads, so it blocks holding one stream; a second
  // stream is held here, so the cap is reached. That the CLI holds its stream is seen from the
  // pipe filling, not with a probe stream, which could take the CLI's slot as it connects.
  grpc::ClientContext held;
  fixmine::v1::StreamRecordsRequest req;
  auto r = stub_->StreamRecords(&held, req);
  fixmine::v1::StreamRecordsResponse resp;
  ASSERT_TRUE(r->Read(&resp));
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  const std::string cli = testutil::CliPath();
  const std::string address = server_->address();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    execl(cli.c_str(), cli.c_str(), "--server", address.c_str(), "records", "stream",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  close(out[1]);
  EXPECT_TRUE(Eventually([&] {
    int queued = 0;
    return ioctl(out[0], FIONREAD, &queued) == 0 && queued > 0;
  })) << "the CLI never received records";
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(out[0]);
  // `held` still takes one slot: a probe gets the other only once the CLI's stream is freed.
  EXPECT_TRUE(Eventually([&] { return SlotFree(); }))
      << "the vanished client's stream was never freed";
  held.TryCancel();
  (void)r->Finish();
}

// Cancel and a short deadline mid-stream end that stream only.
TEST_F(Clients, CancelAndDeadlineMidStream) {
  Boot(/*idle_timeout=*/0, /*big=*/true, kHoldRecords);
  if (HasFatalFailure()) return;
  {
    grpc::ClientContext ctx;
    auto r = stub_->StreamRecords(&ctx, {});
    fixmine::v1::StreamRecordsResponse resp;
    ASSERT_TRUE(r->Read(&resp));
    ctx.TryCancel();
    while (r->Read(&resp)) {
    }
    EXPECT_EQ(r->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // The deadline must pass mid-stream, after a first response: 500 ms, doubled (up to 8 s)
  // while the first response itself came too late (a sanitizer build on a loaded machine).
  bool mid_stream = false;
  for (int ms = 500; ms <= 8000 && !mid_stream; ms *= 2) {
    grpc::ClientContext ctx;
    const auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(ms);
    ctx.set_deadline(deadline);
    auto r = stub_->StreamRecords(&ctx, {});
    fixmine::v1::StreamRecordsResponse resp;
    if (!r->Read(&resp)) {
      EXPECT_EQ(r->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
      ASSERT_TRUE(Eventually([&] { return SlotFree(); }));  // the server let go of it
      continue;
    }
    mid_stream = true;
    std::this_thread::sleep_until(deadline + std::chrono::milliseconds(200));  // past it
    while (r->Read(&resp)) {
    }
    EXPECT_EQ(r->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  EXPECT_TRUE(mid_stream) << "no first response within 8 s";
  EXPECT_TRUE(Eventually([&] { return SlotFree(); }));
}

// One job slot: a second job is RESOURCE_EXHAUSTED; a watch with a short deadline ends the
// watch, not the job; cancelling the job mid-walk ends it CANCELLED and frees the slot.
TEST_F(Clients, JobCapDeadlineAndCancelMidJob) {
  // The job pauses 200 ms after each batch of 256 records it writes (test-only,
  // server/job_runner.cc): the 8000-commit job runs for at least 6 s however fast this machine
  // mines, so it still holds the slot, and still runs, when this test refuses, watches and
  // cancels.
  ::setenv("FIXMINE_TEST_FLUSH_PAUSE_MS", "200", 1);
  struct Unset {
    ~Unset() { ::unsetenv("FIXMINE_TEST_FLUSH_PAUSE_MS"); }
  } unset;
  Boot(/*idle_timeout=*/0, /*big=*/false);
  if (HasFatalFailure()) return;
  FastImportRepo(root_.path(), "long", 8000, 0);
  FastImportRepo(root_.path(), "small", 3, 0);
  ASSERT_TRUE(client_->AddRepository(root_.path() + "/long", "long").ok());
  ASSERT_TRUE(client_->AddRepository(root_.path() + "/small", "small").ok());
  fixmine::v1::StartMiningRequest req;
  req.set_repo("long");
  auto job = client_->StartMining(req);
  ASSERT_TRUE(job.ok()) << job.status();
  fixmine::v1::StartMiningRequest other;
  other.set_repo("small");
  auto refused = client_->StartMining(other);
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted) << refused.status();
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "--max-jobs 1"));

  auto admin = fixmine::v1::AdminService::NewStub(Channel(server_->address()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  fixmine::v1::WatchJobRequest wr;
  wr.set_id(job->id());
  auto watch = admin->WatchJob(&ctx, wr);
  fixmine::v1::WatchJobResponse ev;
  while (watch->Read(&ev)) {
  }
  EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  auto running = client_->GetJob(job->id());
  ASSERT_TRUE(running.ok());
  EXPECT_TRUE(running->state() == fixmine::v1::RUNNING || running->state() == fixmine::v1::QUEUED)
      << fixmine::v1::JobState_Name(running->state());

  auto cancelled = client_->CancelJob(job->id());
  ASSERT_TRUE(cancelled.ok());
  Job last;
  ASSERT_TRUE(client_->WatchJob(job->id(), [&](const Job& j) { last = j; }).ok());
  EXPECT_EQ(last.state(), fixmine::v1::CANCELLED);
  EXPECT_LT(last.records_written(), 8000);
  auto now_ok = client_->StartMining(other);
  ASSERT_TRUE(now_ok.ok()) << now_ok.status();
  Job small;
  ASSERT_TRUE(client_->WatchJob(now_ok->id(), [&](const Job& j) { small = j; }).ok());
  EXPECT_EQ(small.state(), fixmine::v1::SUCCEEDED);
}

// 200 concurrent streams while three mining jobs run: every stream gets every record.
TEST(Concurrency, TwoHundredStreamsPlusJobs) {
  testutil::TempDir root;
  std::string base = FastImportRepo(root.path(), "base", 20, 0);
  for (int j = 0; j < 3; ++j) FastImportRepo(root.path(), "job" + std::to_string(j), 300, 0);
  testutil::TestServer server(root.path(), {"--workers", "3"});
  ASSERT_TRUE(server.Start());
  client::FixmineClient c(server.address(), "");
  Job first = MineToEnd(c, base, "base");
  ASSERT_EQ(first.records_written(), 20);
  std::vector<std::string> jobs;
  for (int j = 0; j < 3; ++j) {
    std::string name = "job" + std::to_string(j);
    ASSERT_TRUE(c.AddRepository(root.path() + "/" + name, name).ok());
    fixmine::v1::StartMiningRequest req;
    req.set_repo(name);
    auto job = c.StartMining(req);
    ASSERT_TRUE(job.ok()) << job.status();
    jobs.push_back(job->id());
  }
  std::atomic<int> complete{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  threads.reserve(200);
  for (int i = 0; i < 200; ++i) {
    threads.emplace_back([&] {
      fixmine::v1::StreamRecordsRequest req;
      req.set_filter("repo = \"base\"");
      int n = 0;
      absl::Status st = c.StreamRecords(req, [&](const auto& b) {
        n += b.records_size();
        return true;
      });
      if (st.ok() && n == 20) {
        ++complete;
      } else {
        ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(complete.load(), 200);
  EXPECT_EQ(failed.load(), 0);
  for (const auto& id : jobs) {
    Job last;
    ASSERT_TRUE(c.WatchJob(id, [&](const Job& j) { last = j; }).ok());
    EXPECT_EQ(last.state(), fixmine::v1::SUCCEEDED) << last.error();
    EXPECT_EQ(last.records_written(), 300);
  }
  ExpectServing(c);
}

}  // namespace
}  // namespace fixmine::hostile
