// `records stream --format/--sample`, `records export` and `records session` through the real
// fixmine binary against the real fixmined.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

namespace fs = std::filesystem;
using testutil::CommandResult;
using testutil::Lines;
using testutil::ShellQuote;

google::protobuf::Struct Json(const std::string& text) {
  google::protobuf::Struct s;
  auto st = google::protobuf::util::JsonStringToMessage(text, &s);
  EXPECT_TRUE(st.ok()) << st.ToString() << ": " << text.substr(0, 200);
  return s;
}

class ExportCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    repo_ = new testutil::GitRepo();
    for (int i = 0; i < 25; ++i) {
      repo_->Write("src/a.py", "def f():\n    return " + std::to_string(i) + "\n");
      if (i % 5 == 0) repo_->Write("tests/test_a.py", "assert f() == " + std::to_string(i) + "\n");
      repo_->CommitAll("change " + std::to_string(i) + "\n");
    }
    server_ = new testutil::TestServer(repo_->path());
    ASSERT_TRUE(server_->Start());
    CommandResult add = server_->Cli("repo add " + ShellQuote(repo_->path()) + " --name r");
    ASSERT_EQ(add.exit_code, 0) << add.err;
    CommandResult mine = server_->Cli("mine r --wait");
    ASSERT_EQ(mine.exit_code, 0) << mine.err;
  }
  static void TearDownTestSuite() {
    delete server_;
    delete repo_;
  }
  static testutil::GitRepo* repo_;
  static testutil::TestServer* server_;
};
testutil::GitRepo* ExportCli::repo_ = nullptr;
testutil::TestServer* ExportCli::server_ = nullptr;

TEST_F(ExportCli, ShardsAndManifestRoundTrip) {
  testutil::TempDir dir;
  std::string out = dir.path() + "/ds";
  CommandResult r = server_->Cli("records export --format commitpack --shard-records 10 --out " +
                                 ShellQuote(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("25/25 records"), std::string::npos) << r.err;  // the progress bar
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(out)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  ASSERT_EQ(names, (std::vector<std::string>{"manifest.json", "train-00000-of-00003.jsonl.zst",
                                             "train-00001-of-00003.jsonl.zst",
                                             "train-00002-of-00003.jsonl.zst"}));
  std::ifstream mf(out + "/manifest.json");
  std::string manifest((std::istreambuf_iterator<char>(mf)), std::istreambuf_iterator<char>());
  auto m = Json(manifest);
  EXPECT_EQ(m.fields().at("format").string_value(), "commitpack");
  EXPECT_EQ(m.fields().at("total_records").number_value(), 25);
  EXPECT_EQ(m.fields().at("counted_records").number_value(), 25);
  EXPECT_FALSE(m.fields().at("fixmine_version").string_value().empty());
  EXPECT_NE(m.fields().at("store_generation").string_value(), "0");
  const auto& shards = m.fields().at("shards").list_value();
  ASSERT_EQ(shards.values_size(), 3);
  int64_t rows = 0;
  for (int i = 0; i < 3; ++i) {
    const auto& sf = shards.values(i).struct_value().fields();
    EXPECT_EQ(sf.at("records").number_value(), i < 2 ? 10 : 5);
    std::string file = out + "/" + sf.at("file").string_value();
    CommandResult z = testutil::RunShell("zstd -dc " + ShellQuote(file));
    ASSERT_EQ(z.exit_code, 0) << z.err;
    auto lines = Lines(z.out);
    EXPECT_EQ(static_cast<double>(lines.size()), sf.at("rows").number_value());
    for (const auto& l : lines) {
      auto row = Json(l);
      EXPECT_EQ(row.fields().at("repos").string_value(), "r");
      EXPECT_FALSE(row.fields().at("new_contents_missing").bool_value()) << l;
    }
    rows += static_cast<int64_t>(lines.size());
  }
  EXPECT_EQ(rows, 25 + 5);  // one row per changed file
  EXPECT_EQ(m.fields().at("total_rows").number_value(), 30);

  // A second export into the same folder needs --overwrite.
  r = server_->Cli("records export -q --out " + ShellQuote(out));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--overwrite"), std::string::npos) << r.err;
  r = server_->Cli("records export -q --overwrite --filter 'path:\"tests/*\"' --out " +
                   ShellQuote(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  CommandResult z = testutil::RunShell("zstd -dc " + ShellQuote(out) + "/train-*.jsonl.zst");
  EXPECT_EQ(Lines(z.out).size(), 5u);
  CommandResult count = server_->Cli("records count --filter 'path:\"tests/*\"'");
  EXPECT_EQ(count.out, "5\n");
}

// extract --format renders offline what the server renders; commitpack's rebuilt new_contents
// equal `git show COMMIT:path`.
TEST_F(ExportCli, ExtractRendersFormatsOffline) {
  CommandResult r = testutil::RunShell(ShellQuote(testutil::CliPath()) + " extract -q " +
                                       ShellQuote(repo_->path()) + " --name r --format commitpack");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto rows = Lines(r.out);
  ASSERT_EQ(rows.size(), 30u);
  for (const auto& l : rows) {
    auto row = Json(l);
    std::string commit = row.fields().at("commit").string_value();
    std::string path = row.fields().at("new_file").string_value();
    CommandResult want = testutil::RunShell("git -C " + ShellQuote(repo_->path()) + " show " +
                                            commit + ":" + ShellQuote(path));
    EXPECT_EQ(row.fields().at("new_contents").string_value(), want.out) << commit << " " << path;
  }
  r = testutil::RunShell(ShellQuote(testutil::CliPath()) + " extract -q " +
                         ShellQuote(repo_->path()) + " --name r --format swe");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Lines(r.out).size(), 25u);
  r = testutil::RunShell(ShellQuote(testutil::CliPath()) + " extract -q " +
                         ShellQuote(repo_->path()) + " --format alpaca");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("raw, commitpack, chat"), std::string::npos) << r.err;
}

TEST_F(ExportCli, UsageErrorsExitTwo) {
  testutil::TempDir dir;
  CommandResult r = server_->Cli("records export --format alpaca --out " + ShellQuote(dir.path()));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("raw, commitpack, chat, sharegpt, swe, datatrove"), std::string::npos)
      << r.err;
  r = server_->Cli("records export --preset nosuchpreset --out " + ShellQuote(dir.path()));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("commitpackft"), std::string::npos) << r.err;  // names the presets
  // A preset export holds what `records count --preset` counts.
  r = server_->Cli("records export -q --preset default --out " + ShellQuote(dir.path() + "/p"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  CommandResult n = server_->Cli("records count --preset default");
  CommandResult z = testutil::RunShell("zstd -dc " + ShellQuote(dir.path()) + "/p/train-*");
  EXPECT_EQ(std::to_string(Lines(z.out).size()) + "\n", n.out);
  r = server_->Cli("records stream --format alpaca");
  EXPECT_EQ(r.exit_code, 2);
  for (const char* bad : {"0", "1.5", "-1"}) {
    r = server_->Cli(std::string("records stream --sample ") + bad);
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
  }
}

TEST_F(ExportCli, StreamFormatsAndSamples) {
  CommandResult chat = server_->Cli("records stream --format chat --limit 3");
  ASSERT_EQ(chat.exit_code, 0) << chat.err;
  auto lines = Lines(chat.out);
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& l : lines) {
    auto s = Json(l);
    EXPECT_EQ(s.fields().at("messages").list_value().values_size(), 3);
  }
  CommandResult all = server_->Cli("records stream --format datatrove");
  CommandResult s1 = server_->Cli("records stream --format datatrove --sample 0.3 --seed 9");
  CommandResult s2 = server_->Cli("records stream --format datatrove --sample 0.3 --seed 9");
  CommandResult big = server_->Cli("records stream --format datatrove --sample 0.7 --seed 9");
  ASSERT_EQ(s1.exit_code, 0) << s1.err;
  EXPECT_EQ(s1.out, s2.out);
  auto small = Lines(s1.out), large = Lines(big.out);
  std::set<std::string> large_set(large.begin(), large.end());
  for (const auto& l : small) EXPECT_TRUE(large_set.count(l));
  EXPECT_LT(small.size(), large.size());
  EXPECT_LT(large.size(), Lines(all.out).size());
}

