#include "client/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "fmt/format.h"

namespace fixmine::client {
namespace {

constexpr int kBarWidth = 24;

std::string StateKey(const fixmine::v1::Job& job) {
  return fmt::format("{}/{}", fixmine::v1::JobState_Name(job.state()), job.phase());
}

bool Ended(fixmine::v1::JobState s) {
  return s == fixmine::v1::SUCCEEDED || s == fixmine::v1::FAILED || s == fixmine::v1::CANCELLED;
}

}  // namespace

std::string FormatEta(double seconds) {
  auto s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

std::string JobProgressText(const fixmine::v1::Job& job) {
  std::string text = fmt::format("{} {}", job.id(), fixmine::v1::JobState_Name(job.state()));
  if (!job.phase().empty()) {
    const char* unit = job.phase() == "decontaminate" ? "records"
                       : job.phase() == "diffs"       ? "trajectories"
                                                      : "commits";
    if (job.phase_total() > 0) {
      int64_t done = std::min(job.phase_done(), job.phase_total());
      text += fmt::format(" {} {}/{} {} ({}%)", job.phase(), done, job.phase_total(), unit,
                          done * 100 / job.phase_total());
    } else if (job.phase() == "clone" || job.phase() == "fetch") {
      text += " " + job.phase();
    } else {
      text += fmt::format(" {} {} {}", job.phase(), job.phase_done(), unit);
    }
    if (job.phase_seconds() > 0 && job.phase_done() > 0 && !Ended(job.state())) {
      double rate = job.phase_done() / job.phase_seconds();
      text += fmt::format(" {:.0f}/s", rate);
      if (job.phase_total() > job.phase_done()) {
        text += " ETA " + FormatEta((job.phase_total() - job.phase_done()) / rate);
      }
    }
  }
  if (job.kind().empty()) {
    text += fmt::format(" records {} skipped {}", job.records_written(), job.commits_skipped());
  } else {
    text += fmt::format(" relabelled {}", job.records_written());
  }
  return text;
}

ProgressPrinter::ProgressPrinter(std::ostream* out, bool terminal,
                                 std::chrono::milliseconds min_interval)
    : out_(out), terminal_(terminal), min_interval_(min_interval) {}

void ProgressPrinter::Update(const fixmine::v1::Job& job) {
  std::string text = JobProgressText(job);
  if (text == last_text_) return;
  auto now = std::chrono::steady_clock::now();
  if (!terminal_ && drawn_ && StateKey(job) == last_key_ && !Ended(job.state()) &&
      now - last_time_ < min_interval_) {
    held_ = job;  // printed by a later update or by Finish
    have_held_ = true;
    return;
  }
  Print(job, text);
}

void ProgressPrinter::Print(const fixmine::v1::Job& job, const std::string& text) {
  if (terminal_) {
    std::string bar;
    if (job.phase_total() > 0) {
      int64_t done = std::min(job.phase_done(), job.phase_total());
      int filled = static_cast<int>(done * kBarWidth / job.phase_total());
      bar = fmt::format("[{}{}] ", std::string(filled, '#'), std::string(kBarWidth - filled, '-'));
    }
    *out_ << "\r" << bar << text << "\033[K" << std::flush;
  } else {
    *out_ << text << "\n" << std::flush;
  }
  last_text_ = text;
  last_key_ = StateKey(job);
  last_time_ = std::chrono::steady_clock::now();
  have_held_ = false;
  drawn_ = true;
}

void ProgressPrinter::Finish() {
  if (have_held_ && JobProgressText(held_) != last_text_) Print(held_, JobProgressText(held_));
  have_held_ = false;
  if (terminal_ && drawn_) *out_ << "\n" << std::flush;
}

bool StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

}  // namespace fixmine::client
