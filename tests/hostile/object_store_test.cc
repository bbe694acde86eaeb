// Repositories under the allowed root whose object store reaches outside it, each of the ways
// libgit2 1.5.1 would read from there (docs/security.md, "Local repositories"): alternates
// lines split at '\r', relative lines without a leading '.', nested alternates, an objects
// folder or a pack that is a symbolic link. Each is refused on `repo add` and, when it appears
// after registration, fails the job at `mine`; nothing from outside is ever recorded.
#include <gtest/gtest.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "tests/hostile/hostile_util.h"

namespace fixmine::hostile {
namespace {

namespace fs = std::filesystem;
using absl::StatusCode;

class ObjectStore : public SharedServerSuite {
 protected:
  static void SetUpTestSuite() {
    outside_ = new testutil::TempDir();
    // A repository outside the allowed root with one commit, its objects packed.
    secret_ = InitRepo(outside_->path(), "secret");
    std::string t =
        WriteTree(secret_, {{"100644", "key", WriteObject(secret_, "blob", "top secret\n")}});
    secret_commit_ = WriteCommit(secret_, t, {}, "secret commit\n");
    SetMain(secret_, secret_commit_);
    Git(secret_, "repack -a -d -q");
    StartSharedServer({"--workers", "2"});
  }
  static void TearDownTestSuite() {
    StopSharedServer();
    delete outside_;
  }
  void TearDown() override {
    // Nothing from outside the root was ever recorded.
    auto n = client_->CountRecords("message : \"secret\"");
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(*n, 0);
    ExpectServing(*client_);
  }

  // `repo add` of `path` as `name`: the status.
  static absl::Status Add(const std::string& path, const std::string& name) {
    auto r = client_->AddRepository(path, name);
    return r.status();
  }

  // A repository `name` inside the root with one commit of its own; returns its path.
  static std::string OwnRepo(const std::string& name) {
    std::string repo = InitRepo(root_->path(), name);
    std::string t = WriteTree(repo, {{"100644", "f", WriteObject(repo, "blob", name + "\n")}});
    SetMain(repo, WriteCommit(repo, t, {}, "own commit of " + name + "\n"));
    return repo;
  }

  // A repository inside the root that has no objects of its own but whose main branch is the
  // secret commit: what libgit2 reads for it comes from outside, if it comes at all.
  static std::string Borrower(const std::string& name) {
    std::string repo = InitRepo(root_->path(), name);
    SetMainUnchecked(repo, secret_commit_);
    return repo;
  }

  // Points main at `commit` without asking git (which would look the object up).
  static void SetMainUnchecked(const std::string& repo, const std::string& commit) {
    WriteFile(repo + "/.git/refs/heads/main", commit + "\n");
  }

  // Starts a job for registered repository `name` and waits for its end.
  static fixmine::v1::Job Mine(const std::string& name) {
    fixmine::v1::StartMiningRequest req;
    req.set_repo(name);
    auto job = client_->StartMining(req);
    EXPECT_TRUE(job.ok()) << job.status();
    if (!job.ok()) return {};
    fixmine::v1::Job last;
    absl::Status st = client_->WatchJob(job->id(), [&](const fixmine::v1::Job& j) { last = j; });
    EXPECT_TRUE(st.ok()) << st;
    return last;
  }

  static testutil::TempDir* outside_;
  static std::string secret_;
  static std::string secret_commit_;
};
testutil::TempDir* ObjectStore::outside_ = nullptr;
std::string ObjectStore::secret_;
std::string ObjectStore::secret_commit_;

void ExpectRefused(const absl::Status& st, const std::string& needle) {
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), needle)) << st;
}

