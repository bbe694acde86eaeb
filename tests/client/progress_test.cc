// client/progress.h: the progress text (done/total, rate, ETA) and its two displays.
#include "client/progress.h"

#include <gtest/gtest.h>

#include <sstream>

namespace fixmine::client {
namespace {

fixmine::v1::Job Walking(int64_t done, int64_t total, double seconds) {
  fixmine::v1::Job j;
  j.set_id("job-1");
  j.set_state(fixmine::v1::RUNNING);
  j.set_phase("walk");
  j.set_phase_done(done);
  j.set_phase_total(total);
  j.set_phase_seconds(seconds);
  j.set_records_written(done / 2);
  return j;
}

TEST(ProgressText, DoneTotalRateAndEta) {
  EXPECT_EQ(JobProgressText(Walking(250, 1000, 10)),
            "job-1 RUNNING walk 250/1000 commits (25%) 25/s ETA 30s records 125 skipped 0");
  EXPECT_EQ(JobProgressText(Walking(100, 100000, 10)),
            "job-1 RUNNING walk 100/100000 commits (0%) 10/s ETA 2h46m records 50 skipped 0");
  fixmine::v1::Job ended = Walking(1000, 1000, 40);
  ended.set_state(fixmine::v1::SUCCEEDED);
  EXPECT_EQ(JobProgressText(ended),
            "job-1 SUCCEEDED walk 1000/1000 commits (100%) records 500 "
            "skipped 0");
  fixmine::v1::Job decontam;
  decontam.set_id("job-2");
  decontam.set_kind("decontaminate");
  decontam.set_state(fixmine::v1::RUNNING);
  decontam.set_phase("decontaminate");
  decontam.set_phase_done(300);
  decontam.set_phase_total(1200);
  decontam.set_phase_seconds(3);
  decontam.set_records_written(4);
  EXPECT_EQ(JobProgressText(decontam),
            "job-2 RUNNING decontaminate 300/1200 records (25%) 100/s ETA 9s relabelled 4");
  EXPECT_EQ(FormatEta(0), "0s");
  EXPECT_EQ(FormatEta(185), "3m05s");
  EXPECT_EQ(FormatEta(3720), "1h02m");
}

TEST(ProgressPrinter, NotATerminalPrintsOneNewlineTerminatedLinePerUpdate) {
  std::ostringstream out;
  ProgressPrinter p(&out, /*terminal=*/false, std::chrono::milliseconds(0));
  p.Update(Walking(10, 100, 1));
  p.Update(Walking(10, 100, 1));  // nothing new: no line
  p.Update(Walking(50, 100, 5));
  p.Finish();
  EXPECT_EQ(out.str(),
            "job-1 RUNNING walk 10/100 commits (10%) 10/s ETA 9s records 5 skipped 0\n"
            "job-1 RUNNING walk 50/100 commits (50%) 10/s ETA 5s records 25 skipped 0\n");
}

TEST(ProgressPrinter, NotATerminalHoldsBackUpdatesWithinTheIntervalButNotTheLast) {
  std::ostringstream out;
  ProgressPrinter p(&out, /*terminal=*/false, std::chrono::hours(1));
  p.Update(Walking(10, 100, 1));
  p.Update(Walking(20, 100, 2));  // too soon: held
  p.Update(Walking(30, 100, 3));  // too soon: held
  fixmine::v1::Job done = Walking(100, 100, 10);
  done.set_state(fixmine::v1::SUCCEEDED);
  p.Update(done);  // a change of state is always printed
  p.Finish();
  EXPECT_EQ(out.str(),
            "job-1 RUNNING walk 10/100 commits (10%) 10/s ETA 9s records 5 skipped 0\n"
            "job-1 SUCCEEDED walk 100/100 commits (100%) records 50 skipped 0\n");
  std::ostringstream held;
  ProgressPrinter q(&held, /*terminal=*/false, std::chrono::hours(1));
  q.Update(Walking(10, 100, 1));
  q.Update(Walking(20, 100, 2));
  q.Finish();  // the held update is printed at the end
  EXPECT_EQ(held.str(),
            "job-1 RUNNING walk 10/100 commits (10%) 10/s ETA 9s records 5 skipped 0\n"
            "job-1 RUNNING walk 20/100 commits (20%) 10/s ETA 8s records 10 skipped 0\n");
}

TEST(ProgressPrinter, TerminalRedrawsOneLineWithABar) {
  std::ostringstream out;
  ProgressPrinter p(&out, /*terminal=*/true);
  p.Update(Walking(25, 100, 1));
  p.Update(Walking(50, 100, 2));
  p.Finish();
  EXPECT_EQ(out.str(),
            "\r[######------------------] job-1 RUNNING walk 25/100 commits (25%) 25/s ETA 3s "
            "records 12 skipped 0\033[K"
            "\r[############------------] job-1 RUNNING walk 50/100 commits (50%) 25/s ETA 2s "
            "records 25 skipped 0\033[K\n");
}

}  // namespace
}  // namespace fixmine::client
