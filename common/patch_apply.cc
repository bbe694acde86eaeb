#include "common/patch_apply.h"

#include <charconv>
#include <vector>

#include "fmt/format.h"

namespace fixmine {
namespace {

// Splits into lines, each keeping its '\n' (the last one may lack it).
std::vector<std::string_view> SplitLines(std::string_view s) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    size_t end = nl == std::string_view::npos ? s.size() : nl + 1;
    lines.push_back(s.substr(pos, end - pos));
    pos = end;
  }
  return lines;
}

bool ParseInt(std::string_view s, int64_t* v) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && end == s.data() + s.size();
}

// Parses "N" or "N,M" (M defaults to 1).
bool ParseRange(std::string_view s, int64_t* start, int64_t* count) {
  size_t comma = s.find(',');
  *count = 1;
  if (comma != std::string_view::npos) {
    if (!ParseInt(s.substr(comma + 1), count)) return false;
    s = s.substr(0, comma);
  }
  return ParseInt(s, start) && *start >= 0 && *count >= 0;
}

// Parses "@@ -a,b +c,d @@ ...".
bool ParseHunkHeader(std::string_view line, int64_t* old_start, int64_t* old_count,
                     int64_t* new_start, int64_t* new_count) {
  if (!line.starts_with("@@ -")) return false;
  line.remove_prefix(4);
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return false;
  if (!ParseRange(line.substr(0, sp), old_start, old_count)) return false;
  line.remove_prefix(sp + 1);
  if (!line.starts_with("+")) return false;
  line.remove_prefix(1);
  sp = line.find(' ');
  if (sp == std::string_view::npos) return false;
  if (!ParseRange(line.substr(0, sp), new_start, new_count)) return false;
  return line.substr(sp).starts_with(" @@");
}

struct PatchLine {
  char op;           // ' ', '-', '+'
  std::string text;  // the line with its '\n' unless a "\ No newline" marker followed
};

}  // namespace

absl::StatusOr<std::string> ApplyUnifiedDiff(std::string_view old_content, std::string_view patch) {
  std::vector<std::string_view> old_lines = SplitLines(old_content);
  std::vector<std::string_view> patch_lines = SplitLines(patch);
  std::string out;
  out.reserve(old_content.size() + patch.size());
  size_t cursor = 0;  // next old line to copy
  size_t i = 0;
  while (i < patch_lines.size() && !patch_lines[i].starts_with("@@ ")) ++i;
  int hunk_no = 0;
  while (i < patch_lines.size()) {
    ++hunk_no;
    std::string_view header = patch_lines[i];
    if (header.ends_with('\n')) header.remove_suffix(1);
    int64_t old_start, old_count, new_start, new_count;
    if (!ParseHunkHeader(header, &old_start, &old_count, &new_start, &new_count)) {
      return absl::FailedPreconditionError(
          fmt::format("applying patch: hunk {}: bad header \"{}\"", hunk_no, header));
    }
    ++i;
    std::vector<PatchLine> body;
    int64_t seen_old = 0, seen_new = 0;
    while (i < patch_lines.size() && (seen_old < old_count || seen_new < new_count ||
                                      (!patch_lines[i].empty() && patch_lines[i][0] == '\\'))) {
      std::string_view l = patch_lines[i++];
      char op = l[0];    // SplitLines never yields an empty line
      if (op == '\n') {  // an empty context line whose leading space was stripped
        body.push_back({' ', "\n"});
        ++seen_old;
        ++seen_new;
        continue;
      }
      if (op == '\\') {  // "\ No newline at end of file" applies to the line before it
        if (body.empty() || body.back().text.empty() || body.back().text.back() != '\n') {
          return absl::FailedPreconditionError(
              fmt::format("applying patch: hunk {}: stray \"\\\" line", hunk_no));
        }
        body.back().text.pop_back();
        continue;
      }
      if (op != ' ' && op != '-' && op != '+') {
        return absl::FailedPreconditionError(
            fmt::format("applying patch: hunk {}: line {} of the hunk starts with '{}'", hunk_no,
                        body.size() + 1, op));
      }
      if (op != '+') ++seen_old;
      if (op != '-') ++seen_new;
      body.push_back({op, std::string(l.substr(1))});
    }
    if (seen_old != old_count || seen_new != new_count) {
      return absl::FailedPreconditionError(fmt::format(
          "applying patch: hunk {}: header promises -{} +{} lines, the body has -{} +{}", hunk_no,
          old_count, new_count, seen_old, seen_new));
    }
    // With no old lines, old_start is the line after which the new lines go.
    size_t first = static_cast<size_t>(old_count == 0 ? old_start : old_start - 1);
    if (first < cursor || first > old_lines.size()) {
      return absl::FailedPreconditionError(
          fmt::format("applying patch: hunk {}: starts at old line {}, outside the {} lines left",
                      hunk_no, old_start, old_lines.size()));
    }
    for (; cursor < first; ++cursor) out.append(old_lines[cursor]);
    for (const PatchLine& pl : body) {
      if (pl.op == '+') {
        out.append(pl.text);
        continue;
      }
      if (cursor >= old_lines.size() || old_lines[cursor] != pl.text) {
        return absl::FailedPreconditionError(fmt::format(
            "applying patch: hunk {}: old line {} does not match the patch", hunk_no, cursor + 1));
      }
      if (pl.op == ' ') out.append(pl.text);
      ++cursor;
    }
    while (i < patch_lines.size() && !patch_lines[i].starts_with("@@ ")) {
      // Nothing but hunks follows the first one in git's output.
      return absl::FailedPreconditionError(
          fmt::format("applying patch: unexpected text after hunk {}", hunk_no));
    }
  }
  for (; cursor < old_lines.size(); ++cursor) out.append(old_lines[cursor]);
  return out;
}

}  // namespace fixmine
