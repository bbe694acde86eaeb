#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/message.h"

namespace fixmine::client {

struct CliContext;

// The one printer of `--output table|json|jsonl` (docs/architecture.md, "Client"). A message
// that cannot be rendered as JSON (protobuf's printer refuses it) is not printed: the printer
// says so on stderr ("fixmine COMMAND: rendering TYPE as JSON: CAUSE"), remembers it, and the
// command then exits 1 (RunCli checks failed()). One printer per command run; not thread-safe.
class Printer {
 public:
  // Prints to ctx.out as ctx.output says; failures go to ctx.err named by ctx.command. `ctx`
  // must outlive the printer.
  explicit Printer(const CliContext& ctx) : ctx_(ctx) {}

  // One message: a pretty JSON object (json), one JSON line (jsonl), or `table()` (table).
  void One(const google::protobuf::Message& message, const std::function<std::string()>& table);

  // A list: a JSON array (json), one JSON line each (jsonl), or `header` and a `row` each
  // (table).
  template <typename T>
  void List(const std::vector<T>& items, std::string_view header,
            const std::function<std::string(const T&)>& row) {
    if (IsTable()) {
      std::vector<std::string> rows;
      rows.reserve(items.size());
      for (const T& item : items) rows.push_back(row(item));
      Table(header, rows);
      return;
    }
    std::vector<const google::protobuf::Message*> messages;
    messages.reserve(items.size());
    for (const T& item : items) messages.push_back(&item);
    JsonList(messages);
  }

  // A message as JSON whatever --output says: pretty for json, one line otherwise (`records
  // get`, `trajectories get`).
  void Json(const google::protobuf::Message& message);

  // Appends `message` as one JSON line (with its newline) to `buf`; false (after the report)
  // when it cannot be rendered. For streams and events, which are JSON Lines whatever --output
  // says.
  bool AppendJsonLine(const google::protobuf::Message& message, std::string* buf);

  // Whether a rendering failed.
  bool failed() const { return failed_; }

 private:
  bool IsTable() const;
  void Table(std::string_view header, const std::vector<std::string>& rows);
  void JsonList(const std::vector<const google::protobuf::Message*>& messages);
  // Renders `message` (pretty or as one line) into `text`; false after reporting.
  bool Render(const google::protobuf::Message& message, bool pretty, std::string* text);

  const CliContext& ctx_;
  bool failed_ = false;
};

}  // namespace fixmine::client
