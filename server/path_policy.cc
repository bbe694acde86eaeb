#include "server/path_policy.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "miner/git_handles.h"

namespace fixmine::server {
namespace {

namespace fs = std::filesystem;

// libgit2 1.5.1 (src/libgit2/odb.c): load_alternates returns at once when its depth is above
// GIT_ALTERNATES_MAX_DEPTH (5), so the alternates files of depths 0 to 5 are read and object
// folders of depths 0 to 6 are opened.
constexpr int kMaxAlternateDepth = 5;
// An alternates file is read whole by libgit2; one larger than this is refused unread.
constexpr std::uintmax_t kMaxAlternatesFileBytes = 1 << 20;

using Seen = std::set<std::pair<dev_t, ino_t>>;

// The real path of `path` when it lies under one of `roots`; PERMISSION_DENIED otherwise.
absl::StatusOr<std::string> Contained(const std::string& what, const std::string& path,
                                      const std::vector<std::string>& roots) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat(what, " ", QuoteInput(path, 256), " does not resolve to an existing file"));
  }
  std::string real = buf;
  for (const auto& root : roots) {
    if (UnderRoot(real, root)) return real;
  }
  return absl::PermissionDeniedError(
      absl::StrCat(what, " ", QuoteInput(path, 256), " (resolved to ", QuoteInput(real, 256),
                   ") is outside the allowed roots: ", absl::StrJoin(roots, ", ")));
}

