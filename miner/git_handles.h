#pragma once

#include <git2.h>

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace fixmine::miner {

// Owning handles for libgit2 objects: each deleter calls the matching git_*_free.
template <typename T, void (*Free)(T*)>
struct GitDeleter {
  void operator()(T* p) const {
    if (p) Free(p);
  }
};
using RepoPtr = std::unique_ptr<git_repository, GitDeleter<git_repository, git_repository_free>>;
using CommitPtr = std::unique_ptr<git_commit, GitDeleter<git_commit, git_commit_free>>;
using TreePtr = std::unique_ptr<git_tree, GitDeleter<git_tree, git_tree_free>>;
using BlobPtr = std::unique_ptr<git_blob, GitDeleter<git_blob, git_blob_free>>;
using DiffPtr = std::unique_ptr<git_diff, GitDeleter<git_diff, git_diff_free>>;
using PatchPtr = std::unique_ptr<git_patch, GitDeleter<git_patch, git_patch_free>>;
using RevwalkPtr = std::unique_ptr<git_revwalk, GitDeleter<git_revwalk, git_revwalk_free>>;
using ObjectPtr = std::unique_ptr<git_object, GitDeleter<git_object, git_object_free>>;
using ReferencePtr = std::unique_ptr<git_reference, GitDeleter<git_reference, git_reference_free>>;
using RefIterPtr = std::unique_ptr<git_reference_iterator,
                                   GitDeleter<git_reference_iterator, git_reference_iterator_free>>;

// Initialises libgit2 once per process. Thread-safe; cheap after the first call.
void EnsureLibgit2();

// Converts a libgit2 return code into a status, reading git_error_last() on this thread.
// `what` says what was being done ("opening repository \"x\""). OK when `code` is 0.
absl::Status GitStatus(int code, std::string_view what);

// Full 40-hex text of an object id.
std::string OidHex(const git_oid& oid);

// Opens the repository at `path` (bare, or a work tree's top folder) without searching parent
// folders. NOT_FOUND when `path` is not a repository.
absl::Status OpenRepository(const std::string& path, RepoPtr* out);

}  // namespace fixmine::miner
