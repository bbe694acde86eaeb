// One mining pipeline (pipeline/mine_repository.h): the records the real fixmined streams and
// the records `fixmine extract --repo-list` writes over 3 shards are the same set, field for
// field, for the same repositories and policies (the server's defaults on both sides, the same
// benchmark registered with `fixmine bench add` and passed as --bench).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "fixmine/v1/records.pb.h"
#include "fmt/format.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/testutil/benchmark_text.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

namespace fs = std::filesystem;
using testutil::CommandResult;
using testutil::ShellQuote;

constexpr char kAwsKey[] = "AKIAQ7X2M4L9TR3PWZ5N";

// HumanEval/0's canonical solution; the benchmark repository pastes it with other spacing and
// case.
constexpr const char* kSolution = testutil::kHumanEvalZeroSolution;

// Records by id from JSON Lines.
std::map<std::string, fixmine::v1::Record> ParseRecords(const std::string& jsonl) {
  std::map<std::string, fixmine::v1::Record> out;
  std::istringstream in(jsonl);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    fixmine::v1::Record r;
    google::protobuf::util::JsonParseOptions opts;
    opts.ignore_unknown_fields = true;
    auto st = google::protobuf::util::JsonStringToMessage(line, &r, opts);
    EXPECT_TRUE(st.ok()) << line;
    EXPECT_TRUE(out.emplace(r.id(), r).second) << "id " << r.id() << " appears twice";
  }
  return out;
}

// Fields only a store can know, cleared before comparing: exact and near-duplicate links
// (the store's dedup across everything it holds; docs/curation.md) and the MinHash signature
// (indexed by the store, then cleared from the stored record; the sharded run does not compute
// it).
void ClearStoreOnlyFields(fixmine::v1::Record* r) {
  r->clear_duplicate_of();
  r->clear_near_duplicate_of();
  r->clear_near_duplicate_similarity();
  r->clear_minhash();
}

class PipelineParity : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(work_.path() + "/repos/a");
    fs::create_directories(work_.path() + "/repos/b");
    // 1: a planted AWS key.
    auto key = Add("repos/keyrepo");
    key->Write("README.md", "key repository\n");
    key->CommitAll("Initial commit\n");
    key->Write("config.py", fmt::format("AWS_KEY_ID = \"{}\"\n", kAwsKey));
    key->CommitAll("Add configuration loader\n");
    key->Write("config.py", "AWS_KEY_ID = os.environ[\"AWS_KEY_ID\"]\n");
    key->CommitAll("Fix the leaked key by reading it from the environment\n");
    // 2: a commit pasting the benchmark solution with other spacing and case; cloned by URL.
    auto bench = Add("repos/benchrepo");
    bench->Write("src/other.py", "def check(values):\n    return False\n");
    bench->CommitAll("Add check\n");
    bench->Write("src/close.py", testutil::kHumanEvalZeroPasted);
    pasted_ = bench->CommitAll("Add has_close_elements\n");
    // 3 and 4: the same last path component ("lib") in different folders, identical histories
    // (the same commit ids), so only the repository name tells their records apart.
    for (const char* dir : {"repos/a/lib", "repos/b/lib"}) {
      auto lib = Add(dir);
      lib->Write("lib.c", "int f(void) { return 1; }\n");
      lib->CommitAll("Add f\n");
      lib->Write("lib.c", "int f(void) { return 2; }\n");
      lib->CommitAll("Fix f returning the wrong value\n");
    }
    bench_file_ = work_.path() + "/humaneval0.py";
    std::ofstream(bench_file_) << kSolution;
    url_ = "file://" + work_.path() + "/repos/benchrepo";
    std::ofstream list(work_.path() + "/list.txt");
    list << "repos/keyrepo\n" << url_ << "\nrepos/a/lib a/lib\nrepos/b/lib   b/lib\n";
  }

  // A repository built in its own folder, reachable as `rel` under the work folder.
  testutil::GitRepo* Add(const std::string& rel) {
    repos_.push_back(std::make_unique<testutil::GitRepo>());
    fs::create_directory_symlink(repos_.back()->path(), work_.path() + "/" + rel);
    return repos_.back().get();
  }

  // All shards' records (decompressed JSON Lines) of `extract --repo-list` into `out`.
  std::string Shards(const std::string& out, const std::string& extra) {
    std::string all;
    for (int i = 0; i < 3; ++i) {
      CommandResult r = testutil::RunShell(fmt::format(
          "cd {} && {} extract --repo-list list.txt --all --shard-index {} --shard-count 3 "
          "--out {} --bench humaneval={} -q {}",
          ShellQuote(work_.path()), ShellQuote(testutil::CliPath()), i, out,
          ShellQuote(bench_file_), extra));
      EXPECT_EQ(r.exit_code, 0) << r.err;
      std::string file = fmt::format("{}/{}/train-{}-of-3.jsonl.zst", work_.path(), out, i);
      CommandResult z = testutil::RunShell("zstd -dc " + ShellQuote(file));
      EXPECT_EQ(z.exit_code, 0) << z.err;
      all += z.out;
    }
    return all;
  }

  void ExpectSameRecords(const std::string& server_jsonl, const std::string& shard_jsonl) {
    auto server = ParseRecords(server_jsonl);
    auto shards = ParseRecords(shard_jsonl);
    std::set<std::string> server_ids, shard_ids;
    for (const auto& [id, r] : server) server_ids.insert(id);
    for (const auto& [id, r] : shards) shard_ids.insert(id);
    EXPECT_EQ(server_ids, shard_ids);
    for (auto& [id, r] : server) {
      auto it = shards.find(id);
      if (it == shards.end()) continue;  // reported above
      fixmine::v1::Record a = r, b = it->second;
      ClearStoreOnlyFields(&a);
      ClearStoreOnlyFields(&b);
      std::string diff;
      google::protobuf::util::MessageDifferencer d;
      d.ReportDifferencesToString(&diff);
      EXPECT_TRUE(d.Compare(a, b))
          << "record " << id << " (" << r.repo() << " " << r.commit() << ") differs:\n"
          << diff;
    }
  }

  testutil::TempDir work_;
  std::vector<std::unique_ptr<testutil::GitRepo>> repos_;
  std::string bench_file_;
  std::string url_;
  std::string pasted_;
};

