#include "pipeline/benchmarks.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "fmt/format.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace fixmine::pipeline {

absl::StatusOr<std::vector<fixmine::v1::BenchmarkItem>> ReadBenchmarkItems(
    const std::vector<std::string>& files, std::string_view field) {
  std::vector<fixmine::v1::BenchmarkItem> items;
  for (const std::string& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return absl::InvalidArgumentError(fmt::format("cannot read \"{}\"", path));
    std::string base = std::filesystem::path(path).filename().string();
    if (!path.ends_with(".jsonl")) {
      std::stringstream ss;
      ss << in.rdbuf();
      fixmine::v1::BenchmarkItem& item = items.emplace_back();
      item.set_id(base);
      item.set_text(ss.str());
      continue;
    }
    std::string line;
    int64_t line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (absl::StripAsciiWhitespace(line).empty()) continue;
      google::protobuf::Struct obj;
      if (!google::protobuf::util::JsonStringToMessage(line, &obj).ok()) {
        return absl::InvalidArgumentError(fmt::format("{}:{}: not a JSON object", path, line_no));
      }
      const auto& f = obj.fields();
      auto text = f.find(std::string(field));
      if (text == f.end() || !text->second.has_string_value()) {
        return absl::InvalidArgumentError(
            fmt::format("{}:{}: no string field \"{}\"", path, line_no, field));
      }
      std::string id = fmt::format("{}:{}", base, line_no);
      for (const char* key : {"task_id", "instance_id"}) {
        auto k = f.find(key);
        if (k != f.end() && k->second.has_string_value()) {
          id = k->second.string_value();
          break;
        }
      }
      fixmine::v1::BenchmarkItem& item = items.emplace_back();
      item.set_id(id);
      item.set_text(text->second.string_value());
    }
  }
  return items;
}

void IndexBenchmark(const fixmine::v1::Benchmark& benchmark, curation::NgramIndex* index) {
  int n = benchmark.ngram() > 0 ? benchmark.ngram() : curation::kDefaultNgram;
  for (const fixmine::v1::BenchmarkItem& item : benchmark.items()) {
    for (uint64_t h : curation::NgramHashes(item.text(), n)) {
      index->Add(n, h, benchmark.name(), item.id());
    }
  }
}

}  // namespace fixmine::pipeline
