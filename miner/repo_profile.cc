#include "miner/repo_profile.h"

#include <git2.h>

#include "absl/strings/str_cat.h"
#include "miner/git_handles.h"

namespace fixmine::miner {

absl::StatusOr<RepositoryProfile> ProfileRepository(const std::string& path,
                                                    const std::string& rev) {
  EnsureLibgit2();
  RepoPtr repo;
  if (absl::Status st = OpenRepository(path, &repo); !st.ok()) return st;
  RepositoryProfile out;
  git_object* obj = nullptr;
  int rc = git_revparse_single(&obj, repo.get(), rev.c_str());
  if (rc == GIT_ENOTFOUND && rev == "HEAD") return out;  // an empty repository
  if (rc != 0) {
    return absl::InvalidArgumentError(std::string(
        GitStatus(rc, absl::StrCat("resolving \"", rev, "\" for the repository profile"))
            .message()));
  }
  ObjectPtr obj_ptr(obj);
  git_object* peeled = nullptr;
  rc = git_object_peel(&peeled, obj, GIT_OBJECT_TREE);
  if (rc != 0) {
    return absl::InvalidArgumentError(
        std::string(GitStatus(rc, absl::StrCat("reading the tree of \"", rev, "\"")).message()));
  }
  TreePtr tree(reinterpret_cast<git_tree*>(peeled));
  auto visit = [](const char*, const git_tree_entry* e, void* payload) -> int {
    if (git_tree_entry_filemode(e) == GIT_FILEMODE_BLOB ||
        git_tree_entry_filemode(e) == GIT_FILEMODE_BLOB_EXECUTABLE) {
      static_cast<SourceCounts*>(payload)->Add(git_tree_entry_name(e));
    }
    return 0;
  };
  rc = git_tree_walk(tree.get(), GIT_TREEWALK_PRE, visit, &out.sources);
  if (rc != 0) return GitStatus(rc, absl::StrCat("listing the tree of \"", rev, "\""));
  out.header_language = std::string(HeaderLanguageOfRepository(out.sources));
  return out;
}

}  // namespace fixmine::miner
