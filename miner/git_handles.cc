#include "miner/git_handles.h"

#include <mutex>

#include "absl/strings/str_cat.h"

namespace fixmine::miner {

void EnsureLibgit2() {
  static std::once_flag once;
  std::call_once(once, [] {
    git_libgit2_init();
    // Objects are read once per commit pair; a large cache mostly costs memory.
    git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, static_cast<ssize_t>(64) << 20);
    // Trees up to 64 KiB stay cached parsed (libgit2's default keeps those up to 4 KiB): the
    // blames of SZZ and the trajectory pass read a big folder's tree (src/ of a C project) once
    // per commit and file otherwise.
    git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE, size_t{64} << 10);
    // Object ids come from the repository itself; re-hashing every read object is wasted work.
    git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
  });
}

absl::Status GitStatus(int code, std::string_view what) {
  if (code == 0) return absl::OkStatus();
  const git_error* e = git_error_last();
  std::string msg =
      absl::StrCat(std::string(what), ": ", e && e->message ? e->message : "libgit2 error",
                   " (code ", code, ")");
  switch (code) {
    case GIT_ENOTFOUND:
      return absl::NotFoundError(msg);
    case GIT_EINVALIDSPEC:
    case GIT_EAMBIGUOUS:
      return absl::InvalidArgumentError(msg);
    default:
      return absl::InternalError(msg);
  }
}

std::string OidHex(const git_oid& oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, &oid);
  return std::string(buf, GIT_OID_HEXSZ);
}

absl::Status OpenRepository(const std::string& path, RepoPtr* out) {
  EnsureLibgit2();
  git_repository* repo = nullptr;
  int rc = git_repository_open_ext(&repo, path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr);
  if (rc != 0) {
    absl::Status st = GitStatus(rc, absl::StrCat("opening repository \"", path, "\""));
    if (rc == GIT_ENOTFOUND) {
      return absl::NotFoundError(
          absl::StrCat("opening repository \"", path, "\": not a git repository"));
    }
    return st;
  }
  out->reset(repo);
  return absl::OkStatus();
}

}  // namespace fixmine::miner
