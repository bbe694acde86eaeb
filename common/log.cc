#include "common/log.h"

#include <chrono>
#include <ctime>
#include <iostream>
#include <mutex>

#include "common/json.h"
#include "common/status.h"
#include "fmt/format.h"

namespace fixmine {
namespace {

struct LogState {
  std::mutex mu;
  LogFormat format = LogFormat::kText;
  std::ostream* out = nullptr;
};

LogState& State() {
  static LogState* state = new LogState();  // never destroyed: logging may outlive main
  return *state;
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

// Text values are quoted only when they hold a space, quote or '=' (so "k=v" splits simply).
void AppendTextValue(std::string* out, std::string_view s) {
  if (!s.empty() && s.find_first_of(" \"=\t\n") == std::string_view::npos) {
    out->append(s);
  } else {
    AppendValidJsonString(s, out);
  }
}

std::string FormatTime(int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     static_cast<int>(unix_ms % 1000));
}

}  // namespace

absl::StatusOr<LogFormat> ParseLogFormat(std::string_view text) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(
      fmt::format("log format {} is not known; use text or json", QuoteInput(text)));
}

void SetLogOutput(LogFormat format, std::ostream* out) {
  LogState& s = State();
  std::lock_guard<std::mutex> l(s.mu);
  s.format = format;
  s.out = out;
}

std::string FormatLogLine(LogFormat format, int64_t unix_ms, LogLevel level,
                          std::string_view message, const LogFields& f) {
  std::string line;
  const std::pair<const char*, const std::string*> strings[] = {
      {"method", &f.method},         {"code", &f.code},  {"peer", &f.peer}, {"job", &f.job},
      {"repository", &f.repository}, {"error", &f.error}};
  if (format == LogFormat::kJson) {
    line = "{\"time\":\"" + FormatTime(unix_ms) + "\",\"level\":\"" + LevelName(level) +
           "\",\"message\":";
    AppendValidJsonString(message, &line);
    for (const auto& [key, value] : strings) {
      if (value->empty()) continue;
      line.append(fmt::format(",\"{}\":", key));
      AppendValidJsonString(*value, &line);
    }
    if (f.duration_ms >= 0) line.append(fmt::format(",\"duration_ms\":{:.3f}", f.duration_ms));
    line.push_back('}');
    return line;
  }
  line = FormatTime(unix_ms) + " " + LevelName(level) + " " + std::string(message);
  for (const auto& [key, value] : strings) {
    if (value->empty()) continue;
    line.append(fmt::format(" {}=", key));
    AppendTextValue(&line, *value);
  }
  if (f.duration_ms >= 0) line.append(fmt::format(" duration_ms={:.3f}", f.duration_ms));
  return line;
}

void Log(LogLevel level, std::string_view message, const LogFields& fields) {
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  LogState& s = State();
  std::lock_guard<std::mutex> l(s.mu);
  std::string line = FormatLogLine(s.format, now_ms, level, message, fields);
  line.push_back('\n');
  std::ostream& out = s.out != nullptr ? *s.out : std::cerr;
  out.write(line.data(), static_cast<std::streamsize>(line.size()));
  out.flush();
}

}  // namespace fixmine
