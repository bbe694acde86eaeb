#pragma once
// A TLS handshake of our own with the server, made only after a call failed to connect, to say
// why in words a user can act on (gRPC reports "Socket closed" for a plaintext client talking
// to a TLS server, and one generic handshake error for an untrusted CA and a wrong name).

#include <string>

namespace fixmine::client {

// What one handshake with a server showed.
struct TlsProbe {
  // The TCP connection was made.
  bool connected = false;
  // The server answered a TLS ClientHello with a certificate (it speaks TLS).
  bool speaks_tls = false;
  // With a CA file: why the server's chain does not verify against it (OpenSSL's words, e.g.
  // "unable to get local issuer certificate"); empty when it verifies or no CA was given.
  std::string verify_error;
  // With a CA file: whether the certificate names the host of the address (its IP address or
  // DNS name among the subject alternative names, or its CN).
  bool name_matches = true;
  // The server certificate's subject and issuer, one line each (OpenSSL's RFC 2253 form).
  std::string subject;
  std::string issuer;
};

// Connects to `address` (HOST:PORT, or [IPv6]:PORT) within `timeout_ms` and makes a TLS
// handshake that verifies nothing itself; with `ca_file` (may be empty), checks the server's
// chain against that CA and its name against HOST. Never fails: what could not be learnt stays
// at its default. Thread-safe.
TlsProbe ProbeTls(const std::string& address, const std::string& ca_file, int timeout_ms = 3000);

// A sentence for a failed connection to `address`, from `probe`, when it explains the failure:
// a plaintext client (`client_tls` false) talking to a TLS server, a TLS client talking to a
// plaintext server, a chain `ca_file` does not verify, or a certificate for another name.
// Empty when the probe explains nothing (the server is down, say). Thread-safe.
std::string ExplainTlsFailure(const TlsProbe& probe, const std::string& address, bool client_tls,
                              const std::string& ca_file);

}  // namespace fixmine::client
