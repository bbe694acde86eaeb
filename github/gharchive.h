#pragma once

// GH Archive hourly dumps (https://www.gharchive.org, `YYYY-MM-DD-H.json.gz`: one JSON event
// per line, gzip-compressed) as an offline source of issues, pull requests and comments
// (docs/github.md, "GH Archive").

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "fixmine/v1/github.pb.h"

namespace fixmine::github {

// Counts of one read.
struct GhArchiveStats {
  int64_t lines = 0;
  // IssuesEvent, IssueCommentEvent and PullRequestEvent lines turned into items.
  int64_t events = 0;
  // Lines that are not valid JSON events (skipped).
  int64_t bad_lines = 0;
};

// Reads the dump at `path` (gzip or plain JSON Lines) and calls `visit` with one item per
// object of each IssuesEvent (the issue), IssueCommentEvent (the issue, unless a pull request,
// and the comment) and PullRequestEvent (the pull request), in file order. `visit` returning an
// error stops the read with it. NOT_FOUND for a missing file, DATA_LOSS for a damaged gzip
// stream, INVALID_ARGUMENT for a line over 64 MiB. Thread-compatible.
absl::Status ReadGhArchive(
    const std::string& path,
    const std::function<absl::Status(fixmine::v1::ImportGithubEventsRequest::Item)>& visit,
    GhArchiveStats* stats);

}  // namespace fixmine::github
