#include "common/trajectory_format.h"

#include <algorithm>
#include <functional>
#include <set>
#include <tuple>
#include <utility>

#include "common/encoding.h"
#include "common/record_json.h"
#include "common/status.h"
#include "fmt/format.h"

namespace fixmine {
namespace {

// A JSON string literal of `text`; text that is not UTF-8 is read as ISO-8859-1 first.
void AppendString(std::string_view text, std::string* out) {
  if (IsValidUtf8(text)) {
    AppendJsonString(text, out);
  } else {
    AppendJsonString(Latin1ToUtf8(text), out);
  }
}

std::string Message(std::string_view role, std::string_view content) {
  std::string m = "{\"role\":";
  AppendString(role, &m);
  m.append(",\"content\":");
  AppendString(content, &m);
  m.push_back('}');
  return m;
}

}  // namespace

std::string RenderTrajectoryChat(const fixmine::v1::Trajectory& t,
                                 const std::vector<const fixmine::v1::Record*>& steps,
                                 size_t max_patch_bytes) {
  // Patches left out for the budget, by (step, file): the largest first.
  std::set<std::pair<size_t, int>> shed;
  if (max_patch_bytes > 0) {
    std::vector<std::tuple<size_t, size_t, int>> sizes;  // (bytes, step, file)
    size_t total = 0;
    for (size_t i = 0; i < steps.size(); ++i) {
      if (steps[i] == nullptr) continue;
      for (int f = 0; f < steps[i]->files_size(); ++f) {
        size_t n = steps[i]->files(f).patch().size();
        total += n;
        if (n > 0) sizes.emplace_back(n, i, f);
      }
    }
    std::sort(sizes.begin(), sizes.end(), std::greater<>());
    for (size_t k = 0; k < sizes.size() && total > max_patch_bytes; ++k) {
      total -= std::get<0>(sizes[k]);
      shed.emplace(std::get<1>(sizes[k]), std::get<2>(sizes[k]));
    }
  }
  std::string system = fmt::format(
      "You are an expert software engineer working on the pull request \"{}\" in repository "
      "{}. For each change request, reply with a unified diff (as `git diff` prints it) that "
      "makes the change on top of the previous ones.",
      t.title(), t.repo());
  std::string messages = "[" + Message("system", system);
  for (size_t i = 0; i < steps.size(); ++i) {
    const fixmine::v1::Record* r = steps[i];
    if (r == nullptr) continue;
    std::string msg = r->message().empty() ? r->subject() : r->message();
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ' || msg.back() == '\r')) {
      msg.pop_back();
    }
    std::string diff;
    for (int k = 0; k < r->files_size(); ++k) {
      if (shed.count({i, k}) > 0) continue;
      const fixmine::v1::FileChange& f = r->files(k);
      diff.append(f.patch());
      if (!diff.empty() && diff.back() != '\n') diff.push_back('\n');
    }
    messages += "," + Message("user", msg) + "," + Message("assistant", diff);
  }
  messages.push_back(']');
  std::string row = "{\"trajectory_id\":";
  AppendString(t.id(), &row);
  row.append(",\"repo\":");
  AppendString(t.repo(), &row);
  row.append(fmt::format(",\"pr_number\":{},\"title\":", t.pr_number()));
  AppendString(t.title(), &row);
  row.append(",\"messages\":");
  row.append(messages);
  if (!shed.empty()) {
    row.append(
        fmt::format(",\"shed\":{{\"patches\":{},\"reason\":\"the steps' patches are over the "
                    "{}-byte budget (--max-record-bytes): the largest were left out\"}}",
                    shed.size(), max_patch_bytes));
  }
  row.push_back('}');
  return row;
}

absl::StatusOr<bool> ParseTrajectoryFormat(std::string_view name) {
  if (name.empty() || name == "raw") return false;
  if (name == "chat") return true;
  return absl::InvalidArgumentError(
      fmt::format("unknown trajectory format {}; use raw or chat", QuoteInput(name)));
}

}  // namespace fixmine
