// fixmined: the fixmine gRPC server.
#include <malloc.h>
#include <signal.h>

#include <iostream>
#include <thread>

#include <grpc/support/log.h>

#include "CLI/CLI.hpp"
#include "common/log.h"
#include "pipeline/mine_repository.h"
#include "server/server.h"

int main(int argc, char** argv) {
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
  app.add_option("--port-file", config.port_file, "write the bound port here once listening");
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
                 "estimated Jaccard similarity of added lines at which a record is marked a "
                 "near-duplicate of an earlier one (0 turns the check off)")
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  fixmine::SetLogOutput(*fixmine::ParseLogFormat(log_format));
  // gRPC's own messages go through the same log, so --log-format json keeps every line JSON.
  gpr_set_log_function([](gpr_log_func_args* args) {
    fixmine::LogLevel level = args->severity == GPR_LOG_SEVERITY_ERROR ? fixmine::LogLevel::kError
                              : args->severity == GPR_LOG_SEVERITY_INFO ? fixmine::LogLevel::kInfo
                                                                        : fixmine::LogLevel::kDebug;
    fixmine::Log(level, std::string("grpc: ") + (args->message ? args->message : ""));
  });
  config.curation.email = *fixmine::curation::ParseEmailPolicy(email_policy);
  config.curation.secrets = *fixmine::curation::ParseSecretsPolicy(secrets_policy);
  config.szz = *fixmine::miner::ParseSzzMode(szz);
  config.trajectories = trajectories == "on";

  // SIGTERM and SIGINT drain and stop the server; they are taken by a waiting thread.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto server = fixmine::server::Server::Start(config);
  if (!server.ok()) {
    fixmine::Log(fixmine::LogLevel::kError,
                 std::string("fixmined: ") + std::string(server.status().message()));
    return 1;
  }
  fixmine::Log(fixmine::LogLevel::kInfo,
               "fixmined: listening on port " + std::to_string((*server)->port()) +
                   ", data in " + config.data_dir);
  std::thread signals([&] {
    int sig = 0;
    sigwait(&set, &sig);
    fixmine::Log(fixmine::LogLevel::kInfo,
                 "fixmined: signal " + std::to_string(sig) + ", draining");
    (*server)->Shutdown();
  });
  (*server)->Wait();
  signals.join();
  server->reset();
  fixmine::Log(fixmine::LogLevel::kInfo, "fixmined: stopped");
  return 0;
}
