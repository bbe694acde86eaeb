#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fixmine::server {

// What a call needs: reading records (RecordService) or administering (AdminService).
enum class Role { kRead, kAdmin };

// Bearer tokens of one server, loaded from a token file (docs/security.md, "Tokens"): one token
// per line, `admin TOKEN` or `read TOKEN`; blank lines and lines starting with '#' are ignored.
// An admin token may do everything; a read token may call RecordService only. Immutable after
// Load, so thread-safe.
class Authorizer {
 public:
  // Shortest token accepted in a token file.
  static constexpr size_t kMinTokenLength = 16;

  // An authorizer that lets every call through (no --token-file).
  Authorizer() = default;

  // Reads `path`. INVALID_ARGUMENT (naming the file and line) for an unreadable or empty file, an
  // unknown role, a token shorter than kMinTokenLength or holding characters outside printable
  // ASCII; the server then refuses to start (fail closed).
  static absl::StatusOr<Authorizer> Load(const std::string& path);

  // True when tokens are configured.
  bool enabled() const { return enabled_; }

  // Checks the call's "authorization: Bearer TOKEN" metadata for `need`. OK when no tokens are
  // configured; UNAUTHENTICATED when the header is missing, malformed or matches no token;
  // PERMISSION_DENIED when a read token calls an admin RPC. Tokens are compared in constant time
  // (every configured token is compared, whatever matched).
  absl::Status Check(const grpc::ServerContextBase& ctx, Role need) const;

  // Same as Check on the value of the authorization header (for tests and tools).
  absl::Status CheckHeader(std::string_view header, bool present, Role need) const;

 private:
  struct Token {
    Role role;
    std::string value;
  };
  bool enabled_ = false;
  std::vector<Token> tokens_;
};

// Compares `a` and `b` in time that depends only on their lengths, not on where they differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// TLS files of the server (all paths; empty = unset).
struct TlsFiles {
  std::string cert;       // PEM certificate chain (--tls-cert)
  std::string key;        // PEM private key (--tls-key)
  std::string client_ca;  // PEM CA bundle; when set, clients must present a certificate it signed
};

// Plaintext credentials when `tls.cert` and `tls.key` are both empty, TLS credentials otherwise
// (mutual TLS when `tls.client_ca` is set). INVALID_ARGUMENT when only one of cert and key is
// given, a client CA without them, or a file cannot be read.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(const TlsFiles& tls);

}  // namespace fixmine::server
