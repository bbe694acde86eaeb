#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace fixmine {

// Applies one file's unified diff, as `git diff` prints it (headers before the first "@@" are
// skipped; "\ No newline at end of file" markers are honoured), to `old_content` and returns
// the new content. Every context and removed line is checked against `old_content` and every
// hunk's line counts against its header, so a patch that does not fit is an error rather than
// a wrong result: FAILED_PRECONDITION naming the hunk and line. A patch without hunks (a
// rename or mode change only) returns `old_content` unchanged. Thread-safe (pure).
absl::StatusOr<std::string> ApplyUnifiedDiff(std::string_view old_content, std::string_view patch);

}  // namespace fixmine
