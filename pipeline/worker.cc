#include "pipeline/worker.h"

#include <fcntl.h>
#include <git2.h>
#include <git2/sys/alloc.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <new>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "fixmine/v1/worker.pb.h"
#include "miner/git_handles.h"

extern char** environ;

namespace fixmine::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

// The worker's descriptors: the spec and replies come in on 3, messages go out on 4.
constexpr int kInFd = 3;
constexpr int kOutFd = 4;
// A frame larger than this is a broken protocol (a record is at most 48 MiB).
constexpr uint32_t kMaxFrame = uint32_t{256} << 20;

bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool ReadAll(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool WriteFrame(int fd, const google::protobuf::MessageLite& m) {
  std::string buf(4, '\0');
  if (!m.AppendToString(&buf)) return false;
  const auto n = static_cast<uint32_t>(buf.size() - 4);
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return WriteAll(fd, buf.data(), buf.size());
}

bool ReadFrame(int fd, google::protobuf::MessageLite* m) {
  unsigned char len[4];
  if (!ReadAll(fd, reinterpret_cast<char*>(len), 4)) return false;
  const uint32_t n = len[0] | (len[1] << 8) | (len[2] << 16) | (uint32_t{len[3]} << 24);
  if (n > kMaxFrame) return false;
  std::string body(n, '\0');
  if (!ReadAll(fd, body.data(), n)) return false;
  return m->ParseFromString(body);
}

void StatsToProto(const miner::WalkStats& s, bool with_tips, v1::WorkerStats* p) {
  p->set_commits_walked(s.commits_walked);
  p->set_merges_skipped(s.merges_skipped);
  p->set_merge_resolutions(s.merge_resolutions);
  p->set_records(s.records);
  p->set_files(s.files);
  p->set_commits_skipped(s.commits_skipped);
  p->set_already_present(s.already_present);
  p->set_unavailable_files(s.unavailable_files);
  for (const auto& e : s.errors) p->add_errors(e);
  p->set_walk_error(s.walk_error);
  if (with_tips) {
    for (const auto& t : s.tips) p->add_tips(t);
  }
}

// Tips are sent only with flushes and the end (a repository with many refs has many): an
// update without them keeps those known.
void StatsFromProto(const v1::WorkerStats& p, miner::WalkStats* s) {
  s->commits_walked = p.commits_walked();
  s->merges_skipped = p.merges_skipped();
  s->merge_resolutions = p.merge_resolutions();
  s->records = p.records();
  s->files = p.files();
  s->commits_skipped = p.commits_skipped();
  s->already_present = p.already_present();
  s->unavailable_files = p.unavailable_files();
  s->errors.assign(p.errors().begin(), p.errors().end());
  s->walk_error = p.walk_error();
  if (p.tips_size() > 0) s->tips.assign(p.tips().begin(), p.tips().end());
}

v1::WorkerSpec SpecToProto(const MiningSpec& spec, const WorkerOptions& options) {
  v1::WorkerSpec w;
  w.set_path(spec.path);
  for (const auto& r : spec.read_paths) w.add_read_paths(r);
  w.set_url(spec.url);
  w.set_fetch(spec.fetch);
  w.set_clone_max_bytes(spec.clone_limits.max_bytes);
  w.set_clone_timeout_seconds(spec.clone_limits.timeout_seconds);
  const miner::WalkOptions& walk = spec.walk;
  for (const auto& r : walk.revs) w.add_revs(r);
  w.set_all(walk.all);
  w.set_tags(walk.tags);
  for (const auto& h : walk.hide) w.add_hide(h);
  if (walk.since) {
    w.set_has_since(true);
    w.set_since(*walk.since);
  }
  if (walk.until) {
    w.set_has_until(true);
    w.set_until(*walk.until);
  }
  w.set_max_commits(walk.max_commits);
  w.set_workers(walk.workers);
  w.set_skip_query(static_cast<bool>(walk.skip));
  const miner::RecordOptions& r = spec.record;
  v1::WorkerRecordOptions* o = w.mutable_record();
  o->set_repo_name(r.repo_name);
  o->set_content_cap(r.content_cap);
  o->set_max_blob_bytes(r.max_blob_bytes);
  o->set_max_message_bytes(r.max_message_bytes);
  o->set_max_record_bytes(r.max_record_bytes);
  o->set_include_new_content(r.include_new_content);
  o->set_rename_threshold(r.rename_threshold);
  o->set_rename_limit(r.rename_limit);
  o->set_context_lines(r.context_lines);
  for (const auto& b : r.curation.extra_bots) o->add_extra_bots(b);
  o->set_email_policy(static_cast<int>(r.curation.email));
  o->set_secrets_policy(static_cast<int>(r.curation.secrets));
  o->set_license(r.curation.license);
  o->set_minhash(r.curation.minhash);
  o->set_szz_mode(static_cast<int>(r.szz.mode));
  o->set_szz_max_files(r.szz.max_files);
  o->set_szz_max_lines(r.szz.max_lines);
  o->set_szz_max_file_bytes(r.szz.max_file_bytes);
  w.set_fallback_license(spec.fallback_license);
  w.set_trajectories(spec.trajectories);
  w.set_fixed_by_from_walk(spec.fixed_by_from_walk);
  v1::WorkerLimits* l = w.mutable_limits();
  l->set_cpu_seconds(options.limits.cpu_seconds);
  l->set_address_space_bytes(options.limits.address_space_bytes);
  l->set_open_files(options.limits.open_files);
  l->set_require_landlock(options.require_landlock);
  return w;
}

MiningSpec SpecFromProto(const v1::WorkerSpec& w) {
  MiningSpec spec;
  spec.path = w.path();
  spec.read_paths.assign(w.read_paths().begin(), w.read_paths().end());
  spec.url = w.url();
  spec.fetch = w.fetch();
  spec.clone_limits.max_bytes = w.clone_max_bytes();
  spec.clone_limits.timeout_seconds = w.clone_timeout_seconds();
  miner::WalkOptions& walk = spec.walk;
  walk.revs.assign(w.revs().begin(), w.revs().end());
  walk.all = w.all();
  walk.tags = w.tags();
  walk.hide.assign(w.hide().begin(), w.hide().end());
  if (w.has_since()) walk.since = w.since();
  if (w.has_until()) walk.until = w.until();
  walk.max_commits = w.max_commits();
  walk.workers = w.workers();
  const v1::WorkerRecordOptions& o = w.record();
  miner::RecordOptions& r = spec.record;
  r.repo_name = o.repo_name();
  r.content_cap = o.content_cap();
  r.max_blob_bytes = o.max_blob_bytes();
  r.max_message_bytes = o.max_message_bytes();
  r.max_record_bytes = o.max_record_bytes();
  r.include_new_content = o.include_new_content();
  r.rename_threshold = o.rename_threshold();
  r.rename_limit = o.rename_limit();
  r.context_lines = o.context_lines();
  r.curation.extra_bots.assign(o.extra_bots().begin(), o.extra_bots().end());
  r.curation.email = static_cast<curation::EmailPolicy>(o.email_policy());
  r.curation.secrets = static_cast<curation::SecretsPolicy>(o.secrets_policy());
  r.curation.license = o.license();
  r.curation.minhash = o.minhash();
  r.szz.mode = static_cast<miner::SzzMode>(o.szz_mode());
  r.szz.max_files = o.szz_max_files();
  r.szz.max_lines = o.szz_max_lines();
  r.szz.max_file_bytes = o.szz_max_file_bytes();
  spec.fallback_license = w.fallback_license();
  spec.trajectories = w.trajectories();
  spec.fixed_by_from_walk = w.fixed_by_from_walk();
  return spec;
}

void TrajectoryStatsToProto(const miner::TrajectoryStats& s, v1::WorkerTrajectoryStats* p) {
  p->set_merges(s.merges);
  p->set_octopus_merges(s.octopus_merges);
  p->set_branches_without_steps(s.branches_without_steps);
  p->set_branches_all_nested(s.branches_all_nested);
  p->set_squashes(s.squashes);
  p->set_nested_steps(s.nested_steps);
  p->set_skipped(s.skipped);
  p->set_parents_shed(s.parents_shed);
  p->set_steps_shed(s.steps_shed);
  for (const auto& e : s.errors) p->add_errors(e);
}

void TrajectoryStatsFromProto(const v1::WorkerTrajectoryStats& p, miner::TrajectoryStats* s) {
  s->merges = p.merges();
  s->octopus_merges = p.octopus_merges();
  s->branches_without_steps = p.branches_without_steps();
  s->branches_all_nested = p.branches_all_nested();
  s->squashes = p.squashes();
  s->nested_steps = p.nested_steps();
  s->skipped = p.skipped();
  s->parents_shed = p.parents_shed();
  s->steps_shed = p.steps_shed();
  s->errors.assign(p.errors().begin(), p.errors().end());
}

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  const char* desc = sigdescr_np(sig);
  return absl::StrCat(abbrev != nullptr ? absl::StrCat("SIG", abbrev) : absl::StrCat(sig),
                      desc != nullptr ? absl::StrCat(" (", desc, ")") : "");
}