TEST_F(PipelineParity, ServerAndShardedRunGiveTheSameRecords) {
  std::string root = fs::temp_directory_path().string();
  testutil::TestServer server(root, {"--allow-scheme", "file"});
  ASSERT_TRUE(server.Start());
  CommandResult bench = server.Cli("bench add humaneval " + ShellQuote(bench_file_));
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  // Default names on the server: the folder name of a path, host and path of a URL.
  std::string w = work_.path();
  for (const std::string& args :
       {"repo add " + ShellQuote(w + "/repos/keyrepo"), "repo add " + ShellQuote(url_),
        "repo add " + ShellQuote(w + "/repos/a/lib") + " --name a/lib",
        "repo add " + ShellQuote(w + "/repos/b/lib") + " --name b/lib"}) {
    CommandResult add = server.Cli(args);
    ASSERT_EQ(add.exit_code, 0) << args << ": " << add.err;
  }
  std::string url_name = w.substr(1) + "/repos/benchrepo";  // file:// has no host
  CommandResult list = server.Cli("repo list --output jsonl");
  EXPECT_TRUE(absl::StrContains(list.out, "\"name\":\"keyrepo\"")) << list.out;
  EXPECT_TRUE(absl::StrContains(list.out, "\"name\":\"" + url_name + "\"")) << list.out;
  for (const std::string& name :
       {std::string("keyrepo"), url_name, std::string("a/lib"), std::string("b/lib")}) {
    CommandResult mine = server.Cli("mine " + ShellQuote(name) + " --wait");
    ASSERT_EQ(mine.exit_code, 0) << name << ": " << mine.err;
  }
  CommandResult plain = server.Cli("records stream");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  CommandResult with = server.Cli("records stream --include-contaminated");
  ASSERT_EQ(with.exit_code, 0) << with.err;

  std::string shards = Shards("out", "");
  std::string shards_with = Shards("out-with", "--include-contaminated");

  // Default outputs: the same records, the key redacted, the contaminated commit absent.
  ExpectSameRecords(plain.out, shards);
  // With contaminated records: their labels agree too.
  ExpectSameRecords(with.out, shards_with);
  for (const std::string* out : {&plain.out, &shards}) {
    EXPECT_FALSE(absl::StrContains(*out, kAwsKey));
    EXPECT_TRUE(absl::StrContains(*out, "REDACTED:aws_access_key"));
    EXPECT_FALSE(absl::StrContains(*out, "\"commit\":\"" + pasted_ + "\""));
    EXPECT_TRUE(absl::StrContains(*out, "\"email\":\"sha256:"));
  }
  EXPECT_TRUE(absl::StrContains(shards_with, "\"commit\":\"" + pasted_ + "\""));
  EXPECT_TRUE(absl::StrContains(shards_with, "\"benchmark\":\"humaneval\""));
  // 3 + 2 (one contaminated left out) + 2 + 2 records; the two "lib" repositories share commit
  // ids but not record ids.
  auto all = ParseRecords(shards_with);
  EXPECT_EQ(all.size(), 9u);
  std::map<std::string, std::set<std::string>> repos_of_commit;
  for (const auto& [id, r] : all) repos_of_commit[r.commit()].insert(r.repo());
  int shared = 0;
  for (const auto& [commit, repos] : repos_of_commit) shared += repos.size() == 2;
  EXPECT_EQ(shared, 2);
  // The markers count the contaminated record.
  int contaminated = 0;
  for (int i = 0; i < 3; ++i) {
    std::ifstream in(fmt::format("{}/out/train-{}-of-3.done", w, i));
    std::stringstream ss;
    ss << in.rdbuf();
    if (absl::StrContains(ss.str(), "\"contaminated\":1,")) ++contaminated;
  }
  EXPECT_EQ(contaminated, 1);
}

}  // namespace
}  // namespace fixmine