// Every symbolic link that libgit2 may follow when it reads objects from the object folder
// `objects` must resolve under the roots: the loose-object folders and their files, the pack
// folder and its files (packs, indexes, multi-pack index), the info folder and its files
// (alternates, commit-graph). Real folders among these are searched one level further; nothing
// deeper is read by libgit2.
absl::Status CheckStoreLinks(const fs::path& objects, const std::vector<std::string>& roots,
                             std::vector<std::string>* found) {
  std::error_code ec;
  for (fs::directory_iterator it(objects, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& top = it->path();
    if (it->is_symlink(ec)) {
      auto real = Contained("object store entry", top.string(), roots);
      if (!real.ok()) return real.status();
      found->push_back(*real);
    }
    if (!it->is_directory(ec)) continue;
    for (fs::directory_iterator in(top, ec); !ec && in != end; in.increment(ec)) {
      if (!in->is_symlink(ec)) continue;
      auto real = Contained("object store entry", in->path().string(), roots);
      if (!real.ok()) return real.status();
      found->push_back(*real);
    }
    if (ec) break;
  }
  if (ec) {
    return absl::PermissionDeniedError(absl::StrCat(
        "object folder ", QuoteInput(objects.string(), 256), " cannot be listed: ", ec.message()));
  }
  return absl::OkStatus();
}

// Reads the alternates file as libgit2 does: the whole file as a C string (nothing after a
// NUL byte), split at every '\r' and '\n'; empty lines and lines starting with '#' skipped;
// no other trimming.
absl::StatusOr<std::vector<std::string>> ReadAlternates(const fs::path& file) {
  std::error_code ec;
  std::uintmax_t size = fs::file_size(file, ec);
  if (ec || size > kMaxAlternatesFileBytes) {
    return absl::PermissionDeniedError(
        absl::StrCat("object alternates file ", QuoteInput(file.string(), 256),
                     ec ? " cannot be read" : " is larger than 1 MiB"));
  }
  std::ifstream f(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (!f.good() && !f.eof()) {
    return absl::PermissionDeniedError(
        absl::StrCat("object alternates file ", QuoteInput(file.string(), 256), " cannot be read"));
  }
  bytes.resize(std::min(bytes.size(), bytes.find('\0')));
  std::vector<std::string> lines;
  size_t at = 0;
  while (at < bytes.size()) {
    size_t end = bytes.find_first_of("\r\n", at);
    if (end == std::string::npos) end = bytes.size();
    if (end > at && bytes[at] != '#') lines.push_back(bytes.substr(at, end - at));
    at = end + 1;
  }
  return lines;
}

// Checks the object folder `objects` (as libgit2 names it) opened at alternate depth `depth`
// (0: the repository's own), its symbolic links, and the alternates it names, recursively.
// `seen` holds the folders already checked: libgit2 skips an alternate whose inode it has
// already opened, so a cycle ends there.
absl::Status CheckObjectFolder(const std::string& what, const std::string& objects,
                               const std::vector<std::string>& roots, int depth, Seen* seen,
                               std::vector<std::string>* found) {
  auto real = Contained(what, objects, roots);
  if (!real.ok()) return real.status();
  found->push_back(*real);
  struct stat st;
  if (stat(real->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::PermissionDeniedError(
        absl::StrCat(what, " ", QuoteInput(objects, 256), " is not a folder"));
  }
  if (!seen->insert({st.st_dev, st.st_ino}).second) return absl::OkStatus();
  if (absl::Status s = CheckStoreLinks(*real, roots, found); !s.ok()) return s;
  if (depth > kMaxAlternateDepth) return absl::OkStatus();  // libgit2 reads no further

  // libgit2 names the file from the folder as given, and follows a symbolic link to it
  // (already checked above: info/alternates is an entry of the info folder).
  fs::path file = fs::path(objects) / "info" / "alternates";
  std::error_code ec;
  if (!fs::exists(file, ec)) return absl::OkStatus();
  auto lines = ReadAlternates(file);
  if (!lines.ok()) return lines.status();
  for (const std::string& line : *lines) {
    std::string alt;
    if (line[0] == '/') {
      alt = line;
    } else if (line[0] == '.' && depth == 0) {
      // Only the repository's own alternates file may hold relative lines: libgit2 joins them
      // to the objects folder it opened.
      alt = absl::StrCat(objects, "/", line);
    } else {
      // libgit2 opens any other line as it stands, that is relative to fixmined's working
      // directory (a '.' line of a nested alternates file, a line that starts with a letter or
      // a space): whatever lies there, it is not the repository's, so it is refused.
      return absl::PermissionDeniedError(absl::StrCat(
          "object alternate ", QuoteInput(line, 256), " in ", QuoteInput(file.string(), 256),
          depth == 0 ? " is relative without a leading '.'"
                     : " is relative in a nested alternates file",
          "; libgit2 would resolve it against the server's working directory; write an absolute "
          "path under an allowed root"));
    }
    if (absl::Status s = CheckObjectFolder("object alternate", alt, roots, depth + 1, seen, found);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool UnderRoot(const std::string& path, const std::string& root) {
  if (path == root) return true;
  std::string r = root;
  if (r.empty() || r.back() != '/') r.push_back('/');
  return absl::StartsWith(path, r);
}

absl::Status CheckRepositoryContained(const std::string& path,
                                      const std::vector<std::string>& roots,
                                      std::vector<std::string>* data_paths) {
  std::vector<std::string> found;
  miner::RepoPtr repo;
  if (absl::Status st = miner::OpenRepository(path, &repo); !st.ok()) return st;
  std::string gitdir = git_repository_path(repo.get());
  std::string commondir = git_repository_commondir(repo.get());
  repo.reset();
  for (const auto& [what, dir] :
       {std::pair{"git folder", gitdir}, std::pair{"git common folder", commondir}}) {
    auto real = Contained(what, dir, roots);
    if (!real.ok()) return real.status();
    found.push_back(*real);
  }
  // libgit2 opens the object folder as "COMMONDIR/objects", which may be a symbolic link.
  std::string objects = commondir;
  if (objects.empty() || objects.back() != '/') objects.push_back('/');
  objects += "objects";
  Seen seen;
  FIXMINE_RETURN_IF_ERROR(CheckObjectFolder("object folder", objects, roots, 0, &seen, &found));
  if (data_paths != nullptr) *data_paths = std::move(found);
  return absl::OkStatus();
}

absl::StatusOr<std::string> ResolveLocalRepository(const std::string& source,
                                                   const std::vector<std::string>& roots) {
  if (roots.empty()) {
    return absl::FailedPreconditionError(
        "local repositories are disabled: the server was started without --allowed-root");
  }
  char buf[PATH_MAX];
  if (realpath(source.c_str(), buf) == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("repository path ", QuoteInput(source, 256), " does not exist"));
  }
  std::string real = buf;
  for (const auto& root : roots) {
    if (UnderRoot(real, root)) return real;
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "repository path ", QuoteInput(source, 256), " (resolved to ", QuoteInput(real, 256),
      ") is outside the allowed roots: ", absl::StrJoin(roots, ", ")));
}

absl::Status CheckRepositoryUrl(const std::string& url, const std::vector<std::string>& schemes,
                                const std::vector<std::string>& roots) {
  size_t sep = url.find("://");
  std::string scheme = url.substr(0, sep);
  bool allowed = false;
  for (const auto& s : schemes) allowed = allowed || s == scheme;
  if (!allowed) {
    return absl::InvalidArgumentError(
        absl::StrCat("URL scheme ", QuoteInput(scheme),
                     " is not allowed; allowed: ", absl::StrJoin(schemes, ", ")));
  }
  std::string rest = url.substr(sep + 3);
  std::string authority = rest.substr(0, rest.find('/'));
  if (authority.find('@') != std::string::npos) {
    return absl::InvalidArgumentError(
        "URL embeds credentials (user@host); give a URL without them");
  }
  if (scheme != "file" && authority.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("URL ", QuoteInput(url, 256), " has no host"));
  }
  if (scheme == "file") {
    // A file URL names a local folder: the allowed roots apply to it as to a plain path.
    if (!authority.empty() && authority != "localhost") {
      return absl::InvalidArgumentError(absl::StrCat("file URL ", QuoteInput(url, 256),
                                                     " names host ", QuoteInput(authority),
                                                     "; use file:///PATH"));
    }
    auto real = ResolveLocalRepository(rest.substr(authority.size()), roots);
    if (!real.ok()) return real.status();
    return CheckRepositoryContained(*real, roots);
  }
  return absl::OkStatus();
}

absl::Status CheckBackupFolder(const std::string& dir, const std::string& data_dir) {
  if (dir.empty() || dir[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "backup folder \"", dir, "\" must be an absolute path on the server's filesystem"));
  }
  // A backup inside the live data folder would be copied into later backups and
  // removed with the data; keep them apart.
  std::error_code ec;
  fs::path data = fs::weakly_canonical(data_dir, ec);
  fs::path target = fs::weakly_canonical(dir, ec);
  std::string d = data.string() + "/", t = target.string() + "/";
  if (t.compare(0, d.size(), d) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("backup folder \"", dir,
                                                   "\" is inside the data folder \"", data_dir,
                                                   "\"; choose a folder outside it"));
  }
  return absl::OkStatus();
}

absl::Status CheckGithubApiUrl(const std::string& url, bool allow_http) {
  std::string lower = absl::AsciiStrToLower(url);
  if (!lower.starts_with("https://") && !(allow_http && lower.starts_with("http://"))) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the GitHub API URL \"", url,
        "\" is not https; plain http needs fixmined --github-allow-http (a local test server)"));
  }
  return absl::OkStatus();
}

}  // namespace fixmine::server
