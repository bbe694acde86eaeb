#pragma once

#include <git2.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "curation/curate.h"
#include "fixmine/v1/records.pb.h"
#include "miner/szz.h"

namespace fixmine::miner {

// What goes into a record besides the commit itself.
struct RecordOptions {
  // Repository name stored in `Record.repo` and hashed into `Record.id`.
  std::string repo_name;
  // Cap on `old_content` / `new_content` per file, in bytes.
  size_t content_cap = 1 << 20;
  // Blobs larger than this are not read at all: their file is binary with no patch, as git
  // does above core.bigFileThreshold (512 MiB, the default). Bounds the memory one hostile
  // blob can take.
  size_t max_blob_bytes = size_t{512} << 20;
  // Commit messages longer than this are cut at a UTF-8 character boundary (0: no cap).
  size_t max_message_bytes = 0;
  // A record larger than this (serialized) sheds, largest first, its files' pre- and
  // post-images (marked truncated), then their patches (the file marked unavailable), until it
  // fits; 0: no budget. The default keeps every record inside one gRPC message (64 MiB).
  size_t max_record_bytes = size_t{32} << 20;
  // Also fill `new_content`.
  bool include_new_content = false;
  // Rename detection as `git log -M`: similarity threshold in percent and the most files on
  // either side to compare (git's diff.renameLimit default).
  int rename_threshold = 50;
  int rename_limit = 1000;
  // Context lines around each hunk (git's default 3).
  int context_lines = 3;
  // What a `.h` file whose content shows no language is in this repository ("C++",
  // "Objective-C", or "" for C): RepositoryProfile::header_language, which the mining pipeline
  // fills from the tip's tree (LanguageForFile).
  std::string header_language;
  // Labels, secrets and e-mail policy applied to each built record (curation::Curate). The
  // defaults change no mined text.
  curation::Options curation;
  // Bug-introducing commits (SZZ) of the records the walk builds; off by default here (the
  // CLI and the server default to fixes).
  SzzOptions szz;
};

// Returns the stable record id of (`repo_name`, `commit_hex`): 24 hex digits of the SHA-1 of
// both. Thread-safe.
std::string RecordId(const std::string& repo_name, const std::string& commit_hex);

// Builds the record of `commit` (diffed against its first parent, or the empty tree for a root
// commit) in `repo`. Unreadable blobs mark their file `unavailable`; a tree that cannot be read
// is an error (the caller skips the commit). `repo` and `commit` are borrowed; the caller must
// not use `repo` from another thread meanwhile.
absl::StatusOr<fixmine::v1::Record> BuildRecord(git_repository* repo, git_commit* commit,
                                                const RecordOptions& options);

// Fills the commit's own fields of a record: id, repo, commit, parents, author, committer,
// subject, message and its encoding. `commit` is borrowed.
void FillCommitFields(git_commit* commit, const RecordOptions& options,
                      fixmine::v1::Record* record);

// Finishes a record whose `files` are filled: quality counts (from the files' added and
// deleted) and curation (labels, secrets, e-mail policy).
void FinishRecord(const RecordOptions& options, fixmine::v1::Record* record);

// How the unavailable_reason starts that FinishRecord gives a file whose patch the record's
// byte budget (RecordOptions::max_record_bytes) left out.
inline constexpr char kRecordBudgetReason[] = "the record is over its";

// What FitFilesBudget left out: counts of files.
struct BudgetShed {
  int contents = 0;           // files whose pre- and/or post-image was dropped
  int patches = 0;            // files whose patch and hunks were dropped
  int newly_unavailable = 0;  // of those, files that were not marked `unavailable` before
};

// The byte budget of a message that holds `files` (RecordOptions::max_record_bytes), one rule for
// records and trajectories: while `*total_bytes` (the serialized size of the whole message; kept
// up to date, never under the true size) is over `max_bytes`, drops the pre- and post-images of
// the files with the most content first (marked `*_content_truncated`), then the patches and
// hunks of the files with the longest patch first (marked `unavailable` with
// `unavailable_reason`). May still leave `*total_bytes` over `max_bytes` when the rest of the
// message is that large. 0: no budget, nothing changes. Thread-compatible.
BudgetShed FitFilesBudget(size_t max_bytes, const std::string& unavailable_reason,
                          size_t* total_bytes,
                          google::protobuf::RepeatedPtrField<fixmine::v1::FileChange>* files);

// Returns git's `%s` for a message: its first paragraph, lines joined by single spaces, each
// line's trailing white space removed, leading blank lines skipped.
std::string SubjectOf(std::string_view message);

// Quotes a path as git does in patch headers when it holds a control character, a double
// quote, a backslash or a byte >= 0x80 (core.quotePath): C-style, octal escapes, in quotes.
// Returns `prefix + path` unquoted otherwise.
std::string QuotePathForPatch(std::string_view prefix, std::string_view path);

}  // namespace fixmine::miner
