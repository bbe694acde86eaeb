#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace fixmine {

// How log lines are written: `kText` for people ("2026-01-31T12:00:00Z INFO message k=v"),
// `kJson` for log collectors (one JSON object per line, docs/operations.md "Logs").
enum class LogFormat { kText, kJson };

// Parses "text" or "json"; INVALID_ARGUMENT otherwise.
absl::StatusOr<LogFormat> ParseLogFormat(std::string_view text);

// Severity of a log line; written as "debug", "info", "warn", "error".
enum class LogLevel { kDebug, kInfo, kWarn, kError };

// Optional context of one log line; fields left empty (or negative) are not written.
struct LogFields {
  std::string method;       // gRPC method ("/fixmine.v1.AdminService/GetJob")
  std::string code;         // gRPC status code name ("OK", "NOT_FOUND")
  std::string peer;         // client address
  double duration_ms = -1;  // how long the call or job took
  std::string job;          // job id
  std::string repository;   // repository name
  std::string error;        // the failure's message
};

// Sets the process-wide format and destination (null: std::cerr) of Log. Call before logging
// starts (main); not thread-safe against concurrent Log calls.
void SetLogOutput(LogFormat format, std::ostream* out = nullptr);

// Writes one line (time in RFC 3339 UTC with milliseconds, level, message, fields) to the log
// destination. Thread-safe: lines of concurrent calls never interleave.
void Log(LogLevel level, std::string_view message, const LogFields& fields = {});

// The line Log would write, without the newline (for tests). `unix_ms` is the time stamp.
std::string FormatLogLine(LogFormat format, int64_t unix_ms, LogLevel level,
                          std::string_view message, const LogFields& fields);

}  // namespace fixmine
