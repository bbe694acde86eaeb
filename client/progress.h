#pragma once
// Job progress on stderr for `fixmine mine --wait` and `fixmine job watch` (docs/operations.md,
// "Progress"): a bar redrawn in place on a terminal, one newline-terminated line per update
// elsewhere (logs, CI).

#include <chrono>
#include <ostream>
#include <string>

#include "fixmine/v1/admin.pb.h"

namespace fixmine::client {

// "12s", "3m05s", "1h02m" for a duration in seconds (negative counts as 0). Thread-safe.
std::string FormatEta(double seconds);

// One progress text of `job`, without a line end: its id, state, phase with done/total (and
// the percentage), the rate and ETA once a phase has a rate, and the record counts, e.g.
// "job-1 RUNNING walk 1200/5000 commits (24%) 310/s ETA 12s records 900 skipped 0". A phase
// without a total shows only the count done. Thread-safe.
std::string JobProgressText(const fixmine::v1::Job& job);

// Draws job progress on `out` (borrowed). Thread-compatible.
class ProgressPrinter {
 public:
  // `terminal`: redraw one line in place with a bar ("\r[#####-----] TEXT", cleared to the
  // end of the line). Otherwise print one line per update ending in '\n', and not more often
  // than every `min_interval`, except that a change of state or phase and the last update are
  // always printed.
  ProgressPrinter(std::ostream* out, bool terminal,
                  std::chrono::milliseconds min_interval = std::chrono::seconds(2));

  // Shows `job` (skipped when nothing shown would change, or too soon after the last line).
  void Update(const fixmine::v1::Job& job);
  // Ends the display: prints the last update if it was held back, and ends a terminal line.
  void Finish();

 private:
  void Print(const fixmine::v1::Job& job, const std::string& text);

  std::ostream* out_;
  const bool terminal_;
  const std::chrono::milliseconds min_interval_;
  std::string last_text_;
  std::string last_key_;  // state and phase of the last line printed
  std::chrono::steady_clock::time_point last_time_;
  fixmine::v1::Job held_;
  bool have_held_ = false;
  bool drawn_ = false;
};

// Whether stderr is a terminal (a bar) or not (one line per update).
bool StderrIsTerminal();

}  // namespace fixmine::client
