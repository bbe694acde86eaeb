#include "common/formats.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/json.h"
#include "common/patch_apply.h"
#include "common/status.h"
#include "fmt/format.h"

namespace fixmine {
namespace {

using fixmine::v1::FileChange;
using fixmine::v1::Record;

// Writes one JSON object, key by key, in the order given.
class JsonObject {
 public:
  explicit JsonObject(std::string* out) : out_(out) { out_->push_back('{'); }
  JsonObject& Str(std::string_view key, std::string_view value) {
    Key(key);
    AppendValidJsonString(value, out_);
    return *this;
  }
  JsonObject& Int(std::string_view key, int64_t value) {
    Key(key);
    out_->append(std::to_string(value));
    return *this;
  }
  JsonObject& Bool(std::string_view key, bool value) {
    Key(key);
    out_->append(value ? "true" : "false");
    return *this;
  }
  JsonObject& StrList(std::string_view key, const std::vector<std::string>& values) {
    Key(key);
    out_->push_back('[');
    for (size_t i = 0; i < values.size(); ++i) {
      if (i) out_->push_back(',');
      AppendValidJsonString(values[i], out_);
    }
    out_->push_back(']');
    return *this;
  }
  // `json` must be one complete JSON value.
  JsonObject& Raw(std::string_view key, std::string_view json) {
    Key(key);
    out_->append(json);
    return *this;
  }
  void Close() { out_->push_back('}'); }

 private:
  void Key(std::string_view key) {
    if (!first_) out_->push_back(',');
    first_ = false;
    AppendValidJsonString(key, out_);
    out_->push_back(':');
  }
  std::string* out_;
  bool first_ = true;
};

constexpr std::string_view kSystemPrompt =
    "You are an expert software engineer. Given a change request and the contents of the "
    "files it touches, reply with a unified diff (as `git diff` prints it) that makes the "
    "change.";

std::string Rfc3339Utc(int64_t seconds) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(seconds),
                          absl::UTCTimeZone());
}

std::string TrimmedMessage(const Record& r) {
  std::string m = r.message().empty() ? r.subject() : r.message();
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ' || m.back() == '\r')) m.pop_back();
  return m;
}

// Every changed file's patch, in git's order: the diff a model should produce.
std::string Diff(const Record& r, bool (*keep)(const FileChange&) = nullptr) {
  std::string d;
  for (const FileChange& f : r.files()) {
    if (keep != nullptr && !keep(f)) continue;
    d.append(f.patch());
    if (!d.empty() && d.back() != '\n') d.push_back('\n');
  }
  return d;
}

// The user turn: the request (the commit message) and the pre-image of each changed file.
std::string UserPrompt(const Record& r) {
  std::string p = TrimmedMessage(r);
  if (r.files_size() == 0) return p;
  p.append("\n\n## Files before the change\n");
  for (const FileChange& f : r.files()) {
    std::string_view path = f.old_path().empty() ? f.path() : f.old_path();
    if (f.change_type() == fixmine::v1::ADDED) {
      p.append(fmt::format("\n### {} (new file)\n", f.path()));
      continue;
    }
    if (f.binary()) {
      p.append(fmt::format("\n### {} (binary, not shown)\n", path));
      continue;
    }
    if (f.unavailable()) {
      p.append(fmt::format("\n### {} (unavailable)\n", path));
      continue;
    }
    p.append(fmt::format("\n### {}\n```\n", path));
    p.append(f.old_content());
    if (!f.old_content().empty() && f.old_content().back() != '\n') p.push_back('\n');
    if (f.old_content_truncated()) p.append("[... truncated]\n");
    p.append("```\n");
  }
  return p;
}

std::string InstanceId(const Record& r) {
  std::string repo = r.repo();
  for (size_t pos; (pos = repo.find('/')) != std::string::npos;) repo.replace(pos, 1, "__");
  // No pull request numbers are mined yet: the commit stands in for "-N".
  return fmt::format("{}-{}", repo, r.commit().substr(0, 12));
}