// ---- The worker's side ----

std::atomic<bool> g_stop{false};

void OnStopSignal(int) { g_stop.store(true); }

// Silent: the parent names the limit from the exit status (a raw line on the shared stderr
// would break fixmined's --log-format json).
[[noreturn]] void OutOfMemory() { _exit(kExitOutOfMemory); }

// An exception that ends the worker: bad_alloc, or a thread that could not be created (its
// stack did not fit the address-space limit), is the memory limit; anything else aborts.
void OnTerminate() {
  if (std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::bad_alloc&) {
      OutOfMemory();
    } catch (const std::system_error& se) {
      if (se.code() == std::errc::resource_unavailable_try_again ||
          se.code() == std::errc::not_enough_memory) {
        OutOfMemory();
      }
    } catch (...) {
    }
  }
  std::abort();
}

// libgit2's allocations go through these, so that one failing ends the worker with the
// memory-limit status instead of an error deep in a walk.
void* Need(void* p, size_t n) {
  if (p == nullptr && n > 0) OutOfMemory();
  return p;
}
void* GitMalloc(size_t n, const char*, int) { return Need(std::malloc(n), n); }
void* GitCalloc(size_t nelem, size_t elsize, const char*, int) {
  return Need(std::calloc(nelem, elsize), nelem * elsize);
}
char* GitStrdup(const char* s, const char*, int) { return static_cast<char*>(Need(strdup(s), 1)); }
char* GitStrndup(const char* s, size_t n, const char*, int) {
  return static_cast<char*>(Need(strndup(s, n), 1));
}
char* GitSubstrdup(const char* s, size_t n, const char*, int) {
  char* p = static_cast<char*>(Need(std::malloc(n + 1), n + 1));
  std::memcpy(p, s, n);
  p[n] = '\0';
  return p;
}
void* GitRealloc(void* p, size_t n, const char*, int) { return Need(std::realloc(p, n), n); }
void* GitReallocArray(void* p, size_t nelem, size_t elsize, const char*, int) {
  size_t n = 0;
  if (__builtin_mul_overflow(nelem, elsize, &n)) return nullptr;
  return Need(std::realloc(p, n), n);
}
void* GitMallocArray(size_t nelem, size_t elsize, const char*, int) {
  size_t n = 0;
  if (__builtin_mul_overflow(nelem, elsize, &n)) return nullptr;
  return Need(std::malloc(n), n);
}
void GitFree(void* p) { std::free(p); }