// libgit2 splits alternates lines at '\r' as well as '\n': "# note\r/outside" is a comment and
// then a path. A reader that splits at '\n' alone sees one comment line.
TEST_F(ObjectStore, AlternatesLineWithCarriageReturn) {
  std::string repo = Borrower("cr");
  WriteFile(repo + "/.git/objects/info/alternates",
            "# shared objects\r" + secret_ + "/.git/objects\n");
  absl::Status st = Add(repo, "cr");
  ExpectRefused(st, "outside the allowed roots");
  EXPECT_TRUE(absl::StrContains(st.message(), "object alternate")) << st;

  // The same line with Windows line ends only ("\r\n") is read the same way: still refused.
  WriteFile(repo + "/.git/objects/info/alternates", secret_ + "/.git/objects\r\n");
  ExpectRefused(Add(repo, "cr"), "outside the allowed roots");
  auto list = client_->ListRepositories();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

// A line that starts with neither '/' nor '.' is opened by libgit2 as it stands, relative to the
// server's working directory, not to the objects folder. It is refused even when a folder of
// that name exists next to the objects (as here: a decoy that an objects-relative reading would
// accept).
TEST_F(ObjectStore, RelativeAlternateWithoutLeadingDot) {
  std::string repo = Borrower("reldot");
  fs::create_directories(repo + "/.git/objects/shared/objects");
  WriteFile(repo + "/.git/objects/info/alternates", "shared/objects\n");
  absl::Status st = Add(repo, "reldot");
  ExpectRefused(st, "relative without a leading '.'");
  EXPECT_TRUE(absl::StrContains(st.message(), "working directory")) << st;

  // A leading space makes a line relative too (libgit2 does not trim).
  WriteFile(repo + "/.git/objects/info/alternates", " " + secret_ + "/.git/objects\n");
  ExpectRefused(Add(repo, "reldot"), "relative without a leading '.'");
}

// Nested alternates: the repository's alternate (inside the root) names another one. An
// absolute path outside is caught at any depth; a relative line in a nested file (libgit2
// opens it against the working directory) is refused whatever it names.
TEST_F(ObjectStore, NestedAlternatesPointingOutside) {
  std::string middle = OwnRepo("middle");
  std::string repo = Borrower("nested");
  WriteFile(repo + "/.git/objects/info/alternates", middle + "/.git/objects\n");
  WriteFile(middle + "/.git/objects/info/alternates", secret_ + "/.git/objects\n");
  absl::Status st = Add(repo, "nested");
  ExpectRefused(st, "outside the allowed roots");

  // A chain of four inside the root whose last link is relative: "./x" in a nested file.
  std::string m2 = OwnRepo("middle2");
  WriteFile(middle + "/.git/objects/info/alternates", m2 + "/.git/objects\n");
  fs::create_directories(m2 + "/.git/objects/decoy");
  WriteFile(m2 + "/.git/objects/info/alternates", "./decoy\n");
  ExpectRefused(Add(repo, "nested"), "relative in a nested alternates file");

  // With the last link gone the chain is inside the root and the repository is accepted (its
  // commit still cannot be read: nothing outside was opened).
  fs::remove(m2 + "/.git/objects/info/alternates");
  EXPECT_TRUE(Add(repo, "nested").ok());
  ASSERT_TRUE(client_->RemoveRepository("nested").ok());
}

// An objects folder that is a symbolic link to another repository's objects outside the root.
TEST_F(ObjectStore, ObjectsFolderIsASymlinkOutside) {
  std::string repo = Borrower("objlink");
  fs::remove_all(repo + "/.git/objects");
  fs::create_directory_symlink(secret_ + "/.git/objects", repo + "/.git/objects");
  absl::Status st = Add(repo, "objlink");
  ExpectRefused(st, "object folder");
  EXPECT_TRUE(absl::StrContains(st.message(), "outside the allowed roots")) << st;
}

// A pack (and its index) that are symbolic links to the pack of a repository outside the root.
TEST_F(ObjectStore, PackFileIsASymlinkOutside) {
  std::string repo = Borrower("packlink");
  std::string pack_dir = secret_ + "/.git/objects/pack";
  for (const auto& e : fs::directory_iterator(pack_dir)) {
    fs::create_symlink(e.path(), repo + "/.git/objects/pack/" + e.path().filename().string());
  }
  absl::Status st = Add(repo, "packlink");
  ExpectRefused(st, "object store entry");
  EXPECT_TRUE(absl::StrContains(st.message(), "outside the allowed roots")) << st;
}

// The same links made after registration are caught when the job starts: the job fails with
// the reason and records nothing. (Unchecked, the job records the secret commit.)
TEST_F(ObjectStore, LinksMadeAfterRegistrationFailTheJob) {
  std::string repo = OwnRepo("late");
  ASSERT_TRUE(Add(repo, "late").ok());
  for (const auto& e : fs::directory_iterator(secret_ + "/.git/objects/pack")) {
    fs::create_symlink(e.path(), repo + "/.git/objects/pack/" + e.path().filename().string());
  }
  SetMainUnchecked(repo, secret_commit_);
  fixmine::v1::Job job = Mine("late");
  EXPECT_EQ(job.state(), fixmine::v1::FAILED) << job.DebugString();
  EXPECT_TRUE(absl::StrContains(job.error(), "outside the allowed roots")) << job.error();
  EXPECT_EQ(job.records_written(), 0);
  ASSERT_TRUE(client_->RemoveRepository("late").ok());
}

// What users do inside the root keeps working: an alternate inside the root (absolute and
// relative), and an object store whose folders are symbolic links to storage inside the root.
TEST_F(ObjectStore, LegitimateAlternatesAndSymlinksInsideTheRootWork) {
  std::string base = OwnRepo("base");
  std::string base_head = Git(base, "rev-parse HEAD");
  std::string borrower = InitRepo(root_->path(), "borrower");
  WriteFile(borrower + "/.git/objects/info/alternates", "# shared\r\n" + base + "/.git/objects\n");
  std::string t =
      WriteTree(borrower, {{"100644", "g", WriteObject(borrower, "blob", "borrower\n")}});
  SetMain(borrower, WriteCommit(borrower, t, {base_head}, "borrower commit\n"));
  fixmine::v1::Job job = MineToEnd(*client_, borrower, "borrower");
  EXPECT_EQ(job.state(), fixmine::v1::SUCCEEDED) << job.error();
  EXPECT_EQ(job.records_written(), 2);

  // Relative (from the objects folder), and the objects folder itself a link inside the root.
  // The kernel resolves ".." after the link, so the line counts from ROOT/storage/rel-objects.
  std::string rel = InitRepo(root_->path(), "rel");
  WriteFile(rel + "/.git/objects/info/alternates", "../../base/.git/objects\n");
  SetMainUnchecked(rel, base_head);
  std::string storage = root_->path() + "/storage/rel-objects";
  fs::create_directories(fs::path(storage).parent_path());
  fs::rename(rel + "/.git/objects", storage);
  fs::create_directory_symlink(storage, rel + "/.git/objects");
  job = MineToEnd(*client_, rel, "rel");
  EXPECT_EQ(job.state(), fixmine::v1::SUCCEEDED) << job.error();
  EXPECT_EQ(job.records_written(), 1);

  // A pack that is a link to a file inside the root.
  std::string packed = OwnRepo("packed");
  Git(packed, "repack -a -d -q");
  std::string moved = root_->path() + "/storage/packs";
  fs::create_directories(moved);
  for (const auto& e : fs::directory_iterator(packed + "/.git/objects/pack")) {
    fs::path target = fs::path(moved) / e.path().filename();
    fs::rename(e.path(), target);
    fs::create_symlink(target, e.path());
  }
  job = MineToEnd(*client_, packed, "packed");
  EXPECT_EQ(job.state(), fixmine::v1::SUCCEEDED) << job.error();
  EXPECT_EQ(job.records_written(), 1);
}

}  // namespace
}  // namespace fixmine::hostile
