#include "miner/license_file.h"

#include <git2.h>

#include <algorithm>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "curation/license.h"
#include "miner/git_handles.h"
#include "re2/re2.h"

namespace fixmine::miner {

absl::StatusOr<RepositoryLicense> DetectRepositoryLicenseDetail(const std::string& path,
                                                                const std::string& rev) {
  EnsureLibgit2();
  RepoPtr repo;
  if (absl::Status st = OpenRepository(path, &repo); !st.ok()) return st;
  git_object* obj = nullptr;
  int rc = git_revparse_single(&obj, repo.get(), rev.c_str());
  if (rc == GIT_ENOTFOUND && rev == "HEAD") return RepositoryLicense();  // an empty repository
  if (rc != 0) {
    return absl::InvalidArgumentError(std::string(
        GitStatus(rc, absl::StrCat("resolving \"", rev, "\" for the license")).message()));
  }
  ObjectPtr obj_ptr(obj);
  git_object* peeled = nullptr;
  rc = git_object_peel(&peeled, obj, GIT_OBJECT_TREE);
  if (rc != 0) {
    return absl::InvalidArgumentError(
        std::string(GitStatus(rc, absl::StrCat("reading the tree of \"", rev, "\"")).message()));
  }
  TreePtr tree(reinterpret_cast<git_tree*>(peeled));
  size_t n = git_tree_entrycount(tree.get());
  RepositoryLicense out;
  std::vector<std::string> ids;  // distinct, in tree order
  bool all_named_one_license = true;
  bool any_file = false;
  static const RE2 named(
      "(?i)(?:licen[cs]e[-.](mit|apache|apache2|apache-2\\.0|bsd|isc|mpl|gpl|"
      "lgpl|zlib|unlicense|boost|0bsd|cc0)|unlicense)(\\.[a-z]+)?");
  for (size_t i = 0; i < n; ++i) {
    const git_tree_entry* e = git_tree_entry_byindex(tree.get(), i);
    if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) continue;
    const char* name = git_tree_entry_name(e);
    if (!curation::IsLicenseFileName(name)) continue;
    any_file = true;
    git_blob* blob = nullptr;
    if (git_blob_lookup(&blob, repo.get(), git_tree_entry_id(e)) != 0) continue;
    BlobPtr blob_ptr(blob);
    std::string_view text(static_cast<const char*>(git_blob_rawcontent(blob)),
                          static_cast<size_t>(git_blob_rawsize(blob)));
    curation::LicenseDetection d = curation::DetectLicenseText(text);
    if (d.spdx.empty()) continue;
    if (std::find(ids.begin(), ids.end(), d.spdx) == ids.end()) ids.push_back(d.spdx);
    if (!RE2::FullMatch(name, named)) all_named_one_license = false;
  }
  if (ids.empty()) {
    out.unsure = any_file;
  } else if (ids.size() == 1) {
    out.spdx = ids[0];
  } else if (all_named_one_license) {
    out.spdx = absl::StrJoin(ids, " OR ");
  } else {
    out.spdx = ids[0];
    out.unsure = true;
  }
  return out;
}

absl::StatusOr<std::string> DetectRepositoryLicense(const std::string& path,
                                                    const std::string& rev) {
  absl::StatusOr<RepositoryLicense> l = DetectRepositoryLicenseDetail(path, rev);
  if (!l.ok()) return l.status();
  return l->spdx;
}

}  // namespace fixmine::miner