// The worker's end of the pipes; one frame at a time (the walk asks from its walking thread
// while records go out from the pipeline's).
class Channel {
 public:
  bool Send(const v1::WorkerMessage& m) {
    std::lock_guard<std::mutex> l(mu_);
    return WriteFrame(kOutFd, m);
  }
  // Sends a query and returns the parent's answer (false when the pipe broke).
  bool Ask(const v1::WorkerMessage& m) {
    std::lock_guard<std::mutex> l(mu_);
    v1::WorkerReply reply;
    return WriteFrame(kOutFd, m) && ReadFrame(kInFd, &reply) && reply.answer();
  }

 private:
  std::mutex mu_;
};

absl::Status PipeBroken() {
  return absl::UnavailableError("the mining worker's pipe to its parent broke");
}

class PipeSink : public MiningSink {
 public:
  explicit PipeSink(Channel* ch) : ch_(ch) {}

  absl::Status Put(fixmine::v1::Record&& r, std::string&&, const miner::WalkStats& s) override {
    v1::WorkerMessage m;
    m.mutable_record()->mutable_record()->Swap(&r);
    StatsToProto(s, false, m.mutable_record()->mutable_stats());
    return ch_->Send(m) ? absl::OkStatus() : PipeBroken();
  }
  void Progress(const miner::WalkStats& s) override {
    v1::WorkerMessage m;
    StatsToProto(s, false, m.mutable_progress());
    ch_->Send(m);
  }
  absl::Status FlushRecords(const miner::WalkStats& s) override {
    v1::WorkerMessage m;
    StatsToProto(s, true, m.mutable_flush());
    return ch_->Send(m) ? absl::OkStatus() : PipeBroken();
  }
  bool EarlierRecordIsFix(const std::string& id) override {
    v1::WorkerMessage m;
    m.set_fix_query(id);
    return ch_->Ask(m);
  }
  absl::Status PutTrajectories(std::vector<fixmine::v1::Trajectory>* group) override {
    v1::WorkerMessage m;
    for (auto& t : *group) m.mutable_trajectories()->add_trajectories()->Swap(&t);
    return ch_->Send(m) ? absl::OkStatus() : PipeBroken();
  }
  void Warn(const std::string& message) override {
    v1::WorkerMessage m;
    m.set_warn(message);
    ch_->Send(m);
  }
  void Opened() override {
    v1::WorkerMessage m;
    m.set_walking(true);
    ch_->Send(m);
  }
  void Phase(std::string_view name, int64_t total) override {
    v1::WorkerMessage m;
    m.mutable_phase()->set_name(std::string(name));
    m.mutable_phase()->set_total(total);
    ch_->Send(m);
  }
  void PhaseDone(int64_t done) override {
    v1::WorkerMessage m;
    m.set_phase_done(done);
    ch_->Send(m);
  }

