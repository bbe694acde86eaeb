#include "server/auth.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace fixmine::server {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view what) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    return absl::InvalidArgumentError(absl::StrCat(what, " \"", path, "\" cannot be read"));
  }
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

bool PrintableToken(std::string_view t) {
  for (char c : t) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

}  // namespace

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Every byte of `b` is visited whatever the content; only the lengths show in the timing.
  volatile unsigned char diff = a.size() == b.size() ? 0 : 1;
  if (a.empty()) return b.empty();
  for (size_t i = 0; i < b.size(); ++i) {
    diff = diff | static_cast<unsigned char>(a[i % a.size()] ^ b[i]);
  }
  return diff == 0;
}

absl::StatusOr<Authorizer> Authorizer::Load(const std::string& path) {
  auto text = ReadFile(path, "--token-file");
  if (!text.ok()) return text.status();
  Authorizer a;
  a.enabled_ = true;
  std::istringstream in(*text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    absl::string_view l = absl::StripAsciiWhitespace(line);
    if (l.empty() || l[0] == '#') continue;
    size_t sp = l.find_first_of(" \t");
    absl::string_view role = l.substr(0, sp);
    absl::string_view value =
        sp == absl::string_view::npos ? "" : absl::StripAsciiWhitespace(l.substr(sp));
    auto where = [&] { return absl::StrCat("--token-file \"", path, "\" line ", n, ": "); };
    Token t;
    if (role == "admin") {
      t.role = Role::kAdmin;
    } else if (role == "read") {
      t.role = Role::kRead;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          where(), "expected \"admin TOKEN\" or \"read TOKEN\", got role \"", role, "\""));
    }
    if (value.size() < kMinTokenLength ||
        !PrintableToken(std::string_view(value.data(), value.size()))) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), "the token must be at least ", kMinTokenLength,
                       " printable ASCII characters without spaces (e.g. `openssl rand -hex 32`)"));
    }
    t.value = std::string(value);
    a.tokens_.push_back(std::move(t));
  }
  if (a.tokens_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--token-file \"", path, "\" holds no token; add lines \"admin TOKEN\" / \"read TOKEN\""));
  }
  return a;
}

absl::Status Authorizer::CheckHeader(std::string_view header, bool present, Role need) const {
  if (!enabled_) return absl::OkStatus();
  if (!present) {
    return absl::UnauthenticatedError(
        "this server needs a token: send \"authorization: Bearer TOKEN\" (fixmine --token or "
        "FIXMINE_TOKEN)");
  }
  absl::string_view token(header.data(), header.size());
  if (!absl::ConsumePrefix(&token, "Bearer ")) {
    return absl::UnauthenticatedError("the authorization header is not \"Bearer TOKEN\"");
  }
  // Compare against every token so the time does not tell which one (if any) matched.
  bool admin = false, read = false;
  for (const Token& t : tokens_) {
    bool eq = ConstantTimeEquals(t.value, std::string_view(token.data(), token.size()));
    if (t.role == Role::kAdmin) admin = admin | eq;
    if (t.role == Role::kRead) read = read | eq;
  }
  if (admin) return absl::OkStatus();
  if (read) {
    if (need == Role::kRead) return absl::OkStatus();
    return absl::PermissionDeniedError(
        "the token is read-only; AdminService calls need an admin token");
  }
  return absl::UnauthenticatedError("the token is not valid for this server");
}

absl::Status Authorizer::Check(const grpc::ServerContextBase& ctx, Role need) const {
  if (!enabled_) return absl::OkStatus();
  const auto& md = ctx.client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) return CheckHeader("", false, need);
  return CheckHeader(std::string_view(it->second.data(), it->second.size()), true, need);
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& tls) {
  if (tls.cert.empty() && tls.key.empty()) {
    if (!tls.client_ca.empty()) {
      return absl::InvalidArgumentError("--tls-client-ca needs --tls-cert and --tls-key");
    }
    return grpc::InsecureServerCredentials();
  }
  if (tls.cert.empty() || tls.key.empty()) {
    return absl::InvalidArgumentError("give both --tls-cert and --tls-key, or neither");
  }
  auto cert = ReadFile(tls.cert, "--tls-cert");
  if (!cert.ok()) return cert.status();
  auto key = ReadFile(tls.key, "--tls-key");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions opts(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  opts.pem_key_cert_pairs.push_back({*key, *cert});
  if (!tls.client_ca.empty()) {
    auto ca = ReadFile(tls.client_ca, "--tls-client-ca");
    if (!ca.ok()) return ca.status();
    opts.pem_root_certs = *ca;
    opts.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(opts);
}

}  // namespace fixmine::server
