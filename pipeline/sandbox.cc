#include "pipeline/sandbox.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

// Rights and fields newer than the Debian 12 header (the kernel's ABI numbers them for good).
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#endif
#ifndef LANDLOCK_ACCESS_NET_CONNECT_TCP
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#endif
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

namespace fixmine::pipeline {
namespace {

// struct landlock_ruleset_attr as of ABI 6; the size passed tells the kernel which fields
// the caller knows (each later field must be zero for a kernel that does not know it).
struct RulesetAttr {
  uint64_t handled_access_fs = 0;
  uint64_t handled_access_net = 0;
  uint64_t scoped = 0;
};

constexpr uint64_t kFileRights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |
                                 LANDLOCK_ACCESS_FS_IOCTL_DEV;
constexpr uint64_t kReadRights = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;

// Every file-system right ABI `abi` handles.
uint64_t FsRights(int abi) {
  uint64_t r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;  // ABI 1: bits 0..12
  if (abi >= 2) r |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3) r |= LANDLOCK_ACCESS_FS_TRUNCATE;
  if (abi >= 5) r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
  return r;
}

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// Adds a path-beneath rule for `path` with `access` (cut to the file rights for a file). A
// missing path is passed over.
absl::Status AddPathRule(int ruleset, const std::string& path, uint64_t access) {
  int fd = open(path.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return absl::OkStatus();
    return Errno(absl::StrCat("opening \"", path, "\" for a Landlock rule"));
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)) access &= kFileRights;
  struct landlock_path_beneath_attr rule = {};
  rule.allowed_access = access;
  rule.parent_fd = fd;
  long rc = syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
  int saved = errno;
  close(fd);
  if (rc != 0) {
    errno = saved;
    return Errno(absl::StrCat("adding a Landlock rule for \"", path, "\""));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyResourceLimits(const ResourceLimits& limits) {
  auto set = [](int resource, rlim_t soft, rlim_t hard, const char* name) -> absl::Status {
    struct rlimit rl = {soft, hard};
    if (setrlimit(resource, &rl) != 0) return Errno(absl::StrCat("setrlimit(", name, ")"));
    return absl::OkStatus();
  };
  if (absl::Status st = set(RLIMIT_CORE, 0, 0, "RLIMIT_CORE"); !st.ok()) return st;
  if (limits.cpu_seconds > 0) {
    const auto soft = static_cast<rlim_t>(limits.cpu_seconds);
    if (absl::Status st = set(RLIMIT_CPU, soft, soft + 5, "RLIMIT_CPU"); !st.ok()) return st;
  }
  if (kAddressSpaceLimitApplies && limits.address_space_bytes > 0) {
    const auto n = static_cast<rlim_t>(limits.address_space_bytes);
    if (absl::Status st = set(RLIMIT_AS, n, n, "RLIMIT_AS"); !st.ok()) return st;
  }
  if (limits.open_files > 0) {
    const auto n = static_cast<rlim_t>(limits.open_files);
    if (absl::Status st = set(RLIMIT_NOFILE, n, n, "RLIMIT_NOFILE"); !st.ok()) return st;
  }
  return absl::OkStatus();
}

int LandlockAbi() {
  long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi > 0 ? static_cast<int>(abi) : 0;
}

std::vector<std::string> WorkerSystemReadPaths() {
  return {"/usr/lib",
          "/usr/lib64",
          "/lib",
          "/lib64",
          "/usr/share/zoneinfo",
          "/etc/localtime",
          "/etc/ld.so.cache",
          "/dev/null",
          "/dev/urandom",
          "/proc/self",
          "/sys/devices/system/cpu"};
}

absl::Status ApplyLandlock(const LandlockPolicy& policy, int* abi_out) {
  const int abi = LandlockAbi();
  if (abi_out != nullptr) *abi_out = abi;
  if (abi == 0) {
    return absl::FailedPreconditionError(
        "the kernel has no Landlock (not built in, or not in the lsm= boot list)");
  }
  RulesetAttr attr;
  const uint64_t all_fs = FsRights(abi);
  attr.handled_access_fs =
      policy.read_anywhere ? all_fs & ~(kReadRights | LANDLOCK_ACCESS_FS_EXECUTE) : all_fs;
  size_t attr_size = sizeof(uint64_t);
  if (abi >= 4) {
    attr_size = 2 * sizeof(uint64_t);
    if (!policy.allow_tcp) {
      attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP;
    }
  }
  if (abi >= 6) {
    attr_size = sizeof(RulesetAttr);
    attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
  }
  long fd = syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
  if (fd < 0) return Errno("creating the Landlock ruleset");
  const int ruleset = static_cast<int>(fd);
  absl::Status st;
  if (!policy.read_anywhere) {
    for (const std::string& p : policy.read_paths) {
      st = AddPathRule(ruleset, p, kReadRights);
      if (!st.ok()) break;
    }
  }
  if (st.ok()) {
    for (const std::string& p : policy.write_paths) {
      st = AddPathRule(ruleset, p, attr.handled_access_fs & ~LANDLOCK_ACCESS_FS_EXECUTE);
      if (!st.ok()) break;
    }
  }
  if (st.ok() && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) st = Errno("PR_SET_NO_NEW_PRIVS");
  if (st.ok() && syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) {
    st = Errno("applying the Landlock ruleset");
  }
  close(ruleset);
  return st;
}

absl::Status UnshareNetwork() {
  if (unshare(CLONE_NEWNET) == 0) return absl::OkStatus();
  const int first = errno;
  if (unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("unshare(CLONE_NEWNET): ", std::strerror(first),
                   "; with a user namespace: ", std::strerror(errno)));
}

}  // namespace fixmine::pipeline
