// What the CLI says when a TLS connection fails (docs/security.md, "TLS"): an untrusted CA, a
// certificate for another name, a plaintext client at a TLS server and a TLS client at a
// plaintext server each get their own message, never gRPC's "Socket closed ... is fixmined
// running?" or a Common Name complaint for a CA problem. Certificates made here with openssl;
// the real fixmined on 127.0.0.1.
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "fmt/format.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/test_server.h"

namespace fixmine::hostile {
namespace {

using testutil::CommandResult;
using testutil::RunShell;
using testutil::ShellQuote;

// A CA, a server certificate it signs for 127.0.0.1, one it signs for another name only, and a
// second CA that signed nothing here.
class TlsMessages : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    std::string script = fmt::format(
        "cd {d} && "
        "openssl req -x509 {k} -keyout ca.key -out ca.pem -days 2 -subj /CN=fixmine-test-ca && "
        "openssl req -x509 {k} -keyout other.key -out other.pem -days 2 -subj /CN=other-ca && "
        "openssl req {k} -keyout server.key -out server.csr -subj /CN=127.0.0.1 && "
        "printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext && "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out server.pem -days 2 -extfile san.ext && "
        "openssl req {k} -keyout elsewhere.key -out elsewhere.csr -subj /CN=elsewhere.example && "
        "printf 'subjectAltName=DNS:elsewhere.example\\n' > else.ext && "
        "openssl x509 -req -in elsewhere.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out elsewhere.pem -days 2 -extfile else.ext",
        fmt::arg("d", ShellQuote(dir_.path())), fmt::arg("k", key));
    CommandResult r = RunShell(script);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::string F(const std::string& name) const { return dir_.path() + "/" + name; }
  testutil::TempDir dir_;
};

TEST_F(TlsMessages, PlaintextClientAtATlsServerIsToldTheServerSpeaksTls) {
  testutil::TestServer server(dir_.path(),
                              {"--tls-cert", F("server.pem"), "--tls-key", F("server.key")});
  ASSERT_TRUE(server.Start());
  CommandResult r = server.Cli("records count");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "speaks TLS and this client connected in plaintext"))
      << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "--tls-ca")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "CN=fixmine-test-ca")) << r.err;  // the issuer to ask for
  EXPECT_FALSE(absl::StrContains(r.err, "is fixmined running")) << r.err;
}

TEST_F(TlsMessages, UntrustedCaSaysSoAndNamesTheIssuer) {
  testutil::TestServer server(dir_.path(),
                              {"--tls-cert", F("server.pem"), "--tls-key", F("server.key")});
  ASSERT_TRUE(server.Start());
  CommandResult r = server.Cli("--tls-ca " + F("other.pem") + " records count");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "is not trusted by the CA in --tls-ca")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "issued by \"CN=fixmine-test-ca\"")) << r.err;
  EXPECT_FALSE(absl::StrContains(r.err, "Common Name")) << r.err;
  EXPECT_FALSE(absl::StrContains(r.err, "is fixmined running")) << r.err;
  // The right CA works.
  CommandResult ok = server.Cli("--tls-ca " + F("ca.pem") + " records count");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

TEST_F(TlsMessages, CertificateForAnotherNameSaysWhichName) {
  testutil::TestServer server(dir_.path(),
                              {"--tls-cert", F("elsewhere.pem"), "--tls-key", F("elsewhere.key")});
  ASSERT_TRUE(server.Start());
  CommandResult r = server.Cli("--tls-ca " + F("ca.pem") + " records count");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err,
                                "(subject \"CN=elsewhere.example\") does not name the "
                                "host of " +
                                    server.address()))
      << r.err;
  EXPECT_FALSE(absl::StrContains(r.err, "not trusted")) << r.err;
}

TEST_F(TlsMessages, TlsClientAtAPlaintextServerIsToldTheServerDoesNotSpeakTls) {
  testutil::TestServer server(dir_.path());
  ASSERT_TRUE(server.Start());
  CommandResult r = server.Cli("--tls-ca " + F("ca.pem") + " records count");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "does not speak TLS")) << r.err;
  EXPECT_FALSE(absl::StrContains(r.err, "is fixmined running")) << r.err;
}

TEST_F(TlsMessages, AStoppedServerStillGetsTheRunningHint) {
  testutil::TestServer server(dir_.path());
  ASSERT_TRUE(server.Start());
  std::string address = server.address();
  server.Stop();
  CommandResult r = RunShell(
      fmt::format("{} --server {} records count", ShellQuote(testutil::CliPath()), address));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "is fixmined running at " + address)) << r.err;
}

}  // namespace
}  // namespace fixmine::hostile
