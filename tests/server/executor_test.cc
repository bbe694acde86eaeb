// server/executor.h: the bounded executor store-sized calls and stream batches run on.
#include "server/executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "absl/synchronization/notification.h"

namespace fixmine::server {
namespace {

TEST(Executor, RefusesATaskWhenItsQueueIsFullAndRunsEveryAcceptedOne) {
  Executor ex("test tasks", /*threads=*/1, /*max_queued=*/2);
  absl::Notification started, release;
  std::atomic<int> ran{0};
  ASSERT_TRUE(ex.Submit([&] {
                  started.Notify();
                  release.WaitForNotification();
                  ++ran;
                }).ok());
  started.WaitForNotification();  // the only worker is busy: what follows waits in the queue
  ASSERT_TRUE(ex.Submit([&] { ++ran; }).ok());
  ASSERT_TRUE(ex.Submit([&] { ++ran; }).ok());
  EXPECT_EQ(ex.queued(), 2u);
  absl::Status full = ex.Submit([&] { ran += 100; });
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(full.message(),
            "the server is busy: 2 test tasks wait already (the limit); retry later");
  release.Notify();
  ex.Shutdown();  // the queued tasks still run
  EXPECT_EQ(ran.load(), 3);
  EXPECT_EQ(ex.Submit([] {}).code(), absl::StatusCode::kUnavailable);
}

TEST(Executor, RunsTasksOnAllItsWorkersAtOnce) {
  Executor ex("test tasks", /*threads=*/3, /*max_queued=*/8);
  std::atomic<int> inside{0};
  absl::Notification all_inside;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(ex.Submit([&] {
                    // Each task waits until all three run together: with fewer workers this
                    // would never finish (bounded by the notification's timeout below).
                    if (++inside == 3) all_inside.Notify();
                    all_inside.WaitForNotificationWithTimeout(absl::Seconds(30));
                  }).ok());
  }
  EXPECT_TRUE(all_inside.WaitForNotificationWithTimeout(absl::Seconds(30)));
  ex.Shutdown();
  EXPECT_EQ(inside.load(), 3);
}

}  // namespace
}  // namespace fixmine::server
