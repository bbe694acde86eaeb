#include "tests/crash/crash_util.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>

#include "fmt/format.h"

namespace fixmine::crashtest {

void BuildHistory(testutil::GitRepo& repo, int n, int line_bytes) {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789 _+-*/=;(){}";
  std::string stream;
  uint64_t state = 0x9e3779b97f4a7c15ull;
  for (int i = 1; i <= n; ++i) {
    std::string msg = (i % 5 == 0) ? fmt::format("Fix overflow in step {}\n\nFixes #{}\n", i, i)
                                   : fmt::format("Change step {}\n", i);
    std::string body;
    for (int l = 0; l < 30; ++l) {
      for (int b = 0; b < line_bytes; ++b) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        body.push_back(kAlphabet[(state >> 33) % (sizeof(kAlphabet) - 1)]);
      }
      body.push_back('\n');
    }
    stream += fmt::format(
        "commit refs/heads/main\nmark :{}\n"
        "author Ada <ada@example.com> {} +0000\ncommitter Ada <ada@example.com> {} +0000\n"
        "data {}\n{}",
        i, 1700000000 + i * 60, 1700000000 + i * 60, msg.size(), msg);
    if (i > 1) stream += fmt::format("from :{}\n", i - 1);
    stream += fmt::format("M 100644 inline src/file{}.c\ndata {}\n{}\n", i % 9, body.size(), body);
  }
  testutil::TempDir tmp;
  std::string path = tmp.path() + "/stream";
  {
    std::ofstream f(path, std::ios::binary);
    f << stream;
  }
  repo.Git("fast-import --quiet < " + testutil::ShellQuote(path));
  repo.Git("reset -q --hard main");
}

std::map<std::string, fixmine::v1::Record> AllRecords(client::FixmineClient& c, bool* ok) {
  std::map<std::string, fixmine::v1::Record> out;
  fixmine::v1::StreamRecordsRequest req;
  absl::Status st = c.StreamRecords(req, [&](const fixmine::v1::StreamRecordsResponse& b) {
    for (const auto& r : b.records()) {
      EXPECT_TRUE(out.emplace(r.id(), r).second) << "record " << r.id() << " streamed twice";
    }
    return true;
  });
  *ok = st.ok();
  EXPECT_TRUE(st.ok()) << st;
  return out;
}

}  // namespace fixmine::crashtest