// `records count --sample R --seed S` counts exactly what `records stream` with the same sample
// sends (it was refused before); a bad rate is a usage error.
TEST_F(ExportCli, CountTakesTheStreamsSample) {
  for (const char* sample : {"--sample 0.1 --seed 7", "--sample 0.5 --seed 7", "--sample 1"}) {
    CommandResult n = server_->Cli(std::string("records count ") + sample);
    ASSERT_EQ(n.exit_code, 0) << sample << ": " << n.err;
    CommandResult rows = server_->Cli(std::string("records stream ") + sample);
    ASSERT_EQ(rows.exit_code, 0) << rows.err;
    EXPECT_EQ(n.out, std::to_string(Lines(rows.out).size()) + "\n") << sample;
  }
  CommandResult half = server_->Cli("records count --sample 0.5 --seed 7");
  CommandResult all = server_->Cli("records count");
  EXPECT_LT(std::stoi(half.out), std::stoi(all.out));
  EXPECT_GT(std::stoi(half.out), 0);
  CommandResult bad = server_->Cli("records count --sample 0");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--sample"), std::string::npos) << bad.err;
}

// `repo show` prints the repository's license (`-` when none was recognised), not only with
// --output json.
TEST_F(ExportCli, RepoShowPrintsTheLicense) {
  CommandResult show = server_->Cli("repo show r");
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("\nlicense:     -\n"), std::string::npos) << show.out;
}

TEST_F(ExportCli, SessionStreamsPartitionTheRecords) {
  CommandResult create = server_->Cli("records session create --streams 3");
  ASSERT_EQ(create.exit_code, 0) << create.err;
  auto streams = Lines(create.out);
  ASSERT_EQ(streams.size(), 3u);
  std::multiset<std::string> ids;
  for (const auto& s : streams) {
    CommandResult read = server_->Cli("records session read " + ShellQuote(s));
    ASSERT_EQ(read.exit_code, 0) << read.err;
    for (const auto& l : Lines(read.out)) {
      ids.insert(Json(l).fields().at("id").string_value());
    }
  }
  EXPECT_EQ(ids.size(), 25u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 25u);
  // Stop early and resume with the printed token.
  CommandResult part =
      server_->Cli("records session read " + ShellQuote(streams[0]) + " --limit 1");
  ASSERT_EQ(part.exit_code, 0) << part.err;
  auto pos = part.err.find("resume_token: ");
  ASSERT_NE(pos, std::string::npos) << part.err;
  std::string token = part.err.substr(pos + 14, part.err.find('\n', pos) - pos - 14);
  CommandResult rest = server_->Cli("records session read " + ShellQuote(streams[0]) +
                                    " --resume-token " + ShellQuote(token));
  CommandResult whole = server_->Cli("records session read " + ShellQuote(streams[0]));
  EXPECT_EQ(part.out + rest.out, whole.out);
  CommandResult bad = server_->Cli("records session read rs1.garbage");
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
}

}  // namespace
}  // namespace fixmine
