#pragma once
// The mining worker (docs/security.md, "The mining worker"): MineRepository run in a child
// process, with resource limits and a Landlock ruleset, streaming what it mines to the parent
// over a pipe (proto/fixmine/v1/worker.proto). The parent alone writes the store or the
// output; a hostile repository that hangs or crashes libgit2 takes down its worker only.

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "pipeline/mine_repository.h"
#include "pipeline/sandbox.h"

namespace fixmine::pipeline {

// The argument that turns fixmined (or fixmine) into a mining worker: `EXE --mining-worker
// PARENT_PID`, with the spec on fd 3 and the messages on fd 4.
inline constexpr char kWorkerFlag[] = "--mining-worker";

// How the parent starts and stops its worker.
struct WorkerOptions {
  // The executable run as the worker; its main must call RunMiningWorker when its first
  // argument is kWorkerFlag. /proc/self/exe: the running binary itself, so an image needs no
  // second one.
  std::string executable = "/proc/self/exe";
  ResourceLimits limits;
  // Fail the run (FAILED_PRECONDITION) instead of mining without Landlock on a kernel that has
  // none.
  bool require_landlock = false;
  // After a cancel, the worker gets SIGTERM (it stops at the next commit and sends what it
  // has); one still running this long after is killed (SIGKILL).
  std::chrono::milliseconds stop_grace{500};
};

// How one worker run went, for the job's record and the logs.
struct WorkerRun {
  // How the process ended: "exited", "killed by signal SIGSEGV", "CPU-time limit",
  // "address-space limit", "killed after the stop grace" (empty when it never started).
  std::string end;
  // The sandbox it ran in ("landlock ABI 7, network namespace"), or why it had none.
  std::string sandbox;
  // Whether the Landlock ruleset was applied.
  bool landlocked = false;
  // True when a cancel asked it to stop and it did not within the grace (it was stuck).
  bool killed_after_grace = false;
};

// Runs MineRepository(spec) in a worker process and hands its output to `sink` (borrowed) on
// the calling thread, in the order the worker produced it; fills `result` and `run` (neither
// may be null). The spec's callbacks stay here: `walk.skip` and EarlierRecordIsFix are asked
// over the pipe, `decontaminate` (and the sink's Encode) run here on each record before Put.
// `spec.walk.cancel` (else `spec.clone_limits.cancel`) is polled every 50 ms: once set, the
// worker is stopped as WorkerOptions::stop_grace says and the run returns CANCELLED. A sink
// error kills the worker and is returned. Records received before the worker ended are always
// flushed to the sink. Errors besides MineRepository's own: RESOURCE_EXHAUSTED when the worker
// hit its CPU-time or address-space limit, ABORTED when it was killed by a signal (the
// signal's name in the message), INTERNAL when it could not be started or broke the protocol.
absl::Status MineInWorker(const MiningSpec& spec, const WorkerOptions& options, MiningSink* sink,
                          MiningResult* result, WorkerRun* run);

// The worker's side: `argv` as main got it (argv[1] == kWorkerFlag). Reads the spec from fd 3,
// applies the limits and sandbox, runs MineRepository and writes its messages to fd 4. Returns
// the process's exit status. Call it first thing in main, before any thread starts.
int RunMiningWorker(int argc, char** argv);

}  // namespace fixmine::pipeline
