#include "tests/testutil/history.h"

#include <fstream>

#include "fmt/format.h"

namespace fixmine::testutil {

void ImportHistory(GitRepo& repo, int n, const std::function<SyntheticCommit(int)>& make) {
  std::string stream;
  for (int i = 1; i <= n; ++i) {
    const SyntheticCommit c = make(i);
    const long long when = 1700000000LL + 60LL * i;
    stream += fmt::format(
        "commit refs/heads/main\nmark :{}\n"
        "author Ada <ada@example.com> {} +0000\ncommitter Ada <ada@example.com> {} +0000\n"
        "data {}\n{}",
        i, when, when, c.message.size(), c.message);
    if (i > 1) stream += fmt::format("from :{}\n", i - 1);
    stream += fmt::format("M 100644 inline {}\ndata {}\n{}\n", c.path, c.content.size(), c.content);
  }
  TempDir tmp;
  const std::string path = tmp.path() + "/stream";
  {
    std::ofstream f(path, std::ios::binary);
    f << stream;
  }
  repo.Git("fast-import --quiet < " + ShellQuote(path));
  repo.Git("reset -q --hard main");
}

void ImportLinearHistory(GitRepo& repo, int n, const std::string& message_prefix) {
  ImportHistory(repo, n, [&](int i) {
    SyntheticCommit c;
    c.message = fmt::format("{}change {}\n", message_prefix, i);
    c.path = fmt::format("src/file{}.c", i % 7);
    for (int l = 0; l < 40; ++l) c.content += fmt::format("line {} of version {}\n", l, i);
    return c;
  });
}

}  // namespace fixmine::testutil
