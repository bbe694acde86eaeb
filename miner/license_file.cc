#include "miner/license_file.h"

#include <git2.h>

#include <string_view>

#include "absl/strings/str_cat.h"
#include "curation/license.h"
#include "miner/git_handles.h"

namespace fixmine::miner {

absl::StatusOr<std::string> DetectRepositoryLicense(const std::string& path,
                                                    const std::string& rev) {
  EnsureLibgit2();
  RepoPtr repo;
  if (absl::Status st = OpenRepository(path, &repo); !st.ok()) return st;
  git_object* obj = nullptr;
  int rc = git_revparse_single(&obj, repo.get(), rev.c_str());
  if (rc == GIT_ENOTFOUND && rev == "HEAD") return std::string();  // an empty repository
  if (rc != 0) {
    return absl::InvalidArgumentError(std::string(
        GitStatus(rc, absl::StrCat("resolving \"", rev, "\" for the license")).message()));
  }
  ObjectPtr obj_ptr(obj);
  git_object* peeled = nullptr;
  rc = git_object_peel(&peeled, obj, GIT_OBJECT_TREE);
  if (rc != 0) {
    return absl::InvalidArgumentError(std::string(
        GitStatus(rc, absl::StrCat("reading the tree of \"", rev, "\"")).message()));
  }
  TreePtr tree(reinterpret_cast<git_tree*>(peeled));
  size_t n = git_tree_entrycount(tree.get());
  for (size_t i = 0; i < n; ++i) {
    const git_tree_entry* e = git_tree_entry_byindex(tree.get(), i);
    if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) continue;
    if (!curation::IsLicenseFileName(git_tree_entry_name(e))) continue;
    git_blob* blob = nullptr;
    if (git_blob_lookup(&blob, repo.get(), git_tree_entry_id(e)) != 0) continue;
    BlobPtr blob_ptr(blob);
    std::string_view text(static_cast<const char*>(git_blob_rawcontent(blob)),
                          static_cast<size_t>(git_blob_rawsize(blob)));
    std::string spdx = curation::DetectLicense(text);
    if (!spdx.empty()) return spdx;
  }
  return std::string();
}

}  // namespace fixmine::miner
