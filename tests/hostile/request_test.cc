// Hostile requests (docs/security.md, "Hostile-input catalogue"): path traversal in every
// spelling, repositories whose data lies outside the allowed roots, disallowed URLs, oversized
// requests and catastrophic regexes. Each checks the status and that the server still serves.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "tests/hostile/hostile_util.h"

namespace fixmine::hostile {
namespace {

using absl::StatusCode;

class Requests : public SharedServerSuite {
 protected:
  static void SetUpTestSuite() {
    outside_ = new testutil::TempDir();
    // A real repository outside the allowed root, and one inside.
    outside_repo_ = InitRepo(outside_->path(), "secret");
    std::string t = WriteTree(outside_repo_,
                              {{"100644", "key", WriteObject(outside_repo_, "blob", "secret\n")}});
    SetMain(outside_repo_, WriteCommit(outside_repo_, t, {}, "secret\n"));
    StartSharedServer({"--allow-scheme", "https", "--allow-scheme", "file"});
  }
  static void TearDownTestSuite() {
    StopSharedServer();
    delete outside_;
  }
  void TearDown() override { ExpectServing(*client_); }

  static StatusCode Add(const std::string& source, const std::string& name = "x") {
    auto r = client_->AddRepository(source, name);
    last_message_ = r.ok() ? "" : std::string(r.status().message());
    return r.status().code();
  }