std::string ToLower(std::string_view s) {
  std::string l(s);
  for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return l;
}

void RenderCommitpack(const Record& r, std::vector<std::string>* rows) {
  for (const FileChange& f : r.files()) {
    if (f.binary()) continue;
    auto rebuilt = RebuildNewContent(f);
    std::string row;
    JsonObject o(&row);
    o.Str("commit", r.commit())
        .Str("old_file", f.old_path().empty() ? f.path() : f.old_path())
        .Str("new_file", f.path())
        .Str("old_contents", f.old_content())
        .Str("new_contents", rebuilt.ok() ? *rebuilt : std::string())
        .Str("subject", r.subject())
        .Str("message", r.message())
        .Str("lang", f.language())
        .Str("license", r.license())
        .Str("repos", r.repo())
        .Bool("old_contents_truncated", f.old_content_truncated())
        .Bool("new_contents_missing", !rebuilt.ok());
    o.Close();
    rows->push_back(std::move(row));
  }
}

std::string ChatMessage(std::string_view role, std::string_view content) {
  std::string m;
  JsonObject o(&m);
  o.Str("role", role).Str("content", content);
  o.Close();
  return m;
}

std::string ShareGptTurn(std::string_view from, std::string_view value) {
  std::string m;
  JsonObject o(&m);
  o.Str("from", from).Str("value", value);
  o.Close();
  return m;
}

}  // namespace

const std::vector<std::string>& RecordFormatNames() {
  static const std::vector<std::string> kNames = {"raw",      "commitpack", "chat",
                                                  "sharegpt", "swe",        "datatrove"};
  return kNames;
}

std::string RecordFormatName(RecordFormat format) {
  return RecordFormatNames()[static_cast<size_t>(format)];
}

absl::StatusOr<RecordFormat> ParseRecordFormat(std::string_view name) {
  if (name.empty()) return RecordFormat::kRaw;
  const auto& names = RecordFormatNames();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<RecordFormat>(i);
  }
  return absl::InvalidArgumentError(fmt::format("unknown format {}; use one of: {}",
                                                QuoteInput(name), absl::StrJoin(names, ", ")));
}

bool IsTestPath(std::string_view path) {
  std::string p = ToLower(path);
  std::string_view v(p);
  // Folder components.
  static const std::set<std::string, std::less<>> kDirs = {"test",      "tests", "testing", "e2e",
                                                           "__tests__", "spec",  "specs"};
  size_t start = 0;
  while (true) {
    size_t slash = v.find('/', start);
    if (slash == std::string_view::npos) break;
    if (kDirs.count(v.substr(start, slash - start))) return true;
    start = slash + 1;
  }
  std::string_view base = v.substr(start);
  std::string_view orig_base = path.substr(start);
  size_t dot = base.find('.');
  std::string_view stem = dot == std::string_view::npos ? base : base.substr(0, dot);
  std::string_view orig_stem = dot == std::string_view::npos ? orig_base : orig_base.substr(0, dot);
  if (base == "conftest.py") return true;
  if (stem.ends_with("_test") || stem.ends_with("_tests") || stem.ends_with("_spec")) return true;
  // test_*.* (docs/github.md, "Test files"): test_foo.py, test_io.c.
  if (base.starts_with("test_") && base.find('.') != std::string_view::npos) return true;
  if (base.find(".test.") != std::string_view::npos ||
      base.find(".spec.") != std::string_view::npos) {
    return true;
  }
  // FooTest.java, FooTests.cs: CamelCase "Test"/"Tests" suffix (case-sensitive on purpose, so
  // "latest.go" or "contest.py" are not tests).
  if (orig_stem.size() > 4 && (orig_stem.ends_with("Test") || orig_stem.ends_with("Tests"))) {
    return true;
  }
  return false;
}

