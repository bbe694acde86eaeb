#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define FIXMINE_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::absl::Status fixmine_status_ = (expr);           \
    if (!fixmine_status_.ok()) return fixmine_status_; \
  } while (0)

#define FIXMINE_CONCAT_INNER(a, b) a##b
#define FIXMINE_CONCAT(a, b) FIXMINE_CONCAT_INNER(a, b)
// Declares `lhs` from an absl::StatusOr<T> expression, returning its status when not OK.
#define FIXMINE_ASSIGN_OR_RETURN(lhs, expr)                      \
  auto FIXMINE_CONCAT(fixmine_statusor_, __LINE__) = (expr);     \
  if (!FIXMINE_CONCAT(fixmine_statusor_, __LINE__).ok())         \
    return FIXMINE_CONCAT(fixmine_statusor_, __LINE__).status(); \
  lhs = std::move(FIXMINE_CONCAT(fixmine_statusor_, __LINE__)).value()

namespace fixmine {

// Returns `status` with `context` prepended to its message ("context: message"), same code.
absl::Status Annotate(const absl::Status& status, std::string_view context);

// Most bytes of a client's input that an error message quotes (docs/security.md, "Limits").
inline constexpr size_t kQuotedInputBytes = 64;

// Quotes text a client or a repository supplied (a name, an id, a format, a path, a URL, a line
// of a file) for an error message: `"text"` when it is at most `max_bytes` long, else its first
// bytes, cut at a UTF-8 character boundary, as `"text…" (N bytes)`. Control characters and bytes
// that are not UTF-8 are written as \xNN, so the result is one line of valid UTF-8 of at most
// about 4 * max_bytes + 32 bytes whatever the input. The one way errors quote input. Pure.
std::string QuoteInput(std::string_view text, size_t max_bytes = kQuotedInputBytes);

// Returns `message` when it is at most `max_bytes` long, else its first bytes (cut at a UTF-8
// character boundary) followed by "… (N bytes)". For a whole error message, as a last guard at
// the service edge. Pure.
std::string CutMessage(std::string_view message, size_t max_bytes);

}  // namespace fixmine
