#pragma once

#include <string>
#include <vector>

#include "curation/curate.h"
#include "miner/szz.h"

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
  // HOST:PORT where Prometheus metrics are served at /metrics (--metrics-listen); empty: not
  // served (they are still counted). Port 0 picks one.
  std::string metrics_listen;
  // Which mined records get bug-introducing commits by blame (--szz; docs/trajectories.md).
  miner::SzzMode szz = miner::SzzMode::kFixes;
};

}  // namespace fixmine::server
