#include "github/gharchive.h"

#include <zlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace fixmine::github {
namespace {

using Item = fixmine::v1::ImportGithubEventsRequest::Item;

constexpr size_t kMaxLine = size_t{64} << 20;

absl::Status HandleLine(std::string_view line, const std::function<absl::Status(Item)>& visit,
                        GhArchiveStats* stats) {
  ++stats->lines;
  // Most events are of other types: skip them without parsing.
  bool issue = line.find("\"IssuesEvent\"") != std::string_view::npos;
  bool comment = line.find("\"IssueCommentEvent\"") != std::string_view::npos;
  bool pull = line.find("\"PullRequestEvent\"") != std::string_view::npos;
  if (!issue && !comment && !pull) return absl::OkStatus();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  fixmine::v1::GhArchiveEvent e;
  if (!google::protobuf::util::JsonStringToMessage(std::string(line), &e, options).ok()) {
    ++stats->bad_lines;
    return absl::OkStatus();
  }
  const std::string& repo = e.repo().name();
  if (repo.empty()) return absl::OkStatus();
  if (e.type() == "IssuesEvent" || e.type() == "IssueCommentEvent") {
    const auto& i = e.payload().issue();
    if (i.number() <= 0) return absl::OkStatus();
    ++stats->events;
    if (!i.has_pull_request()) {
      Item item;
      item.set_github_repo(repo);
      *item.mutable_issue() = i;
      if (absl::Status st = visit(std::move(item)); !st.ok()) return st;
    }
    if (e.type() == "IssueCommentEvent" && e.payload().has_comment()) {
      Item item;
      item.set_github_repo(repo);
      *item.mutable_comment() = e.payload().comment();
      item.set_issue_number(i.number());
      return visit(std::move(item));
    }
    return absl::OkStatus();
  }
  if (e.type() == "PullRequestEvent" && e.payload().pull_request().number() > 0) {
    ++stats->events;
    Item item;
    item.set_github_repo(repo);
    *item.mutable_pull() = e.payload().pull_request();
    return visit(std::move(item));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ReadGhArchive(const std::string& path, const std::function<absl::Status(Item)>& visit,
                           GhArchiveStats* stats) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError(absl::StrCat("GH Archive dump \"", path, "\" is not a file"));
  }
  // gzread reads plain files as they are, so uncompressed JSON Lines work too.
  std::unique_ptr<gzFile_s, int (*)(gzFile)> f(gzopen(path.c_str(), "rb"), gzclose);
  if (!f) return absl::NotFoundError(absl::StrCat("opening \"", path, "\" failed"));
  std::string buf, line;
  std::vector<char> chunk(1 << 20);
  for (;;) {
    int n = gzread(f.get(), chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n < 0) {
      int err = 0;
      const char* msg = gzerror(f.get(), &err);
      return absl::DataLossError(
          absl::StrCat("reading \"", path, "\": ", msg ? msg : "gzip error"));
    }
    if (n == 0) break;
    buf.append(chunk.data(), static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view l(buf.data() + start, nl - start);
      if (!l.empty()) {
        if (absl::Status st = HandleLine(l, visit, stats); !st.ok()) return st;
      }
    }
    buf.erase(0, start);
    if (buf.size() > kMaxLine) {
      return absl::InvalidArgumentError(
          absl::StrCat("reading \"", path, "\": a line is longer than 64 MiB"));
    }
  }
  if (!buf.empty()) return HandleLine(buf, visit, stats);
  return absl::OkStatus();
}

}  // namespace fixmine::github
