#include "client/printer.h"

#include <ostream>

#include "client/cli.h"
#include "common/json.h"

namespace fixmine::client {

bool Printer::Render(const google::protobuf::Message& message, bool pretty, std::string* text) {
  absl::StatusOr<std::string> rendered = pretty ? ToPrettyJson(message) : ToJsonLine(message);
  if (!rendered.ok()) {
    *ctx_.err << "fixmine " << ctx_.command << ": rendering " << message.GetTypeName()
              << " as JSON: " << rendered.status().message() << "\n";
    failed_ = true;
    return false;
  }
  *text = std::move(*rendered);
  return true;
}

bool Printer::IsTable() const { return ctx_.output != "json" && ctx_.output != "jsonl"; }

void Printer::One(const google::protobuf::Message& message,
                  const std::function<std::string()>& table) {
  if (IsTable()) {
    *ctx_.out << table();
    return;
  }
  std::string text;
  if (Render(message, ctx_.output == "json", &text)) *ctx_.out << text << "\n";
}

void Printer::Json(const google::protobuf::Message& message) {
  std::string text;
  if (Render(message, ctx_.output == "json", &text)) *ctx_.out << text << "\n";
}

bool Printer::AppendJsonLine(const google::protobuf::Message& message, std::string* buf) {
  std::string text;
  if (!Render(message, false, &text)) return false;
  buf->append(text);
  buf->push_back('\n');
  return true;
}

void Printer::Table(std::string_view header, const std::vector<std::string>& rows) {
  *ctx_.out << header << "\n";
  for (const std::string& row : rows) *ctx_.out << row << "\n";
}

void Printer::JsonList(const std::vector<const google::protobuf::Message*>& messages) {
  std::ostream& out = *ctx_.out;
  bool pretty = ctx_.output == "json";
  if (pretty) out << "[";
  bool first = true;
  for (const google::protobuf::Message* m : messages) {
    std::string text;
    if (!Render(*m, pretty, &text)) continue;
    if (pretty) out << (first ? "\n" : ",\n");
    out << text;
    if (!pretty) out << "\n";
    first = false;
  }
  if (pretty) out << (first ? "]\n" : "\n]\n");
}

}  // namespace fixmine::client
