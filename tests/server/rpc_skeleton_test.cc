// The RPC skeleton (server/rpc.h) against the real fixmined: a store-sized call (a full-store
// verify, a count whose filter reads every record) runs on the heavy executor, so a small call
// made while it runs is answered without waiting for it.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <thread>
#include <vector>

#include "client/fixmine_client.h"
#include "fmt/format.h"
#include "storage/record_store.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

using Clock = std::chrono::steady_clock;

// Records of the synthetic store: enough that a full scan takes far longer than a lookup.
constexpr int kRecords = 60000;
constexpr int kBatch = 2000;

// Writes kRecords synthetic records of repository "synthetic" into the store in `dir`, as a
// mining job would (WriteBatch), before the server opens it.
void WriteSyntheticStore(const std::string& dir) {
  auto store = storage::RecordStore::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  fixmine::v1::Repository repo;
  repo.set_name("synthetic");
  repo.set_source("/synthetic");
  repo.set_local_path("/synthetic");
  fixmine::v1::Job job;
  job.set_id("synthetic-job");
  job.set_repo("synthetic");
  job.set_state(fixmine::v1::SUCCEEDED);
  const std::string body(1500, 'x');
  for (int start = 0; start < kRecords; start += kBatch) {
    std::vector<fixmine::v1::Record> records;
    records.reserve(kBatch);
    for (int n = start; n < start + kBatch; ++n) {
      fixmine::v1::Record r;
      r.set_commit(fmt::format("{:040x}", n + 1));
      r.set_id("synthetic:" + r.commit());
      r.set_repo("synthetic");
      r.set_subject(fmt::format("change {}", n));
      r.set_message(fmt::format("change {}\n\n{}\n", n, body));
      r.mutable_committer()->set_time(1700000000 + n);
      r.mutable_author()->set_time(1700000000 + n);
      auto* f = r.add_files();
      f->set_path(fmt::format("src/f{}.c", n % 50));
      f->set_language("C");
      records.push_back(std::move(r));
    }
    repo.set_record_count(start + kBatch);
    auto written = (*store)->WriteBatch(records, job, &repo);
    ASSERT_TRUE(written.ok()) << written.status();
    ASSERT_EQ(*written, kBatch);
  }
}

struct Overlap {
  std::chrono::duration<double> heavy{0};  // the heavy call, as the client saw it
  std::chrono::duration<double> worst{0};  // the slowest small call made meanwhile
  int small_calls = 0;                     // small calls that ended while it ran
};

// Runs `heavy` on a thread and, until it returns, small calls (`small`) one after another,
// timing each.
Overlap Measure(const std::function<void()>& heavy, const std::function<void()>& small) {
  std::atomic<bool> done{false};
  Overlap o;
  const Clock::time_point start = Clock::now();
  std::thread t([&] {
    heavy();
    o.heavy = Clock::now() - start;
    done = true;
  });
  // Bounded: the heavy call ends (or the test's timeout stops it).
  while (!done) {
    const Clock::time_point s = Clock::now();
    small();
    const auto took = Clock::now() - s;
    if (done) break;  // it may have waited for the heavy call's end: not counted
    o.worst = std::max<std::chrono::duration<double>>(o.worst, took);
    ++o.small_calls;
  }
  t.join();
  return o;
}

TEST(RpcSkeleton, ASmallCallIsNotDelayedByAFullStoreVerifyOrCount) {
  testutil::TempDir root;
  testutil::TestServer server(root.path());
  WriteSyntheticStore(server.data_dir() + "/store");
  ASSERT_TRUE(server.Start());
  client::FixmineClient heavy_client(server.address(), "");
  // The heavy calls take seconds here, and many times that in a TSan build on a loaded machine:
  // far past the client's default 30 s deadline, which is not what this test is about.
  heavy_client.set_deadline_seconds(600);
  client::FixmineClient small_client(server.address(), "");
  auto small = [&] {
    auto repos = small_client.ListRepositories();
    ASSERT_TRUE(repos.ok()) << repos.status();
    ASSERT_EQ(repos->size(), 1u);
    EXPECT_EQ((*repos)[0].record_count(), kRecords);
  };

  // A full-store verify: every block's checksum, then every record against its indexes.
  Overlap verify = Measure(
      [&] {
        auto report = heavy_client.VerifyStore();
        ASSERT_TRUE(report.ok()) << report.status();
        EXPECT_EQ(report->records(), kRecords);
        EXPECT_TRUE(report->problems().empty()) << report->problems(0);
      },
      small);
  // A count no index answers: the filter searches every record's message for 40 phrases.
  std::string filter;
  for (int i = 0; i < 40; ++i) {
    filter += fmt::format("{}message:\"no such words {}\"", i == 0 ? "" : " OR ", i);
  }
  Overlap count = Measure(
      [&] {
        auto n = heavy_client.CountRecords(filter);
        ASSERT_TRUE(n.ok()) << n.status();
        EXPECT_EQ(*n, 0);
      },
      small);

  for (const Overlap* o : {&verify, &count}) {
    const std::string measured =
        fmt::format("heavy call {:.3f} s, {} small calls meanwhile, slowest {:.4f} s",
                    o->heavy.count(), o->small_calls, o->worst.count());
    std::cerr << measured << "\n";
    SCOPED_TRACE(measured);
    // The premise: the heavy call lasted many small calls (so it was running while they were).
    ASSERT_GE(o->small_calls, 10);
    // A small call waiting for the heavy one would take about as long as it; bounded by a
    // fraction of the heavy call measured in the same run, and by a second in any case (times
    // kSlowdown in a sanitizer build, which CI runs on a loaded machine).
    EXPECT_LT(o->worst.count(), o->heavy.count() / 4);
    EXPECT_LT(o->worst.count(), 1.0 * testutil::kSlowdown);
  }
}

}  // namespace
}  // namespace fixmine