  static testutil::TempDir* outside_;
  static std::string outside_repo_;
  static std::string last_message_;
};
testutil::TempDir* Requests::outside_ = nullptr;
std::string Requests::outside_repo_;
std::string Requests::last_message_;

// "../", absolute, symlinked and percent-encoded spellings of a path outside the root.
TEST_F(Requests, PathTraversalInEverySpelling) {
  const std::string& root = root_->path();
  EXPECT_EQ(
      Add(root + "/../" + std::filesystem::path(outside_->path()).filename().string() + "/secret"),
      StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StrContains(last_message_, "outside the allowed roots")) << last_message_;
  EXPECT_EQ(Add(outside_repo_), StatusCode::kPermissionDenied);
  EXPECT_EQ(Add("/etc"), StatusCode::kPermissionDenied);
  EXPECT_EQ(Add(root + "/./.././../../../../../etc"), StatusCode::kPermissionDenied);
  std::filesystem::create_directory_symlink(outside_repo_, root + "/link");
  EXPECT_EQ(Add(root + "/link"), StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StrContains(last_message_, "resolved to")) << last_message_;
  EXPECT_EQ(Add(root + "/%2e%2e/%2e%2e/etc"), StatusCode::kNotFound);
  EXPECT_EQ(Add(root + "/..%2f..%2fetc"), StatusCode::kNotFound);
  EXPECT_EQ(Add(std::string("relative/../../etc")), StatusCode::kNotFound);
  EXPECT_EQ(Add(root + std::string("/a\0b", 4)), StatusCode::kInvalidArgument);
  // Nothing was registered.
  auto list = client_->ListRepositories();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

// A repository inside the root whose data lies outside: a ".git" file pointing elsewhere
// ("gitdir:"), or object alternates naming another repository's objects.
TEST_F(Requests, GitdirFileAndAlternatesOutsideTheRoots) {
  const std::string& root = root_->path();
  std::filesystem::create_directories(root + "/gitfile");
  WriteFile(root + "/gitfile/.git", "gitdir: " + outside_repo_ + "/.git\n");
  EXPECT_EQ(Add(root + "/gitfile", "gitfile"), StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StrContains(last_message_, "git folder")) << last_message_;

  std::string alt = InitRepo(root, "alternates");
  WriteFile(alt + "/.git/objects/info/alternates", outside_repo_ + "/.git/objects\n");
  EXPECT_EQ(Add(alt, "alternates"), StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StrContains(last_message_, "object alternate")) << last_message_;

  // Relative alternates are resolved from the objects folder, then checked the same way.
  std::string rel = InitRepo(root, "relalt");
  WriteFile(rel + "/.git/objects/info/alternates",
            "../../../../../../../../../../../" + outside_repo_ + "/.git/objects\n");
  EXPECT_EQ(Add(rel, "relalt"), StatusCode::kPermissionDenied);

  // An alternate inside the root is fine.
  std::string ok = InitRepo(root, "okalt");
  WriteFile(ok + "/.git/objects/info/alternates", alt + "/.git/objects\n");
  std::filesystem::remove(alt + "/.git/objects/info/alternates");
  EXPECT_EQ(Add(ok, "okalt"), StatusCode::kOk) << last_message_;
  ASSERT_TRUE(client_->RemoveRepository("okalt").ok());

  // An alternate added after registration is caught when the job starts.
  std::string later = InitRepo(root, "later");
  std::string t = WriteTree(later, {{"100644", "f", WriteObject(later, "blob", "x\n")}});
  SetMain(later, WriteCommit(later, t, {}, "x\n"));
  ASSERT_EQ(Add(later, "later"), StatusCode::kOk) << last_message_;
  WriteFile(later + "/.git/objects/info/alternates", outside_repo_ + "/.git/objects\n");
  fixmine::v1::StartMiningRequest req;
  req.set_repo("later");
  auto job = client_->StartMining(req);
  ASSERT_TRUE(job.ok()) << job.status();
  fixmine::v1::Job last;
  ASSERT_TRUE(client_->WatchJob(job->id(), [&](const fixmine::v1::Job& j) { last = j; }).ok());
  EXPECT_EQ(last.state(), fixmine::v1::FAILED);
  EXPECT_TRUE(absl::StrContains(last.error(), "outside the allowed roots")) << last.error();
  ASSERT_TRUE(client_->RemoveRepository("later").ok());
}

// URL schemes outside the allowlist, credentials in URLs, file URLs outside the roots.
TEST_F(Requests, DisallowedUrlsAndSchemes) {
  for (std::string url :
       {"http://example.com/r.git", "ssh://example.com/r.git", "git://example.com/r.git",
        "HTTPS://example.com/r.git", "ftp://example.com/r.git", "git+ssh://example.com/r.git"}) {
    EXPECT_EQ(Add(url, "u"), StatusCode::kInvalidArgument) << url << ": " << last_message_;
    EXPECT_TRUE(absl::StrContains(last_message_, "is not allowed")) << last_message_;
  }
  // Without "://" a source is a local path: git's "ext::" and scp-like "host:path" forms are
  // never handed to a transport; they do not exist under the root.
  EXPECT_EQ(Add("ext::sh -c touch% /tmp/x", "u"), StatusCode::kNotFound);
  EXPECT_EQ(Add("git@example.com:r.git", "u"), StatusCode::kNotFound);
  EXPECT_EQ(Add("https://user:secret@example.com/r.git", "u"), StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(last_message_, "credentials")) << last_message_;
  EXPECT_EQ(Add("https://token@example.com/r.git", "u"), StatusCode::kInvalidArgument);
  EXPECT_EQ(Add("https:///r.git", "u"), StatusCode::kInvalidArgument);
  // file:// is allowed on this server, but only under the roots.
  EXPECT_EQ(Add("file://" + outside_repo_, "u"), StatusCode::kPermissionDenied);
  EXPECT_EQ(Add("file://evil.example.com/" + outside_repo_, "u"), StatusCode::kInvalidArgument);
  EXPECT_EQ(Add("file://" + root_->path() + "/../" +
                    std::filesystem::path(outside_->path()).filename().string() + "/secret",
                "u"),
            StatusCode::kPermissionDenied);
}

// A request over --max-request-bytes (4 MiB) is refused by gRPC before any handler runs.
TEST_F(Requests, OversizedRequests) {
  fixmine::v1::AddBenchmarkRequest req;
  req.set_name("huge");
  auto* item = req.add_items();
  item->set_id("x");
  item->set_text(std::string(5 << 20, 'b'));
  auto r = client_->AddBenchmark(req);
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted) << r.status();
  // Oversized fields inside a small enough message are refused by the handlers.
  EXPECT_EQ(Add(std::string(5000, 'a')), StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->CountRecords(std::string(5000, 'a')).status().code(),
            StatusCode::kInvalidArgument);
  auto name = client_->AddRepository(root_->path(), std::string(200, 'n'));
  EXPECT_EQ(name.status().code(), StatusCode::kInvalidArgument);
}

// Regexes that backtracking engines take exponential time on run in linear time under RE2;
// ones that compile too large are refused with the limit in the message.
TEST_F(Requests, CatastrophicRegexes) {
  // A message that makes "(a+)+$" backtrack 2^40 times in a backtracking engine.
  std::string repo = InitRepo(root_->path(), "redos");
  std::string t =
      WriteTree(repo, {{"100644", std::string(40, 'x'), WriteObject(repo, "blob", "x\n")}});
  SetMain(repo, WriteCommit(repo, t, {}, std::string(40, 'a') + "!"));
  fixmine::v1::Job job = MineToEnd(*client_, repo, "redos");
  ASSERT_EQ(job.records_written(), 1);
  auto slow = client_->CountRecords("regex(message, \"^(a+)+$\") OR regex(path, \"^(x|x)*y$\")");
  ASSERT_TRUE(slow.ok()) << slow.status();
  EXPECT_EQ(*slow, 0);
  auto fast = client_->CountRecords("regex(message, \"^(a+)+!\")");
  ASSERT_TRUE(fast.ok()) << fast.status();
  EXPECT_EQ(*fast, 1);
  auto big = client_->CountRecords("regex(message, \"((((a{100}){100}){100}){100})\")");
  EXPECT_EQ(big.status().code(), StatusCode::kInvalidArgument) << big.status();
  auto many = client_->CountRecords("regex(message, \"(abc|def){1000}(ghi|jkl){1000}\")");
  EXPECT_EQ(many.status().code(), StatusCode::kInvalidArgument) << many.status();
  std::string deep(200, '(');
  deep += "is_fix" + std::string(200, ')');
  EXPECT_EQ(client_->CountRecords(deep).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fixmine::hostile
