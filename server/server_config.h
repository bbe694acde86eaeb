#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "curation/curate.h"
#include "miner/szz.h"
#include "server/auth.h"

namespace fixmine::server {

// Settings of one fixmined process (flags of server/main.cc).
struct ServerConfig {
  // HOST:PORT to listen on; port 0 picks a free port.
  std::string listen = "127.0.0.1:50051";
  // Folder of the store and of cloned mirrors.
  std::string data_dir;
  // Local repositories are accepted only when their real path is under one of these.
  std::vector<std::string> allowed_roots;
  // URL schemes accepted for remote repositories.
  std::vector<std::string> allowed_schemes = {"https"};
  // Mining jobs that run at once.
  int job_workers = 2;
  // Threads building records inside one job (0: one per core).
  int mine_threads = 0;
  // When set, the bound port is written here once the server listens.
  std::string port_file;
  // Records per atomic write batch of a mining job.
  int batch_records = 256;
  // Curation of mined records (docs/curation.md): extra bot names (--bot), the e-mail policy
  // (--email-policy, default hash) and the secrets policy (--secrets, default redact). The
  // license is filled per repository by the job.
  curation::Options curation = {.email = curation::EmailPolicy::kHash,
                                .secrets = curation::SecretsPolicy::kRedact,
                                .minhash = true};
  // Near-duplicate threshold: the estimated Jaccard similarity of added lines at which a record
  // is marked near_duplicate_of an earlier one (--near-dup-threshold); 0 turns the check off.
  double near_dup_threshold = 0.8;
  // Open a store whose MANIFEST is shorter than recorded instead of refusing to start
  // (--accept-damaged-store; storage/manifest_guard.h).
  bool accept_damaged_store = false;
  // HOST:PORT where Prometheus metrics are served at /metrics (--metrics-listen); empty: not
  // served (they are still counted). Port 0 picks one.
  std::string metrics_listen;
  // Which mined records get bug-introducing commits by blame (--szz; docs/trajectories.md).
  miner::SzzMode szz = miner::SzzMode::kFixes;
  // Whether mining jobs find pull-request trajectories and fill the step records' trajectory
  // fields (--trajectories on|off). Off saves the trajectory pass (about as much CPU as the
  // records themselves on a merge-heavy history); trajectories stored earlier are still served.
  bool trajectories = true;

  // GitHub (docs/github.md): the API base URL (--github-api-url), the token read from
  // --github-token-file or $GITHUB_TOKEN (sent only to that URL; never logged or stored), and
  // whether the URL may be plain http (--github-allow-http; a loopback test server).
  std::string github_api_url = "https://api.github.com";
  std::string github_token;
  bool github_allow_http = false;

  // Security and limits (docs/security.md lists every one with its reason).
  // Token file (--token-file): lines "admin TOKEN" / "read TOKEN"; when set, every
  // AdminService and RecordService call needs one of them.
  std::string token_file;
  // TLS certificate, key and optional client CA for mutual TLS (--tls-cert, --tls-key,
  // --tls-client-ca); plaintext when unset.
  TlsFiles tls;
  // Streams (StreamRecords, ReadStream, WatchJob) open at once (--max-streams).
  int max_streams = 256;
  // Mining jobs queued or running at once (--max-jobs).
  int max_jobs = 64;
  // A stream whose client has not taken a response for this long is cancelled
  // (--stream-idle-timeout, seconds; 0 turns it off).
  int stream_idle_seconds = 300;
  // Largest request message accepted (--max-request-bytes).
  int max_request_bytes = 4 << 20;
  // Blobs larger than this are not read into a record: their file is marked binary, as git
  // does above core.bigFileThreshold (--max-blob-bytes).
  int64_t max_blob_bytes = int64_t{64} << 20;
  // Commit messages longer than this are cut (at a UTF-8 boundary) in the record
  // (--max-message-bytes).
  int64_t max_message_bytes = int64_t{1} << 20;
  // Records larger than this shed file contents, then patches, largest first
  // (--max-record-bytes; RecordOptions::max_record_bytes). At most 48 MiB, so that a record
  // always fits in one streamed response (64 MiB).
  int64_t max_record_bytes = int64_t{32} << 20;
  // A clone or fetch that receives more than this many bytes, or runs longer than this many
  // seconds, is stopped and its job fails (--max-clone-bytes, --clone-timeout).
  int64_t max_clone_bytes = int64_t{4} << 30;
  int clone_timeout_seconds = 3600;
  // The mining worker, the child process that does each job's git work (docs/security.md,
  // "The mining worker"): its CPU time in seconds (--worker-cpu-seconds), address space in MiB
  // (--worker-max-memory) and open files (--worker-max-open-files); 0 turns a limit off.
  int64_t worker_cpu_seconds = 12 * 3600;
  int64_t worker_max_memory_mb = 32 * 1024;
  int64_t worker_max_open_files = 4096;
  // Refuse to start, and fail jobs, when the kernel has no Landlock (--worker-require-landlock)
  // instead of mining without it (a warning and fixmine_worker_unsandboxed_total).
  bool worker_require_landlock = false;
};

}  // namespace fixmine::server