absl::StatusOr<std::string> RebuildNewContent(const FileChange& f) {
  if (f.binary()) return absl::FailedPreconditionError("binary file");
  if (f.unavailable()) return absl::FailedPreconditionError("file contents are unavailable");
  if (f.change_type() == fixmine::v1::DELETED) return std::string();
  if (!f.new_content().empty() && !f.new_content_truncated()) return f.new_content();
  if (f.old_content_truncated()) {
    return absl::FailedPreconditionError("the pre-image was truncated at the content cap");
  }
  std::string_view old = f.change_type() == fixmine::v1::ADDED ? std::string_view()
                                                               : std::string_view(f.old_content());
  return ApplyUnifiedDiff(old, f.patch());
}

absl::Status RenderRecord(const Record& r, RecordFormat format, std::vector<std::string>* rows) {
  switch (format) {
    case RecordFormat::kRaw: {
      auto line = ToJsonLine(r);
      if (!line.ok()) return line.status();
      rows->push_back(std::move(*line));
      return absl::OkStatus();
    }
    case RecordFormat::kCommitpack:
      RenderCommitpack(r, rows);
      return absl::OkStatus();
    case RecordFormat::kChat: {
      std::string row;
      JsonObject o(&row);
      o.Raw("messages", "[" + ChatMessage("system", kSystemPrompt) + "," +
                            ChatMessage("user", UserPrompt(r)) + "," +
                            ChatMessage("assistant", Diff(r)) + "]");
      o.Close();
      rows->push_back(std::move(row));
      return absl::OkStatus();
    }
    case RecordFormat::kShareGpt: {
      std::string row;
      JsonObject o(&row);
      o.Raw("conversations",
            "[" + ShareGptTurn("human", UserPrompt(r)) + "," + ShareGptTurn("gpt", Diff(r)) + "]");
      o.Close();
      rows->push_back(std::move(row));
      return absl::OkStatus();
    }
    case RecordFormat::kSwe: {
      std::string row;
      JsonObject o(&row);
      o.Str("repo", r.repo())
          .Str("instance_id", InstanceId(r))
          .Str("base_commit", r.parents_size() > 0 ? r.parents(0) : std::string())
          .Str("commit", r.commit())
          .Str("patch", Diff(r, [](const FileChange& f) { return !IsTestPath(f.path()); }))
          .Str("test_patch", Diff(r, [](const FileChange& f) { return IsTestPath(f.path()); }))
          .Str("problem_statement", TrimmedMessage(r))
          .Str("created_at", Rfc3339Utc(r.author().time()));
      o.Close();
      rows->push_back(std::move(row));
      return absl::OkStatus();
    }
    case RecordFormat::kDatatrove: {
      std::vector<std::string> languages;
      int64_t added = 0, deleted = 0;
      for (const FileChange& f : r.files()) {
        if (!f.language().empty() &&
            std::find(languages.begin(), languages.end(), f.language()) == languages.end()) {
          languages.push_back(f.language());
        }
        added += f.added();
        deleted += f.deleted();
      }
      std::string meta;
      JsonObject m(&meta);
      m.Str("repo", r.repo())
          .Str("commit", r.commit())
          .Str("subject", r.subject())
          .Str("created_at", Rfc3339Utc(r.author().time()))
          .Str("committed_at", Rfc3339Utc(r.committer().time()))
          .StrList("languages", languages)
          .Str("license", r.license())
          .Bool("is_fix", r.labels().is_fix())
          .Int("files", r.files_size())
          .Int("added", added)
          .Int("deleted", deleted);
      m.Close();
      std::string row;
      JsonObject o(&row);
      o.Str("text", TrimmedMessage(r) + "\n\n" + Diff(r)).Str("id", r.id()).Raw("metadata", meta);
      o.Close();
      rows->push_back(std::move(row));
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("unknown format");
}

}  // namespace fixmine
