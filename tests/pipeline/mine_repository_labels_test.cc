// Issue 20 through the one mining sequence (pipeline/mine_repository.h): the repository's
// profile decides what a `.h` file with no telling content is, and the license detection's
// SPDX expression and unsure marker reach every record.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "pipeline/mine_repository.h"
#include "tests/testutil/git_repo.h"

namespace fixmine::pipeline {
namespace {

using fixmine::v1::Record;
using testutil::GitRepo;

class CollectSink : public MiningSink {
 public:
  absl::Status Put(Record&& record, std::string&&, const miner::WalkStats&) override {
    records[record.subject()] = std::move(record);
    return absl::OkStatus();
  }
  absl::Status FlushRecords(const miner::WalkStats&) override { return absl::OkStatus(); }
  absl::Status PutTrajectories(std::vector<fixmine::v1::Trajectory>*) override {
    return absl::OkStatus();
  }
  std::map<std::string, Record> records;  // by subject
};

std::map<std::string, Record> MineAll(const std::string& path) {
  MiningSpec spec;
  spec.path = path;
  spec.record.repo_name = "labels";
  CollectSink sink;
  MiningResult result;
  absl::Status st = MineRepository(spec, &sink, &result);
  EXPECT_TRUE(st.ok()) << st;
  return std::move(sink.records);
}

std::string LanguageOf(const Record& r, const std::string& path) {
  for (const auto& f : r.files()) {
    if (f.path() == path) return f.language();
  }
  ADD_FAILURE() << path << " not in " << r.subject();
  return "";
}

// A header that could be C in a repository of .cc files is C++; the same header in a
// repository of .c files is C; an Objective-C header is Objective-C wherever it is.
TEST(MineRepositoryLabels, Issue20HeaderLanguageFromTheRepositoryAndTheContent) {
  const std::string plain_header = "#pragma once\nint add(int a, int b);\n";
  GitRepo cpp;
  cpp.Write("src/add.cc", "#include \"add.h\"\nint add(int a, int b) { return a + b; }\n");
  cpp.Write("src/add.h", plain_header);
  cpp.Write("src/view.h", "#import <Foundation/Foundation.h>\n@interface View : NSObject\n@end\n");
  cpp.CommitAll("Add add\n");
  std::map<std::string, Record> c1 = MineAll(cpp.path());
  ASSERT_EQ(c1.count("Add add"), 1u);
  EXPECT_EQ(LanguageOf(c1["Add add"], "src/add.h"), "C++");
  EXPECT_EQ(LanguageOf(c1["Add add"], "src/add.cc"), "C++");
  EXPECT_EQ(LanguageOf(c1["Add add"], "src/view.h"), "Objective-C");

  GitRepo c;
  c.Write("src/add.c", "#include \"add.h\"\nint add(int a, int b) { return a + b; }\n");
  c.Write("src/add.h", plain_header);
  c.Write("src/vec.h", "#include <vector>\nstd::vector<int> Ones();\n");
  c.CommitAll("Add add\n");
  std::map<std::string, Record> c2 = MineAll(c.path());
  ASSERT_EQ(c2.count("Add add"), 1u);
  EXPECT_EQ(LanguageOf(c2["Add add"], "src/add.h"), "C");
  EXPECT_EQ(LanguageOf(c2["Add add"], "src/vec.h"), "C++");  // the content wins
}

TEST(MineRepositoryLabels, Issue20LicenseExpressionAndUnsureOnRecords) {
  GitRepo repo;
  repo.Write("COPYING",
             "Note that the only valid version of the GPL as far as this project is concerned "
             "is _this_ particular version of the license (ie v2).\n\nLINKING EXCEPTION\n\n"
             "In addition to the permissions in the GNU General Public License, the authors "
             "give you unlimited permission to link the compiled version of this library into "
             "combinations with other programs.\n\nGNU GENERAL PUBLIC LICENSE\nVersion 2, June "
             "1991\n\nGNU LESSER GENERAL PUBLIC LICENSE\nVersion 2.1, February 1999\n");
  repo.CommitAll("Add the license\n");
  std::map<std::string, Record> r = MineAll(repo.path());
  ASSERT_EQ(r.count("Add the license"), 1u);
  EXPECT_EQ(r["Add the license"].license(), "GPL-2.0-only WITH GCC-exception-2.0");
  EXPECT_FALSE(r["Add the license"].license_unsure());

  repo.Write("COPYING", "Copyright the authors. Ask before you copy.\n");
  repo.CommitAll("Change the license\n");
  r = MineAll(repo.path());
  ASSERT_EQ(r.count("Change the license"), 1u);
  EXPECT_EQ(r["Change the license"].license(), "");
  EXPECT_TRUE(r["Change the license"].license_unsure());
}

}  // namespace
}  // namespace fixmine::pipeline
