#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define FIXMINE_RETURN_IF_ERROR(expr)            \
  do {                                           \
    ::absl::Status fixmine_status_ = (expr);     \
    if (!fixmine_status_.ok()) return fixmine_status_; \
  } while (0)

#define FIXMINE_CONCAT_INNER(a, b) a##b
#define FIXMINE_CONCAT(a, b) FIXMINE_CONCAT_INNER(a, b)
// Declares `lhs` from an absl::StatusOr<T> expression, returning its status when not OK.
#define FIXMINE_ASSIGN_OR_RETURN(lhs, expr)                                 \
  auto FIXMINE_CONCAT(fixmine_statusor_, __LINE__) = (expr);                \
  if (!FIXMINE_CONCAT(fixmine_statusor_, __LINE__).ok())                    \
    return FIXMINE_CONCAT(fixmine_statusor_, __LINE__).status();            \
  lhs = std::move(FIXMINE_CONCAT(fixmine_statusor_, __LINE__)).value()

namespace fixmine {

// Returns `status` with `context` prepended to its message ("context: message"), same code.
absl::Status Annotate(const absl::Status& status, std::string_view context);

}  // namespace fixmine
