// Tokens and TLS (docs/security.md, "Tokens" and "TLS"): every RPC of both services is called
// with no token, a wrong token, a read-only token and the admin token through a generic stub,
// so a handler that forgot its check fails here; TLS and mutual TLS with certificates made by
// the openssl CLI.
#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "absl/strings/match.h"
#include "fixmine/v1/trajectories.pb.h"
#include "server/auth.h"
#include "tests/hostile/hostile_util.h"

namespace fixmine::hostile {
namespace {

using absl::StatusCode;

const char kAdmin[] = "admin-0123456789abcdef0123456789";
const char kRead[] = "read-0123456789abcdef0123456789ab";

// Calls /SERVICE/METHOD with an empty request through a generic stub; returns the status.
grpc::Status CallRaw(const std::shared_ptr<grpc::Channel>& ch, const std::string& method,
                     const std::string& token) {
  grpc::GenericStub stub(ch);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  if (!token.empty()) ctx.AddMetadata("authorization", token);
  grpc::Slice empty("", 0);
  grpc::ByteBuffer request(&empty, 1), response;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status result;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
    std::lock_guard<std::mutex> l(mu);
    result = std::move(s);
    done = true;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> l(mu);
  cv.wait(l, [&] { return done; });
  return result;
}

std::vector<std::string> Methods(const google::protobuf::ServiceDescriptor* s) {
  std::vector<std::string> out;
  out.reserve(s->method_count());
  for (int i = 0; i < s->method_count(); ++i) {
    out.push_back("/" + s->full_name() + "/" + s->method(i)->name());
  }
  return out;
}

class Tokens : public ::testing::Test {
 protected:
  void SetUp() override {
    token_file_ = dir_.path() + "/tokens";
    WriteFile(token_file_, fmt::format("# fixmined tokens\nadmin {}\n\nread {}\n", kAdmin, kRead));
    server_ = std::make_unique<testutil::TestServer>(
        dir_.path(), std::vector<std::string>{"--token-file", token_file_});
    ASSERT_TRUE(server_->Start());
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
  }
  testutil::TempDir dir_;
  std::string token_file_;
  std::unique_ptr<testutil::TestServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

// Missing and wrong tokens on every RPC: UNAUTHENTICATED. A read token on AdminService:
// PERMISSION_DENIED; on RecordService and TrajectoryService it passes. The admin token passes
// everywhere.
TEST_F(Tokens, EveryRpcNeedsTheRightToken) {
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  ASSERT_NE(pool->FindServiceByName("fixmine.v1.AdminService"), nullptr);
  ASSERT_NE(pool->FindServiceByName("fixmine.v1.RecordService"), nullptr);
  auto admin = Methods(pool->FindServiceByName("fixmine.v1.AdminService"));
  (void)fixmine::v1::Trajectory::descriptor();  // links trajectories.proto's descriptors in
  ASSERT_NE(pool->FindServiceByName("fixmine.v1.TrajectoryService"), nullptr);
  auto records = Methods(pool->FindServiceByName("fixmine.v1.RecordService"));
  for (auto& m : Methods(pool->FindServiceByName("fixmine.v1.TrajectoryService"))) {
    records.push_back(m);  // read RPCs too
  }
  ASSERT_GE(admin.size(), 16u);  // with BackupStore, CompactStore, VerifyStore
  ASSERT_GE(records.size(), 8u);
  for (const auto& m : admin) {
    EXPECT_EQ(CallRaw(channel_, m, "").error_code(), grpc::StatusCode::UNAUTHENTICATED) << m;
    EXPECT_EQ(CallRaw(channel_, m, "Bearer wrong-token-wrong-token").error_code(),
              grpc::StatusCode::UNAUTHENTICATED)
        << m;
    EXPECT_EQ(CallRaw(channel_, m, kAdmin).error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << m << " (no Bearer prefix)";
    EXPECT_EQ(CallRaw(channel_, m, std::string("Bearer ") + kAdmin + "x").error_code(),
              grpc::StatusCode::UNAUTHENTICATED)
        << m;
    EXPECT_EQ(CallRaw(channel_, m, std::string("Bearer ") + kRead).error_code(),
              grpc::StatusCode::PERMISSION_DENIED)
        << m;
    auto code = CallRaw(channel_, m, std::string("Bearer ") + kAdmin).error_code();
    EXPECT_NE(code, grpc::StatusCode::UNAUTHENTICATED) << m;
    EXPECT_NE(code, grpc::StatusCode::PERMISSION_DENIED) << m;
  }
  for (const auto& m : records) {
    EXPECT_EQ(CallRaw(channel_, m, "").error_code(), grpc::StatusCode::UNAUTHENTICATED) << m;
    EXPECT_EQ(CallRaw(channel_, m, "Bearer nope-nope-nope-nope-nope").error_code(),
              grpc::StatusCode::UNAUTHENTICATED)
        << m;
    for (const char* t : {kRead, kAdmin}) {
      auto code = CallRaw(channel_, m, std::string("Bearer ") + t).error_code();
      EXPECT_NE(code, grpc::StatusCode::UNAUTHENTICATED) << m;
      EXPECT_NE(code, grpc::StatusCode::PERMISSION_DENIED) << m;
    }
  }
  // Health stays open for probes; the server still serves.
  client::FixmineClient anonymous(server_->address(), "");
  EXPECT_TRUE(anonymous.Health().ok());
  client::FixmineClient reader(server_->address(), kRead);
  EXPECT_TRUE(reader.CountRecords("").ok());
  EXPECT_EQ(reader.GetStats().status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(reader.AddRepository(dir_.path(), "r").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(anonymous.CountRecords("").status().code(), StatusCode::kUnauthenticated);
  client::FixmineClient operator_(server_->address(), kAdmin);
  EXPECT_TRUE(operator_.GetStats().ok());
}

// The CLI sends --token, FIXMINE_TOKEN or --token-file; exit 1 when refused.
TEST_F(Tokens, CliTokenOptions) {
  EXPECT_EQ(server_->Cli("repo list").exit_code, 1);
  auto no = server_->Cli("repo list");
  EXPECT_TRUE(absl::StrContains(no.err, "token")) << no.err;
  EXPECT_EQ(server_->Cli(std::string("--token ") + kAdmin + " repo list").exit_code, 0);
  EXPECT_EQ(server_->Cli(std::string("--token ") + kRead + " repo list").exit_code, 1);
  EXPECT_EQ(server_->Cli(std::string("--token ") + kRead + " records count").exit_code, 0);
  std::string tf = dir_.path() + "/mytoken";
  WriteFile(tf, std::string(kAdmin) + "\n");
  EXPECT_EQ(server_->Cli("--token-file " + tf + " stats").exit_code, 0);
  auto env = RunShell(fmt::format("FIXMINE_TOKEN={} {} --server {} repo list", kAdmin,
                                  ShellQuote(testutil::CliPath()), server_->address()));
  EXPECT_EQ(env.exit_code, 0) << env.err;
}

// A token file that cannot be used stops the server from starting (fail closed).
TEST(TokenFile, BadFilesRefuseToStart) {
  testutil::TempDir dir;
  auto start = [&](const std::string& content) {
    WriteFile(dir.path() + "/t", content);
    return RunShell(fmt::format("{} --listen 127.0.0.1:0 --data-dir {} --token-file {}",
                                ShellQuote(testutil::FixmindPath()), dir.path() + "/d",
                                dir.path() + "/t"));
  };
  auto empty = start("# nothing\n\n");
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(empty.err, "holds no token")) << empty.err;
  auto short_token = start("admin short\n");
  EXPECT_EQ(short_token.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(short_token.err, "at least 16")) << short_token.err;
  auto role = start("root 0123456789abcdef0123\n");
  EXPECT_EQ(role.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(role.err, "line 1")) << role.err;
  auto missing = RunShell(fmt::format("{} --listen 127.0.0.1:0 --data-dir {} --token-file {}",
                                      ShellQuote(testutil::FixmindPath()), dir.path() + "/d",
                                      dir.path() + "/absent"));
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
}

TEST(TokenCompare, ConstantTimeEqualsIsEquality) {
  EXPECT_TRUE(server::ConstantTimeEquals("abcdef", "abcdef"));
  EXPECT_FALSE(server::ConstantTimeEquals("abcdef", "abcdeg"));
  EXPECT_FALSE(server::ConstantTimeEquals("abcdef", "abcde"));
  EXPECT_FALSE(server::ConstantTimeEquals("abc", "abcabc"));
  EXPECT_FALSE(server::ConstantTimeEquals("", "a"));
  EXPECT_TRUE(server::ConstantTimeEquals("", ""));
}

// Certificates for 127.0.0.1 signed by a CA made here, plus a client certificate.
class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string d = dir_.path();
    std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    std::string script = fmt::format(
        "cd {d} && "
        "openssl req -x509 {k} -keyout ca.key -out ca.pem -days 2 -subj /CN=fixmine-test-ca && "
        "openssl req {k} -keyout server.key -out server.csr -subj /CN=127.0.0.1 && "
        "printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext && "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out server.pem -days 2 -extfile san.ext && "
        "openssl req {k} -keyout client.key -out client.csr -subj /CN=fixmine-client && "
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out client.pem -days 2",
        fmt::arg("d", ShellQuote(d)), fmt::arg("k", key));
    CommandResult r = RunShell(script);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::string F(const std::string& name) const { return dir_.path() + "/" + name; }
  testutil::TempDir dir_;
};

TEST_F(Tls, TlsServesTlsClientsAndRefusesPlaintext) {
  testutil::TestServer server(dir_.path(),
                              {"--tls-cert", F("server.pem"), "--tls-key", F("server.key")});
  ASSERT_TRUE(server.Start());
  client::ConnectionOptions tls;
  tls.tls_ca = F("ca.pem");
  client::FixmineClient good(server.address(), tls);
  EXPECT_TRUE(good.Health().ok());
  EXPECT_TRUE(good.CountRecords("").ok());
  client::FixmineClient plain(server.address(), "");
  plain.set_deadline_seconds(5);
  EXPECT_EQ(plain.Health().code(), StatusCode::kUnavailable);
  // A client trusting another CA refuses the server's certificate.
  client::ConnectionOptions wrong;
  wrong.tls_ca = F("client.pem");
  client::FixmineClient mistrust(server.address(), wrong);
  mistrust.set_deadline_seconds(5);
  EXPECT_FALSE(mistrust.Health().ok());
  auto cli = server.Cli("--tls-ca " + F("ca.pem") + " health");
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_TRUE(good.Health().ok());
}

TEST_F(Tls, MutualTlsNeedsAClientCertificate) {
  testutil::TestServer server(dir_.path(), {"--tls-cert", F("server.pem"), "--tls-key",
                                            F("server.key"), "--tls-client-ca", F("ca.pem")});
  ASSERT_TRUE(server.Start());
  client::ConnectionOptions no_cert;
  no_cert.tls_ca = F("ca.pem");
  client::FixmineClient anonymous(server.address(), no_cert);
  anonymous.set_deadline_seconds(5);
  EXPECT_FALSE(anonymous.Health().ok());
  EXPECT_FALSE(anonymous.CountRecords("").ok());
  client::ConnectionOptions with_cert = no_cert;
  with_cert.tls_cert = F("client.pem");
  with_cert.tls_key = F("client.key");
  client::FixmineClient known(server.address(), with_cert);
  EXPECT_TRUE(known.Health().ok());
  EXPECT_TRUE(known.CountRecords("").ok());
  auto cli = server.Cli(fmt::format("--tls-ca {} --tls-cert {} --tls-key {} records count",
                                    F("ca.pem"), F("client.pem"), F("client.key")));
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
}

TEST(TlsConfig, HalfConfiguredTlsRefusesToStart) {
  testutil::TempDir dir;
  WriteFile(dir.path() + "/c.pem", "x");
  auto r = RunShell(fmt::format("{} --listen 127.0.0.1:0 --data-dir {} --tls-cert {}",
                                ShellQuote(testutil::FixmindPath()), dir.path() + "/d",
                                dir.path() + "/c.pem"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "--tls-key")) << r.err;
}

}  // namespace
}  // namespace fixmine::hostile
