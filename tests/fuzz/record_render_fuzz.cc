// libFuzzer target: record rendering (JSON lines and every export template, including the patch
// applier behind commitpack), over records whose every field a repository controls. The input is
// a binary-serialized Record, or a JSON record (proto field names) when it starts with '{'.
// Checks: the fast JSON writer prints byte for byte what protobuf's printer prints whenever it
// accepts a record, and each format renders or fails with a status, never a fault.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/formats.h"
#include "common/json.h"
#include "common/record_json.h"
#include "google/protobuf/util/json_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fixmine::v1::Record record;
  if (size > 0 && data[0] == '{') {
    std::string json(reinterpret_cast<const char*>(data), size);
    google::protobuf::util::JsonParseOptions opts;
    opts.ignore_unknown_fields = true;
    if (!google::protobuf::util::JsonStringToMessage(json, &record, opts).ok()) return 0;
  } else if (!record.ParseFromArray(data, static_cast<int>(size))) {
    return 0;
  }
  std::string fast;
  if (fixmine::AppendRecordJson(record, &fast)) {
    auto slow = fixmine::ToJsonLine(record);
    if (!slow.ok() || *slow != fast) std::abort();
  }
  for (const std::string& name : fixmine::RecordFormatNames()) {
    auto format = fixmine::ParseRecordFormat(name);
    if (!format.ok()) std::abort();
    std::vector<std::string> rows;
    (void)fixmine::RenderRecord(record, *format, &rows);
  }
  for (const auto& file : record.files()) {
    (void)fixmine::RebuildNewContent(file);
    (void)fixmine::IsTestPath(file.path());
  }
  return 0;
}
