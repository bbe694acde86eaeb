#include "tests/crash/crash_util.h"

#include <cstdint>

#include "fmt/format.h"
#include "tests/testutil/history.h"

namespace fixmine::crashtest {

void BuildHistory(testutil::GitRepo& repo, int n, int line_bytes) {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789 _+-*/=;(){}";
  uint64_t state = 0x9e3779b97f4a7c15ull;
  testutil::ImportHistory(repo, n, [&](int i) {
    testutil::SyntheticCommit c;
    c.message = (i % 5 == 0) ? fmt::format("Fix overflow in step {}\n\nFixes #{}\n", i, i)
                             : fmt::format("Change step {}\n", i);
    c.path = fmt::format("src/file{}.c", i % 9);
    c.content.reserve(30 * (static_cast<size_t>(line_bytes) + 1));
    for (int l = 0; l < 30; ++l) {
      for (int b = 0; b < line_bytes; ++b) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        c.content.push_back(kAlphabet[(state >> 33) % (sizeof(kAlphabet) - 1)]);
      }
      c.content.push_back('\n');
    }
    return c;
  });
}

}  // namespace fixmine::crashtest
