// fixmined: the fixmine gRPC server.
#include <grpc/support/log.h>
#include <malloc.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string_view>
#include <thread>

#include "CLI/CLI.hpp"
#include "common/log.h"
#include "pipeline/mine_repository.h"
#include "pipeline/worker.h"
#include "server/server.h"

int main(int argc, char** argv) {
  // A mining job's worker: fixmined runs itself again in this hidden mode (pipeline/worker.h),
  // before anything else starts a thread.
  if (argc > 1 && std::string_view(argv[1]) == fixmine::pipeline::kWorkerFlag) {
    mallopt(M_ARENA_MAX, 2);
    return fixmine::pipeline::RunMiningWorker(argc, argv);
  }
  // Two malloc arenas instead of glibc's eight per core: records are built on the mining
  // workers' threads and freed on the job's, and with an arena per thread the freed pages
  // stayed with the workers' arenas, about 150 MiB of the server's RSS on libgit2, at no
  // measurable CPU cost (docs/performance.md, "Server mine (session 3)").
  mallopt(M_ARENA_MAX, 2);
  fixmine::server::ServerConfig config;
  CLI::App app{"fixmined: serves mined git commit records over gRPC", "fixmined"};
  app.add_option("--listen", config.listen, "HOST:PORT to listen on (port 0 picks one)")
      ->capture_default_str();
  app.add_option("--data-dir", config.data_dir, "folder of the store and mirrors")->required();
  app.add_option("--allowed-root", config.allowed_roots,
                 "local repositories must resolve under this folder (repeatable)");
  app.add_option("--allow-scheme", config.allowed_schemes,
                 "URL schemes accepted for remote repositories (repeatable; default https)");
  app.add_option("--workers", config.job_workers, "mining jobs that run at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--mine-threads", config.mine_threads,
                 "threads building records within one job (0: one per core)")
      ->check(CLI::Range(0, 256));
  app.add_option("--batch-records", config.batch_records,
                 "records per atomic write batch of a mining job (with the job's progress)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--port-file", config.port_file,
                 "write the bound port here once listening (an old file is removed at start)");
  app.add_flag("--accept-damaged-store", config.accept_damaged_store,
               "open a store whose MANIFEST is shorter than recorded (it lost files) instead of "
               "refusing to start; then check it with `fixmine db verify` (docs/reliability.md)");
  double shutdown_timeout = 2;
  app.add_option("--shutdown-timeout", shutdown_timeout,
                 "seconds SIGTERM/SIGINT may take: calls drain for half of it, jobs are asked "
                 "to stop; a job still busy then (stuck in a damaged repository) does not hold "
                 "the process, which exits anyway (the store is crash-safe) and the job "
                 "resumes at the next start (docs/reliability.md)")
      ->capture_default_str()
      ->check(CLI::Range(0.5, 3600.0));
  // Defaults shared with `fixmine extract --repo-list` (pipeline/mine_repository.h).
  std::string email_policy(fixmine::pipeline::kServerPolicies.email_policy);
  std::string secrets_policy(fixmine::pipeline::kServerPolicies.secrets);
  std::string szz(fixmine::pipeline::kServerPolicies.szz);
  std::string trajectories(fixmine::pipeline::kServerPolicies.trajectories);
  app.add_option("--bot", config.curation.extra_bots,
                 "authors whose name or e-mail contains this are bots (repeatable; besides "
                 "[bot], dependabot, renovate, github-actions)");
  app.add_option("--email-policy", email_policy,
                 "how author and committer e-mails are stored: keep, hash or drop")
      ->check(CLI::IsMember({"keep", "hash", "drop"}))
      ->capture_default_str();
  app.add_option("--secrets", secrets_policy,
                 "secrets found in added lines and pre-images: redact or flag")
      ->check(CLI::IsMember({"redact", "flag"}))
      ->capture_default_str();
  app.add_option("--near-dup-threshold", config.near_dup_threshold,
                 "estimated Jaccard similarity of added lines at which two records are near "
                 "duplicates; each is marked near_duplicate_of its near group's earliest "
                 "authored record (0 turns the check off; a change relabels the store at start)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--metrics-listen", config.metrics_listen,
                 "HOST:PORT to serve Prometheus metrics at /metrics (default: off)");
  std::string log_format = "text";
  app.add_option("--log-format", log_format,
                 "log lines on stderr: text, or json (one object per line)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--szz", szz,
                 "bug-introducing commits (SZZ blame) for: fixes, all or off "
                 "(docs/trajectories.md)")
      ->check(CLI::IsMember({"fixes", "all", "off"}))
      ->capture_default_str();
  app.add_option("--trajectories", trajectories,
                 "find pull-request trajectories while mining and fill the step records' "
                 "trajectory fields: on or off (docs/trajectories.md)")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  // Security and limits: docs/security.md.
  app.add_option("--token-file", config.token_file,
                 "bearer tokens, lines \"admin TOKEN\" / \"read TOKEN\"; every call then needs "
                 "one (health checks excepted)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-cert", config.tls.cert, "PEM certificate chain: serve TLS");
  app.add_option("--tls-key", config.tls.key, "PEM private key of --tls-cert");
  app.add_option("--tls-client-ca", config.tls.client_ca,
                 "PEM CA bundle: require client certificates it signed (mutual TLS)");
  app.add_option("--max-streams", config.max_streams,
                 "streams open at once (RESOURCE_EXHAUSTED beyond)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--max-jobs", config.max_jobs,
                 "mining jobs queued or running at once (RESOURCE_EXHAUSTED beyond)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--stream-idle-timeout", config.stream_idle_seconds,
                 "seconds a stream may wait on a client that takes no response (0: off)")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400));
  app.add_option("--max-request-bytes", config.max_request_bytes, "largest request message")
      ->capture_default_str()
      ->check(CLI::Range(1024, 64 << 20));
  app.add_option("--max-blob-bytes", config.max_blob_bytes,
                 "blobs larger than this are not read (their file is marked binary)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{512} << 20));
  app.add_option("--max-message-bytes", config.max_message_bytes,
                 "commit messages are cut to this many bytes in records")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1024}, int64_t{32} << 20));
  app.add_option("--max-record-bytes", config.max_record_bytes,
                 "records larger than this shed file contents, then patches, largest first")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1} << 20, int64_t{48} << 20));
  app.add_option("--max-clone-bytes", config.max_clone_bytes,
                 "a clone or fetch receiving more bytes fails")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 50));
  app.add_option("--clone-timeout", config.clone_timeout_seconds,
                 "a clone or fetch running longer (seconds) fails")
      ->capture_default_str()
      ->check(CLI::Range(1, 7 * 86400));
  // The mining worker (docs/security.md, "The mining worker").
  app.add_option("--worker-cpu-seconds", config.worker_cpu_seconds,
                 "CPU seconds a job's mining worker may use, all its threads together; past it "
                 "the job fails with \"CPU-time limit\" (0: no limit)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{30} * 86400));
  app.add_option("--worker-max-memory", config.worker_max_memory_mb,
                 "address space (MiB) of a job's mining worker; an allocation past it fails "
                 "the job with \"address-space limit\" (0: no limit)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
  app.add_option("--worker-max-open-files", config.worker_max_open_files,
                 "open files of a job's mining worker (0: as inherited)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  app.add_flag("--worker-require-landlock", config.worker_require_landlock,
               "refuse to start when the kernel has no Landlock, instead of running mining "
               "workers without it (with a warning and the fixmine_worker_unsandboxed_total "
               "metric)");
  // GitHub issues and pull requests: docs/github.md.
  std::string github_token_file;
  app.add_option("--github-api-url", config.github_api_url,
                 "GitHub REST API base URL (a test server's in tests)")
      ->capture_default_str();
  app.add_option("--github-token-file", github_token_file,
                 "file whose first line is the GitHub token (else $GITHUB_TOKEN); sent only to "
                 "--github-api-url, never logged or stored")
      ->check(CLI::ExistingFile);
  app.add_flag("--github-allow-http", config.github_allow_http,
               "allow a plain http --github-api-url (a local test server)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  fixmine::SetLogOutput(*fixmine::ParseLogFormat(log_format));
  // gRPC's own messages go through the same log, so --log-format json keeps every line JSON.
  gpr_set_log_function([](gpr_log_func_args* args) {
    fixmine::LogLevel level = args->severity == GPR_LOG_SEVERITY_ERROR  ? fixmine::LogLevel::kError
                              : args->severity == GPR_LOG_SEVERITY_INFO ? fixmine::LogLevel::kInfo
                                                                        : fixmine::LogLevel::kDebug;
    fixmine::Log(level, std::string("grpc: ") + (args->message ? args->message : ""));
  });
  config.curation.email = *fixmine::curation::ParseEmailPolicy(email_policy);
  config.curation.secrets = *fixmine::curation::ParseSecretsPolicy(secrets_policy);
  config.szz = *fixmine::miner::ParseSzzMode(szz);
  config.trajectories = trajectories == "on";
  if (!github_token_file.empty()) {
    std::ifstream f(github_token_file);
    std::string line;
    std::getline(f, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) {
      std::cerr << "fixmined: --github-token-file \"" << github_token_file
                << "\" has no token on its first line\n";
      return 2;
    }
    config.github_token = line;
  } else if (const char* t = std::getenv("GITHUB_TOKEN"); t != nullptr && *t != '\0') {
    config.github_token = t;
  }

  // SIGTERM and SIGINT drain and stop the server; they are taken by a waiting thread.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // A port file left by an earlier run must not be read as this run's port.
  if (!config.port_file.empty()) std::remove(config.port_file.c_str());

  auto server = fixmine::server::Server::Start(config);
  if (!server.ok()) {
    fixmine::Log(fixmine::LogLevel::kError,
                 std::string("fixmined: ") + std::string(server.status().message()));
    return 1;
  }
  fixmine::Log(fixmine::LogLevel::kInfo, "fixmined: listening on port " +
                                             std::to_string((*server)->port()) + ", data in " +
                                             config.data_dir);
  std::atomic<bool> stopped{false};
  // Set (under close_mu) once the main thread is about to destroy the server.
  std::mutex close_mu;
  bool closing = false;
  std::thread signals([&] {
    int sig = 0;
    sigwait(&set, &sig);
    fixmine::Log(fixmine::LogLevel::kInfo,
                 "fixmined: signal " + std::to_string(sig) + ", draining");
    // The bound on the whole stop: a job stuck inside libgit2 (a damaged object it cannot
    // leave) or a long RocksDB close must not keep the process. Every write is an atomic,
    // synced batch, so exiting here loses no committed work; the jobs resume at the next start
    // (and one that keeps getting stuck is not resumed: JobRunner::kStuckStopLimit).
    std::thread([&stopped, &close_mu, &closing, &server, shutdown_timeout] {
      auto end = std::chrono::steady_clock::now() +
                 std::chrono::milliseconds(static_cast<int64_t>(shutdown_timeout * 1000));
      while (std::chrono::steady_clock::now() < end) {
        if (stopped.load()) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (stopped.load()) return;
      fixmine::Log(fixmine::LogLevel::kWarn,
                   "fixmined: not stopped within --shutdown-timeout; exiting without waiting "
                   "for the jobs still running (they resume at the next start)");
      // While the main thread is still joining the signal thread, the server is whole: the
      // stuck jobs are what holds the stop.
      {
        std::lock_guard<std::mutex> l(close_mu);
        if (!closing) (*server)->MarkStuckJobs();
      }
      std::fflush(nullptr);
      std::_Exit(0);
    }).detach();
    (*server)->Shutdown(static_cast<int>(shutdown_timeout * 1000 / 2));
  });
  (*server)->Wait();
  signals.join();
  {
    std::lock_guard<std::mutex> l(close_mu);
    closing = true;
  }
  server->reset();
  stopped = true;
  fixmine::Log(fixmine::LogLevel::kInfo, "fixmined: stopped");
  return 0;
}
