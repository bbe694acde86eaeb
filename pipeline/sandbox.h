#pragma once
// The mining worker's sandbox (docs/security.md, "The mining worker"): resource limits and a
// Landlock ruleset, applied by the worker process to itself before it touches a repository.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace fixmine::pipeline {

// Resource limits of one worker process (setrlimit); 0 leaves a limit as inherited.
struct ResourceLimits {
  // RLIMIT_CPU: seconds of CPU time of all the worker's threads together. At the limit the
  // kernel sends SIGXCPU (then SIGKILL 5 s of CPU later).
  int64_t cpu_seconds = 0;
  // RLIMIT_AS: bytes of address space. An allocation past it fails; the worker then exits with
  // kExitOutOfMemory.
  int64_t address_space_bytes = 0;
  // RLIMIT_NOFILE: open file descriptors.
  int64_t open_files = 0;
};

// The worker's exit status when an allocation failed (the address-space limit, mostly).
inline constexpr int kExitOutOfMemory = 87;

// False in an AddressSanitizer or ThreadSanitizer build: their shadow memory alone reserves
// terabytes of address space, so RLIMIT_AS would fail every allocation; such builds leave
// ResourceLimits::address_space_bytes unapplied.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kAddressSpaceLimitApplies = false;
#else
inline constexpr bool kAddressSpaceLimitApplies = true;
#endif

// Applies `limits` to the calling process (the address space only where
// kAddressSpaceLimitApplies), and RLIMIT_CORE 0 (a crashing worker leaves no core
// file). INTERNAL with errno's text when setrlimit fails.
absl::Status ApplyResourceLimits(const ResourceLimits& limits);

// What the Landlock ruleset allows; everything else it handles is denied.
struct LandlockPolicy {
  // Read-only beneath these (folders) or these files. A path that does not exist is passed over.
  std::vector<std::string> read_paths;
  // Read and write (create, remove, rename) beneath these folders.
  std::vector<std::string> write_paths;
  // Leave reading unrestricted (only writes are handled): the clone phase, which reads
  // certificates, resolver files and a file:// source wherever they are.
  bool read_anywhere = false;
  // Leave TCP connect/bind allowed (a clone or fetch). Otherwise, with Landlock ABI >= 4, the
  // worker can neither connect nor bind a TCP socket.
  bool allow_tcp = false;
};

// The Landlock ABI version of the running kernel: 0 when it has no Landlock or it is disabled.
// Thread-safe.
int LandlockAbi();

// The system files every worker reads besides its repository: shared libraries and gconv
// modules (/usr/lib, /lib), time zones, /dev/null, /dev/urandom, its own /proc/self and the CPU
// list in /sys (thread counts).
std::vector<std::string> WorkerSystemReadPaths();

// Restricts the calling thread, and the threads and processes it creates afterwards, to
// `policy` for good (no_new_privs is set first). Handles every file-system right the kernel's
// ABI knows, TCP bind/connect (ABI >= 4) unless `allow_tcp`, and scopes abstract UNIX sockets
// and signals to the worker (ABI >= 6). Call it before starting threads: threads that already
// run keep their old rights. Sets `*abi` (may be null) to the ABI used. FAILED_PRECONDITION
// when the kernel has no Landlock; INTERNAL with errno's text when a call fails.
absl::Status ApplyLandlock(const LandlockPolicy& policy, int* abi = nullptr);

// Moves the calling process into a new, empty network namespace (only loopback, down): first
// unshare(CLONE_NEWNET), then, where that needs a privilege the process lacks and it is still
// single-threaded, a new user namespace with it. PERMISSION_DENIED with errno's text when
// neither is allowed (a container without the capability or user namespaces).
absl::Status UnshareNetwork();

}  // namespace fixmine::pipeline