 private:
  Channel* ch_;
};

void SendDone(Channel* ch, const absl::Status& st, const MiningResult& r) {
  v1::WorkerMessage m;
  v1::WorkerDone* d = m.mutable_done();
  d->set_code(static_cast<int>(st.code()));
  d->set_message(std::string(st.message()));
  d->set_walked(r.walked);
  d->set_license(r.license);
  d->set_trajectory_error(r.trajectory_error);
  StatsToProto(r.stats, true, d->mutable_stats());
  d->set_trajectories(r.trajectories);
  for (auto [steps, n] : r.trajectories_by_steps) (*d->mutable_trajectories_by_steps())[steps] = n;
  TrajectoryStatsToProto(r.trajectory_stats, d->mutable_trajectory_stats());
  ch->Send(m);
}

// True when the run's status or a skipped commit's message is ENOMEM's text.
bool MentionsOutOfMemory(const absl::Status& st, const miner::WalkStats& stats) {
  const std::string enomem = std::strerror(ENOMEM);
  auto has = [&enomem](std::string_view text) { return text.find(enomem) != text.npos; };
  if (has(std::string(st.message())) || has(stats.walk_error)) return true;
  for (const auto& e : stats.errors) {
    if (has(e)) return true;
  }
  return false;
}

// ---- The parent's side ----

// The worker process: killed and reaped when it goes out of scope still running.
struct Child {
  pid_t pid = -1;
  int to_child = -1;
  int from_child = -1;
  bool reaped = false;
  int wait_status = 0;
  struct rusage usage = {};

  ~Child() {
    if (pid > 0 && !reaped) {
      kill(pid, SIGKILL);
      while (wait4(pid, &wait_status, 0, &usage) < 0 && errno == EINTR) {
      }
    }
    if (to_child >= 0) close(to_child);
    if (from_child >= 0) close(from_child);
  }
  // Waits up to `grace` for the process to end, then kills it; reaps it.
  void Reap(std::chrono::milliseconds grace) {
    auto end = Clock::now() + grace;
    for (;;) {
      pid_t r = wait4(pid, &wait_status, WNOHANG, &usage);
      if (r == pid) break;
      if (r < 0 && errno != EINTR) break;
      if (Clock::now() >= end) {
        kill(pid, SIGKILL);
        while (wait4(pid, &wait_status, 0, &usage) < 0 && errno == EINTR) {
        }
        break;
      }
      usleep(5000);
    }
    reaped = true;
  }
};

