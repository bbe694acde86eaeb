#include "client/tls_probe.h"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <memory>

#include "fmt/format.h"

namespace fixmine::client {
namespace {

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

// Splits "host:port" or "[v6]:port"; false when there is no port.
bool SplitAddress(const std::string& address, std::string* host, std::string* port) {
  if (!address.empty() && address[0] == '[') {
    size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return false;
    }
    *host = address.substr(1, close - 1);
    *port = address.substr(close + 2);
    return !port->empty();
  }
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) return false;
  *host = address.substr(0, colon);
  *port = address.substr(colon + 1);
  return true;
}

// A connected socket (blocking, with send and receive timeouts), or -1.
int Connect(const std::string& host, const std::string& port, int timeout_ms) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0) return -1;
  int fd = -1;
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int flags = fcntl(fd, F_GETFL, 0);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0) {
      pollfd p{fd, POLLOUT, 0};
      int err = 0;
      socklen_t len = sizeof(err);
      if (poll(&p, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
          err != 0) {
        close(fd);
        fd = -1;
        continue;
      }
    }
    fcntl(fd, F_SETFL, flags);
    timeval tv{timeout_ms / 1000, static_cast<suseconds_t>(timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  }
  freeaddrinfo(res);
  return fd;
}

std::string NameLine(X509_NAME* name) {
  if (name == nullptr) return "";
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

}  // namespace

TlsProbe ProbeTls(const std::string& address, const std::string& ca_file, int timeout_ms) {
  TlsProbe probe;
  std::string host, port;
  if (!SplitAddress(address, &host, &port)) return probe;
  int fd = Connect(host, port, timeout_ms);
  if (fd < 0) return probe;
  probe.connected = true;
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) {
    close(fd);
    return probe;
  }
  // Verified below, by our own words; the handshake itself accepts any certificate.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  bool have_ca =
      !ca_file.empty() && SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) == 1;
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  if (ssl == nullptr) {
    close(fd);
    return probe;
  }
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_set_alpn_protos(ssl.get(), kAlpn, sizeof(kAlpn));
  bool ip = host.find_first_not_of("0123456789.") == std::string::npos ||
            host.find(':') != std::string::npos;
  if (!ip) SSL_set_tlsext_host_name(ssl.get(), host.c_str());
  SSL_set_fd(ssl.get(), fd);
  (void)SSL_connect(ssl.get());  // a server asking for a client certificate may still refuse
  std::unique_ptr<X509, X509Free> cert(SSL_get1_peer_certificate(ssl.get()));
  if (cert != nullptr) {
    probe.speaks_tls = true;
    probe.subject = NameLine(X509_get_subject_name(cert.get()));
    probe.issuer = NameLine(X509_get_issuer_name(cert.get()));
    if (have_ca) {
      long v = SSL_get_verify_result(ssl.get());
      if (v != X509_V_OK) probe.verify_error = X509_verify_cert_error_string(v);
      probe.name_matches =
          ip ? X509_check_ip_asc(cert.get(), host.c_str(), 0) == 1
             : X509_check_host(cert.get(), host.c_str(), host.size(), 0, nullptr) == 1;
    }
  }
  ERR_clear_error();
  SSL_shutdown(ssl.get());
  close(fd);
  return probe;
}

std::string ExplainTlsFailure(const TlsProbe& probe, const std::string& address, bool client_tls,
                              const std::string& ca_file) {
  if (!probe.connected) return "";
  if (!client_tls && probe.speaks_tls) {
    return fmt::format(
        "the server at {} speaks TLS and this client connected in plaintext: pass --tls-ca FILE "
        "(or FIXMINE_TLS_CA), the CA certificate that signed the server's certificate (its "
        "issuer: {})",
        address, probe.issuer);
  }
  if (client_tls && !probe.speaks_tls) {
    return fmt::format(
        "the server at {} does not speak TLS (it answered a TLS handshake with no certificate): "
        "drop --tls-ca/--tls-cert to connect in plaintext, or start fixmined with --tls-cert and "
        "--tls-key",
        address);
  }
  if (client_tls && !probe.verify_error.empty()) {
    return fmt::format(
        "the server's certificate is not trusted by the CA in --tls-ca \"{}\" ({}): the "
        "certificate is issued by \"{}\"; pass the CA certificate that signed it",
        ca_file, probe.verify_error, probe.issuer);
  }
  if (client_tls && !ca_file.empty() && !probe.name_matches) {
    return fmt::format(
        "the server's certificate (subject \"{}\") does not name the host of {}: connect by a "
        "name or address its subjectAltName lists, or reissue the certificate for this one",
        probe.subject, address);
  }
  return "";
}

}  // namespace fixmine::client
