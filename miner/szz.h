#pragma once

#include <git2.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fixmine/v1/records.pb.h"

namespace fixmine::miner {

// Which records get bug-introducing commits (SZZ, docs/trajectories.md "Bug-fix links").
enum class SzzMode {
  kOff,    // none
  kFixes,  // records labelled is_fix
  kAll,    // every non-merge record with a parent
};

// Parses "off", "fixes" or "all"; INVALID_ARGUMENT otherwise.
absl::StatusOr<SzzMode> ParseSzzMode(std::string_view text);

// Bounds on the blame work per record.
struct SzzOptions {
  SzzMode mode = SzzMode::kOff;
  // At most this many files are blamed per record (the first ones, in the record's order, that
  // have a line to blame).
  int max_files = 10;
  // At most this many deleted or changed lines are looked up per record, over all its files.
  int max_lines = 200;
  // Files whose pre-image is larger than this (bytes) are not blamed.
  size_t max_file_bytes = 512 * 1024;
};

// One pre-image line a fix deleted or changed.
struct SzzLine {
  int line = 0;  // 1-based line number in the first parent's file
  std::string text;
};

// Returns true when `line` holds nothing but a comment in `language` (a linguist name, as in
// FileChange.language): after leading white space it starts with one of the language's
// comment markers (docs/trajectories.md lists them). Unknown languages have no comment lines.
bool IsCommentOnlyLine(std::string_view language, std::string_view line);

// The pre-image lines of `file` that SZZ blames: lines its hunks delete, except blank lines,
// comment-only lines and lines whose text without white space reappears among the added lines
// of the same hunk (a white-space-only change). In pre-image order.
std::vector<SzzLine> LinesToBlame(const fixmine::v1::FileChange& file);

// Fills record->labels().bug_introducing_commits (sorted full hex ids, each once) when
// `options.mode` selects the record: blames the lines of LinesToBlame in the first parent,
// within the bounds of `options`. A file that cannot be blamed is passed over; never fails the
// record. Merge records and root commits are left alone. `repo` is borrowed and must not be
// used by another thread meanwhile.
void AddBugIntroducingCommits(git_repository* repo, const SzzOptions& options,
                              fixmine::v1::Record* record);

}  // namespace fixmine::miner
