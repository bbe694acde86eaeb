#include "miner/clone.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "miner/git_handles.h"

namespace fixmine::miner {
namespace {

using RemotePtr = std::unique_ptr<git_remote, GitDeleter<git_remote, git_remote_free>>;

struct Transfer {
  CloneLimits limits;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  bool too_big = false;
  bool too_slow = false;
  bool cancelled = false;
};

// Shared by the transfer and sideband callbacks: true when the transfer must stop.
bool Stop(Transfer* t) {
  if (t->limits.cancel != nullptr && t->limits.cancel->load(std::memory_order_relaxed)) {
    t->cancelled = true;
    return true;
  }
  return false;
}

// The remote's own messages ("Counting objects...") arrive before any pack data: checking
// here lets a cancel stop a clone whose server is still preparing the pack.
int OnSideband(const char*, int, void* payload) {
  return Stop(static_cast<Transfer*>(payload)) ? -1 : 0;
}

int OnProgress(const git_indexer_progress* stats, void* payload) {
  auto* t = static_cast<Transfer*>(payload);
  if (Stop(t)) return -1;
  if (t->limits.max_bytes > 0 &&
      static_cast<int64_t>(stats->received_bytes) > t->limits.max_bytes) {
    t->too_big = true;
    return -1;
  }
  if (t->limits.timeout_seconds > 0 && std::chrono::steady_clock::now() - t->start >
                                           std::chrono::seconds(t->limits.timeout_seconds)) {
    t->too_slow = true;
    return -1;
  }
  return 0;
}

absl::Status FetchAll(git_repository* repo, const std::string& what, const CloneLimits& limits) {
  git_remote* raw = nullptr;
  int rc = git_remote_lookup(&raw, repo, "origin");
  if (rc != 0) return GitStatus(rc, absl::StrCat(what, ": finding remote \"origin\""));
  RemotePtr remote(raw);
  git_fetch_options fo = GIT_FETCH_OPTIONS_INIT;
  fo.prune = GIT_FETCH_PRUNE;
  fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL;
  // A server must not send us to another host (git's http.followRedirects=initial is laxer).
  fo.follow_redirects = GIT_REMOTE_REDIRECT_NONE;
  Transfer t;
  t.limits = limits;
  fo.callbacks.transfer_progress = OnProgress;
  fo.callbacks.sideband_progress = OnSideband;
  fo.callbacks.payload = &t;
  if (Stop(&t)) return absl::CancelledError(absl::StrCat(what, ": cancelled"));
  rc = git_remote_fetch(remote.get(), nullptr, &fo, "fixmine fetch");
  if (t.cancelled) return absl::CancelledError(absl::StrCat(what, ": cancelled"));
  if (t.too_big) {
    return absl::ResourceExhaustedError(absl::StrCat(what, ": the transfer passed the limit of ",
                                                     limits.max_bytes,
                                                     " bytes (--max-clone-bytes)"));
  }
  if (t.too_slow) {
    return absl::DeadlineExceededError(absl::StrCat(
        what, ": the transfer ran longer than ", limits.timeout_seconds, " s (--clone-timeout)"));
  }
  return GitStatus(rc, what);
}

}  // namespace

absl::Status CloneMirror(const std::string& url, const std::string& dest,
                         const CloneLimits& limits) {
  EnsureLibgit2();
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dest, ec)) {
    return absl::AlreadyExistsError(absl::StrCat("cloning \"", url, "\": \"", dest, "\" exists"));
  }
  fs::path parent = fs::path(dest).parent_path();
  fs::create_directories(parent, ec);
  std::string tmp = absl::StrCat(dest, ".tmp-", getpid(), "-", std::random_device{}());
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  fs::permissions(tmp, fs::perms::owner_all, ec);
  auto cleanup = [&] { fs::remove_all(tmp, ec); };
  git_repository* raw = nullptr;
  int rc = git_repository_init(&raw, tmp.c_str(), /*is_bare=*/1);
  if (rc != 0) {
    cleanup();
    return GitStatus(rc, absl::StrCat("cloning \"", url, "\": creating the mirror"));
  }
  RepoPtr repo(raw);
  git_remote* remote_raw = nullptr;
  rc = git_remote_create_with_fetchspec(&remote_raw, repo.get(), "origin", url.c_str(),
                                        "+refs/*:refs/*");
  if (rc != 0) {
    cleanup();
    return GitStatus(rc, absl::StrCat("cloning \"", url, "\""));
  }
  git_remote_free(remote_raw);
  absl::Status st = FetchAll(repo.get(), absl::StrCat("cloning \"", url, "\""), limits);
  repo.reset();
  if (!st.ok()) {
    cleanup();
    return st;
  }
  fs::rename(tmp, dest, ec);
  if (ec) {
    cleanup();
    return absl::InternalError(
        absl::StrCat("cloning \"", url, "\": moving into place: ", ec.message()));
  }
  return absl::OkStatus();
}

int RemoveInterruptedClones(const std::string& mirrors_dir, int* failed) {
  namespace fs = std::filesystem;
  std::error_code ec;
  int removed = 0;
  fs::directory_iterator it(mirrors_dir, ec);
  if (ec) return 0;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const std::string name = it->path().filename().string();
    if (name.find(".git.tmp-") == std::string::npos) continue;
    std::error_code rm;
    fs::remove_all(it->path(), rm);
    if (rm) {
      if (failed != nullptr) ++*failed;
    } else {
      ++removed;
    }
  }
  return removed;
}

absl::Status FetchMirror(const std::string& path, const CloneLimits& limits) {
  RepoPtr repo;
  FIXMINE_RETURN_IF_ERROR(OpenRepository(path, &repo));
  return FetchAll(repo.get(), absl::StrCat("fetching into \"", path, "\""), limits);
}

}  // namespace fixmine::miner