// Blocks SIGPIPE on the calling thread while it talks to a worker, so that writing to one that
// died is an EPIPE, not the death of a process that did not ignore SIGPIPE; discards the
// SIGPIPEs this raised at the end.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlock() {
    if (!sigismember(&old_, SIGPIPE)) {
      struct timespec zero = {};
      while (sigtimedwait(&pipe_, nullptr, &zero) > 0) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_;
  sigset_t old_;
};

absl::Status Spawn(const WorkerOptions& options, Child* child) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) return absl::InternalError("pipe2 for the mining worker failed");
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    return absl::InternalError("pipe2 for the mining worker failed");
  }
  // The child's ends above 4, so that the dup2s onto 3 and 4 cannot overwrite each other.
  int child_in = fcntl(in[0], F_DUPFD_CLOEXEC, 10);
  int child_out = fcntl(out[1], F_DUPFD_CLOEXEC, 10);
  close(in[0]);
  close(out[1]);
  child->to_child = in[1];
  child->from_child = out[0];
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, child_in, kInFd);
  posix_spawn_file_actions_adddup2(&fa, child_out, kOutFd);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGTERM, SIGINT, SIGPIPE, SIGHUP}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  // Its own process group: a terminal's ^C reaches the parent, which stops the worker.
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  std::string parent = std::to_string(getpid());
  std::vector<char*> argv = {const_cast<char*>(options.executable.c_str()),
                             const_cast<char*>(kWorkerFlag), parent.data(), nullptr};
  int rc = posix_spawn(&child->pid, options.executable.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(child_in);
  close(child_out);
  if (rc != 0) {
    child->pid = -1;
    return absl::InternalError(absl::StrCat("starting the mining worker \"", options.executable,
                                            "\": ", std::strerror(rc)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MineInWorker(const MiningSpec& spec, const WorkerOptions& options, MiningSink* sink,
                          MiningResult* result, WorkerRun* run) {
  *result = MiningResult();
  *run = WorkerRun();
  const std::atomic<bool>* cancel =
      spec.walk.cancel != nullptr ? spec.walk.cancel : spec.clone_limits.cancel;
  SigpipeBlock no_sigpipe;
  Child child;
  if (absl::Status st = Spawn(options, &child); !st.ok()) return st;
  // A worker that dies before reading its spec is reported by its exit below.
  (void)WriteFrame(child.to_child, SpecToProto(spec, options));
  fcntl(child.from_child, F_SETFL, fcntl(child.from_child, F_GETFL) | O_NONBLOCK);

  miner::WalkStats stats;
  absl::Status sink_error;
  absl::Status protocol_error;
  v1::WorkerDone done;
  bool got_done = false;
  bool term_sent = false;
  bool killed = false;
  Clock::time_point term_at;
  std::string buf;
  size_t off = 0;
  auto reply = [&](bool answer) {
    v1::WorkerReply r;
    r.set_answer(answer);
    (void)WriteFrame(child.to_child, r);
  };
  auto handle = [&](v1::WorkerMessage& m) {
    const bool failed = !sink_error.ok();
    switch (m.kind_case()) {
      case v1::WorkerMessage::kRecord: {
        StatsFromProto(m.record().stats(), &stats);
        if (failed) break;
        fixmine::v1::Record r;
        r.Swap(m.mutable_record()->mutable_record());
        if (spec.decontaminate) spec.decontaminate(&r);
        std::string encoded;
        if (sink->Encodes()) {
          if (absl::Status st = sink->Encode(r, &encoded); !st.ok()) {
            sink_error = st;
            break;
          }
        }
        if (absl::Status st = sink->Put(std::move(r), std::move(encoded), stats); !st.ok()) {
          sink_error = st;
        }
        break;
      }
      case v1::WorkerMessage::kProgress:
        StatsFromProto(m.progress(), &stats);
        if (!failed) sink->Progress(stats);
        break;
      case v1::WorkerMessage::kFlush:
        StatsFromProto(m.flush(), &stats);
        if (failed) break;
        if (absl::Status st = sink->FlushRecords(stats); !st.ok()) sink_error = st;
        break;
      case v1::WorkerMessage::kTrajectories: {
        if (failed) break;
        std::vector<fixmine::v1::Trajectory> group(m.trajectories().trajectories_size());
        for (int i = 0; i < m.trajectories().trajectories_size(); ++i) {
          group[i].Swap(m.mutable_trajectories()->mutable_trajectories(i));
        }
        if (absl::Status st = sink->PutTrajectories(&group); !st.ok()) sink_error = st;
        break;
      }
      case v1::WorkerMessage::kWarn:
        sink->Warn(m.warn());
        break;
      case v1::WorkerMessage::kSkipQuery:
        reply(!failed && spec.walk.skip && spec.walk.skip(m.skip_query()));
        break;
      case v1::WorkerMessage::kFixQuery:
        reply(!failed && sink->EarlierRecordIsFix(m.fix_query()));
        break;
      case v1::WorkerMessage::kWalking:
        result->walked = true;
        break;
      case v1::WorkerMessage::kPhase:
        if (!failed) sink->Phase(m.phase().name(), m.phase().total());
        break;
      case v1::WorkerMessage::kPhaseDone:
        if (!failed) sink->PhaseDone(m.phase_done());
        break;
      case v1::WorkerMessage::kSandbox: {
        const v1::WorkerSandbox& sb = m.sandbox();
        run->landlocked = sb.landlocked();
        run->sandbox =
            sb.landlocked()
                ? absl::StrCat("landlock ABI ", sb.landlock_abi(), ", network: ", sb.network())
                : absl::StrCat("no Landlock: ", sb.warning(), "; network: ", sb.network());
        break;
      }
      case v1::WorkerMessage::kDone:
        done = std::move(*m.mutable_done());
        got_done = true;
        break;
      case v1::WorkerMessage::KIND_NOT_SET:
        protocol_error = absl::InternalError("the mining worker sent an empty message");
        break;
    }
  };

  bool eof = false;
  while (!eof) {
    const bool stop = cancel != nullptr && cancel->load();
    if (stop && !term_sent) {
      kill(child.pid, SIGTERM);
      term_sent = true;
      term_at = Clock::now();
    }
    if (!killed && ((term_sent && Clock::now() - term_at >= options.stop_grace) ||
                    !sink_error.ok() || !protocol_error.ok())) {
      kill(child.pid, SIGKILL);
      killed = true;
      run->killed_after_grace = sink_error.ok() && protocol_error.ok();
    }
    struct pollfd p = {child.from_child, POLLIN, 0};
    int pr = poll(&p, 1, 50);
    if (pr < 0 && errno != EINTR) break;
    if (pr <= 0) continue;
    char chunk[1 << 16];
    for (;;) {
      ssize_t n = read(child.from_child, chunk, sizeof chunk);
      if (n > 0) {
        buf.append(chunk, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) eof = true;
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    while (buf.size() - off >= 4 && protocol_error.ok()) {
      const auto* b = reinterpret_cast<const unsigned char*>(buf.data() + off);
      const uint32_t len = b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t{b[3]} << 24);
      if (len > kMaxFrame) {
        protocol_error = absl::InternalError("the mining worker sent an oversized frame");
        break;
      }
      if (buf.size() - off - 4 < len) break;
      v1::WorkerMessage m;
      if (!m.ParseFromArray(buf.data() + off + 4, static_cast<int>(len))) {
        protocol_error =
            absl::InternalError("the mining worker sent a message that does not parse");
        break;
      }
      off += 4 + len;
      handle(m);
    }
    if (off > 0 && off == buf.size()) {
      buf.clear();
      off = 0;
    } else if (off > (size_t{1} << 20)) {
      buf.erase(0, off);
      off = 0;
    }
  }
  child.Reap(options.stop_grace);

  // Records received before the worker ended are complete: kept, as MineRepository keeps
  // them after a failed walk.
  if (!got_done && sink_error.ok()) {
    if (absl::Status st = sink->FlushRecords(stats); !st.ok()) sink_error = st;
  }
  result->stats = stats;
  const int ws = child.wait_status;
  if (WIFEXITED(ws)) {
    run->end = WEXITSTATUS(ws) == 0 ? "exited"
               : WEXITSTATUS(ws) == kExitOutOfMemory
                   ? "address-space limit"
                   : absl::StrCat("exited with status ", WEXITSTATUS(ws));
  } else if (WIFSIGNALED(ws)) {
    const int sig = WTERMSIG(ws);
    const double cpu = static_cast<double>(child.usage.ru_utime.tv_sec) +
                       static_cast<double>(child.usage.ru_stime.tv_sec) +
                       (child.usage.ru_utime.tv_usec + child.usage.ru_stime.tv_usec) / 1e6;
    const int64_t cpu_limit = options.limits.cpu_seconds;
    if (sig == SIGXCPU || (sig == SIGKILL && cpu_limit > 0 && cpu >= cpu_limit)) {
      run->end = "CPU-time limit";
    } else if (sig == SIGKILL && killed) {
      run->end = run->killed_after_grace ? "killed after the stop grace" : "killed";
    } else {
      run->end = absl::StrCat("killed by signal ", SignalName(sig));
    }
  }
  if (!sink_error.ok()) return sink_error;
  if (!protocol_error.ok()) return protocol_error;
  if (got_done) {
    result->walked = done.walked();
    result->license = done.license();
    result->trajectory_error = done.trajectory_error();
    StatsFromProto(done.stats(), &result->stats);
    result->trajectories = done.trajectories();
    for (const auto& [steps, n] : done.trajectories_by_steps()) {
      result->trajectories_by_steps[steps] = n;
    }
    TrajectoryStatsFromProto(done.trajectory_stats(), &result->trajectory_stats);
    return absl::Status(static_cast<absl::StatusCode>(done.code()), done.message());
  }
  if (run->end == "CPU-time limit") {
    return absl::ResourceExhaustedError(
        absl::StrCat("the mining worker reached its CPU-time limit (", options.limits.cpu_seconds,
                     " s of CPU) and was killed"));
  }
  if (run->end == "address-space limit") {
    return absl::ResourceExhaustedError(
        absl::StrCat("the mining worker ran out of memory under its address-space limit (",
                     options.limits.address_space_bytes >> 20, " MiB)"));
  }
  if (term_sent) {
    return absl::CancelledError(
        run->killed_after_grace
            ? absl::StrCat("the mining worker did not stop within ", options.stop_grace.count(),
                           " ms of the cancel (stuck in libgit2?) and was killed")
            : "the mining worker stopped on the cancel");
  }
  if (WIFSIGNALED(ws)) {
    return absl::AbortedError(absl::StrCat("the mining worker was ", run->end,
                                           " (a crash in libgit2 on this "
                                           "repository?); records mined before it are kept"));
  }
  return absl::InternalError(
      absl::StrCat("the mining worker ", run->end, " without finishing its run"));
}

int RunMiningWorker(int argc, char** argv) {
  // Nothing of the parent's but the two pipes (and stdin/out/err) stays open.
  syscall(SYS_close_range, kOutFd + 1, ~0U, 0);
  // The worker never outlives the thread that started it (fixmined killed, say).
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (argc > 2 && getppid() != static_cast<pid_t>(std::atoll(argv[2]))) return 1;
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  std::set_new_handler([] { OutOfMemory(); });
  std::set_terminate(OnTerminate);

  v1::WorkerSpec ws;
  if (!ReadFrame(kInFd, &ws)) return 2;
  Channel ch;
  MiningResult result;
  const v1::WorkerLimits& lim = ws.limits();
  // libgit2's one-time set-up before the limits (under a tight address-space limit its own
  // initialisation would fail inside its error path), with its allocations routed through
  // these from then on.
  miner::EnsureLibgit2();
  static git_allocator alloc = {GitMalloc,       GitCalloc,      GitStrdup,
                                GitStrndup,      GitSubstrdup,   GitRealloc,
                                GitReallocArray, GitMallocArray, GitFree};
  git_libgit2_opts(GIT_OPT_SET_ALLOCATOR, &alloc);
  // Then the limits: they hold the clone too.
  if (absl::Status st = ApplyResourceLimits({.cpu_seconds = lim.cpu_seconds(),
                                             .address_space_bytes = lim.address_space_bytes(),
                                             .open_files = lim.open_files()});
      !st.ok()) {
    SendDone(&ch, st, result);
    _exit(0);
  }
  // No user or system git configuration: the worker reads its repository only.
  for (int level : {GIT_CONFIG_LEVEL_SYSTEM, GIT_CONFIG_LEVEL_XDG, GIT_CONFIG_LEVEL_GLOBAL,
                    GIT_CONFIG_LEVEL_PROGRAMDATA}) {
    git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, level, "");
  }
  // Pack windows within a quarter of the address space, pack files within half the
  // descriptors: libgit2 closes windows and files to stay under these instead of failing.
  if (lim.address_space_bytes() > 0) {
    git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT,
                     static_cast<size_t>(lim.address_space_bytes() / 4));
  }
  if (lim.open_files() > 0) {
    git_libgit2_opts(GIT_OPT_SET_MWINDOW_FILE_LIMIT, static_cast<size_t>(lim.open_files() / 2));
  }

  MiningSpec spec = SpecFromProto(ws);
  spec.walk.cancel = &g_stop;
  spec.clone_limits.cancel = &g_stop;
  if (ws.skip_query()) {
    spec.walk.skip = [&ch](std::string_view hex) {
      v1::WorkerMessage m;
      m.set_skip_query(std::string(hex));
      return ch.Ask(m);
    };
  }
  const int abi = LandlockAbi();
  v1::WorkerSandbox sb;
  sb.set_landlock_abi(abi);
  std::vector<std::string> warnings;

  // The clone or fetch: network allowed, reads anywhere (certificates, a file:// source),
  // writes only beneath the mirrors folder.
  std::error_code ec;
  if (!spec.url.empty() && (spec.fetch || !std::filesystem::exists(spec.path, ec))) {
    const std::string mirrors = std::filesystem::path(spec.path).parent_path().string();
    std::filesystem::create_directories(mirrors, ec);
    if (abi > 0) {
      absl::Status st =
          ApplyLandlock({.write_paths = {mirrors}, .read_anywhere = true, .allow_tcp = true});
      if (!st.ok()) warnings.push_back(absl::StrCat("clone sandbox: ", st.message()));
    }
    absl::Status st = std::filesystem::exists(spec.path, ec)
                          ? miner::FetchMirror(spec.path, spec.clone_limits)
                          : miner::CloneMirror(spec.url, spec.path, spec.clone_limits);
    if (!st.ok()) {
      SendDone(&ch, st, result);
      _exit(0);
    }
  }
  spec.url.clear();
  spec.fetch = false;

  // The walk: no network, reads only the repository and the system files, writes nothing.
  std::vector<std::string> net;
  if (absl::Status st = UnshareNetwork(); st.ok()) {
    net.emplace_back("network namespace");
  } else {
    warnings.push_back(std::string(st.message()));
  }
  if (abi > 0) {
    LandlockPolicy policy;
    policy.read_paths = WorkerSystemReadPaths();
    std::string real = std::filesystem::canonical(spec.path, ec).string();
    policy.read_paths.push_back(ec ? spec.path : real);
    for (const auto& p : spec.read_paths) policy.read_paths.push_back(p);
    absl::Status st = ApplyLandlock(policy);
    if (st.ok()) {
      sb.set_landlocked(true);
      if (abi >= 4) net.emplace_back("landlock tcp");
    } else {
      warnings.push_back(std::string(st.message()));
    }
  } else {
    warnings.emplace_back("the kernel has no Landlock");
  }
  sb.set_network(net.empty() ? "not cut" : absl::StrJoin(net, " + "));
  sb.set_warning(absl::StrJoin(warnings, "; "));
  {
    v1::WorkerMessage m;
    *m.mutable_sandbox() = sb;
    if (!ch.Send(m)) return 3;
  }
  if (!sb.landlocked() && lim.require_landlock()) {
    SendDone(&ch,
             absl::FailedPreconditionError(
                 absl::StrCat("Landlock is required but could not be applied: ", sb.warning())),
             result);
    _exit(0);
  }
  PipeSink sink(&ch);
  absl::Status st = MineRepository(spec, &sink, &result);
  if (kAddressSpaceLimitApplies && lim.address_space_bytes() > 0 &&
      MentionsOutOfMemory(st, result.stats)) {
    // A C library call (opendir, mmap) that failed with ENOMEM under the limit: libgit2 made
    // it an error or a skipped commit. Ended as the limit, so the job fails (what was sent is
    // kept) and no watermark moves past a commit skipped for want of memory.
    OutOfMemory();
  }
  SendDone(&ch, st, result);
  // Everything is sent (the pipe is unbuffered) and the walk's threads are joined: nothing of
  // the process is worth tearing down (nor a sanitizer's exit-time report on it).
  _exit(0);
}

}  // namespace fixmine::pipeline
