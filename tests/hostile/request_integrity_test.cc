// Hostile requests, second part (docs/security.md, "Hostile-input catalogue"): damaged resume
// tokens and stream names, request bodies that do not parse, huge strings that errors must not
// echo, and the read-session stream limit. Each goes through the real fixmined.
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/match.h"
#include "fixmine/v1/trajectories.grpc.pb.h"
#include "server/read_plan.h"
#include "server/resume_token.h"
#include "tests/hostile/hostile_util.h"

namespace fixmine::hostile {
namespace {

using absl::StatusCode;

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// `token` with character `i` replaced by the next one of the URL-safe base64 alphabet.
std::string Damage(const std::string& token, size_t i) {
  std::string out = token;
  size_t at = kAlphabet.find(out[i]);
  out[i] = at == std::string_view::npos ? 'A' : kAlphabet[(at + 1) % kAlphabet.size()];
  return out;
}

class RequestIntegrity : public SharedServerSuite {
 protected:
  static void SetUpTestSuite() {
    StartSharedServer();
    // Four commits, two of them the steps of a merged pull request (one trajectory), and the
    // merge itself (recorded for its merge resolution): five records.
    std::string repo = InitRepo(root_->path(), "pr");
    auto tree = [&](const std::string& v) {
      return WriteTree(repo, {{"100644", "f", WriteObject(repo, "blob", v + "\n")},
                              {"100644", "g", WriteObject(repo, "blob", "g\n")}});
    };
    std::string base = WriteCommit(repo, tree("0"), {}, "base\n");
    std::string s1 = WriteCommit(repo, tree("1"), {base}, "step one\n");
    std::string s2 = WriteCommit(repo, tree("2"), {s1}, "fix step two\n");
    std::string other = WriteCommit(repo, tree("3"), {base}, "other change\n");
    SetMain(repo, WriteCommit(repo, tree("4"), {other, s2},
                              "Merge pull request #7 from ada/steps\n\nThe steps\n"));
    fixmine::v1::Job job = MineToEnd(*client_, repo, "pr");
    ASSERT_EQ(job.state(), fixmine::v1::SUCCEEDED) << job.error();
    ASSERT_EQ(job.records_written(), 5);
    trajectories_ = fixmine::v1::TrajectoryService::NewStub(client_->channel()).release();
  }
  static void TearDownTestSuite() {
    delete trajectories_;
    StopSharedServer();
  }
  void TearDown() override { ExpectServing(*client_); }

  // StreamTrajectories with `req`: the status; trajectories read into *n when given.
  static grpc::Status StreamTrajectories(const fixmine::v1::StreamTrajectoriesRequest& req,
                                         std::string* last_token = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto reader = trajectories_->StreamTrajectories(&ctx, req);
    fixmine::v1::StreamTrajectoriesResponse resp;
    while (reader->Read(&resp)) {
      if (last_token != nullptr) *last_token = resp.resume_token();
    }
    return reader->Finish();
  }

  static fixmine::v1::TrajectoryService::Stub* trajectories_;
};
fixmine::v1::TrajectoryService::Stub* RequestIntegrity::trajectories_ = nullptr;

// Every one-character change of a token, to every other character of its alphabet, is refused
// by the decoder (no other token, no other position): checked exhaustively on a real token.
TEST(ResumeTokenIntegrity, EveryOneCharacterChangeIsRefused) {
  storage::ScanPosition pos{"records", std::string("pr\0\x01\x02\x03 key", 10)};
  std::string token = server::EncodeResumeToken(pos, "lang = \"Go\"");
  ASSERT_TRUE(server::DecodeResumeToken(token, "lang = \"Go\"").ok());
  for (size_t i = 0; i < token.size(); ++i) {
    for (char c : kAlphabet) {
      if (c == token[i]) continue;
      std::string bad = token;
      bad[i] = c;
      EXPECT_EQ(server::DecodeResumeToken(bad, "lang = \"Go\"").status().code(),
                StatusCode::kInvalidArgument)
          << "position " << i << " changed to '" << c << "'";
    }
  }
  // Other spellings of the same bytes are refused too: padding, the other base64 alphabet.
  EXPECT_FALSE(server::DecodeResumeToken(token + "=", "lang = \"Go\"").ok());
  std::string url_safe;  // a token that holds '-' or '_' (found within a few keys)
  for (int k = 0; k < 1000 && url_safe.find_first_of("-_") == std::string::npos; ++k) {
    url_safe = server::EncodeResumeToken({"records", "key " + std::to_string(k)}, "f");
  }
  ASSERT_NE(url_safe.find_first_of("-_"), std::string::npos);
  ASSERT_TRUE(server::DecodeResumeToken(url_safe, "f").ok());
  std::string std_alphabet = url_safe;
  for (char& c : std_alphabet) c = c == '-' ? '+' : c == '_' ? '/' : c;
  EXPECT_FALSE(server::DecodeResumeToken(std_alphabet, "f").ok());
  // Added or removed characters.
  EXPECT_FALSE(server::DecodeResumeToken(token + "A", "lang = \"Go\"").ok());
  EXPECT_FALSE(server::DecodeResumeToken(token.substr(1), "lang = \"Go\"").ok());
}

// Through the server: each one-character change of a StreamRecords token, a ReadStream token,
// a read-session stream name, a ListRecords page token and a StreamTrajectories token is
// INVALID_ARGUMENT with a message that says the token is damaged; the undamaged ones resume.
TEST_F(RequestIntegrity, DamagedTokensAreInvalidArgumentOnEveryStream) {
  // StreamRecords: a token after the first record.
  fixmine::v1::StreamRecordsRequest sr;
  sr.set_limit(1);
  std::string token;
  ASSERT_TRUE(client_
                  ->StreamRecords(sr,
                                  [&](const fixmine::v1::StreamRecordsResponse& b) {
                                    token = b.resume_token();
                                    return true;
                                  })
                  .ok());
  ASSERT_FALSE(token.empty());
  sr.set_limit(0);
  int resumed = 0;
  sr.set_resume_token(token);
  ASSERT_TRUE(client_
                  ->StreamRecords(sr,
                                  [&](const fixmine::v1::StreamRecordsResponse& b) {
                                    resumed += b.records_size();
                                    return true;
                                  })
                  .ok());
  EXPECT_EQ(resumed, 4);
  for (size_t i = 0; i < token.size(); ++i) {
    sr.set_resume_token(Damage(token, i));
    absl::Status st = client_->StreamRecords(sr, [](const auto&) { return true; });
    ASSERT_EQ(st.code(), StatusCode::kInvalidArgument) << "position " << i << ": " << st;
    EXPECT_TRUE(absl::StrContains(st.message(), "resume_token")) << st;
  }

  // A read session: damaged stream names, and damaged tokens of a stream.
  fixmine::v1::CreateReadSessionRequest cr;
  cr.set_max_streams(2);
  auto session = client_->CreateReadSession(cr);
  ASSERT_TRUE(session.ok()) << session.status();
  const std::string stream = session->streams(0);
  fixmine::v1::ReadStreamRequest rs;
  for (size_t i = 4; i < stream.size(); ++i) {  // after the "rs1." prefix
    rs.set_stream(Damage(stream, i));
    absl::Status st = client_->ReadStream(rs, [](const auto&) { return true; });
    ASSERT_EQ(st.code(), StatusCode::kInvalidArgument) << "position " << i << ": " << st;
  }
  rs.set_stream(stream);
  rs.set_limit(1);
  std::string rs_token;
  ASSERT_TRUE(client_
                  ->ReadStream(rs,
                               [&](const fixmine::v1::ReadStreamResponse& b) {
                                 rs_token = b.resume_token();
                                 return true;
                               })
                  .ok());
  ASSERT_FALSE(rs_token.empty());
  rs.set_limit(0);
  for (size_t i = 0; i < rs_token.size(); ++i) {
    rs.set_resume_token(Damage(rs_token, i));
    absl::Status st = client_->ReadStream(rs, [](const auto&) { return true; });
    ASSERT_EQ(st.code(), StatusCode::kInvalidArgument) << "position " << i << ": " << st;
  }

  // ListRecords page tokens.
  fixmine::v1::ListRecordsRequest lr;
  lr.set_page_size(1);
  auto page = client_->ListRecords(lr);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_FALSE(page->next_page_token().empty());
  for (size_t i = 0; i < page->next_page_token().size(); ++i) {
    lr.set_page_token(Damage(page->next_page_token(), i));
    EXPECT_EQ(client_->ListRecords(lr).status().code(), StatusCode::kInvalidArgument)
        << "position " << i;
  }

  // StreamTrajectories: one trajectory, so the token of its response is at the end.
  fixmine::v1::StreamTrajectoriesRequest tr;
  std::string t_token;
  ASSERT_TRUE(StreamTrajectories(tr, &t_token).ok());
  ASSERT_FALSE(t_token.empty());
  tr.set_resume_token(t_token);
  EXPECT_TRUE(StreamTrajectories(tr).ok());
  for (size_t i = 0; i < t_token.size(); ++i) {
    tr.set_resume_token(Damage(t_token, i));
    grpc::Status st = StreamTrajectories(tr);
    ASSERT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << "position " << i << ": " << st.error_message();
  }
}

// Raw bytes to a method through a generic stub (no generated code on the client side).
grpc::Status RawCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                     const std::string& body) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::Slice slice(body);
  grpc::ByteBuffer request(&slice, 1);
  auto call = stub.PrepareCall(&ctx, method, &cq);
  void* tag;
  bool ok;
  auto wait = [&] { return cq.Next(&tag, &ok); };
  call->StartCall(reinterpret_cast<void*>(1));
  wait();
  call->Write(request, reinterpret_cast<void*>(2));
  wait();
  call->WritesDone(reinterpret_cast<void*>(3));
  wait();
  grpc::ByteBuffer response;
  // Read until the stream ends (a failed read means no more messages).
  for (int i = 0; i < 100; ++i) {
    call->Read(&response, reinterpret_cast<void*>(4));
    if (!wait() || !ok) break;
  }
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  wait();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

// A body that does not parse as the method's request (not protobuf; a string field that is not
// UTF-8) is INVALID_ARGUMENT with a message naming the method, for unary and streaming methods
// alike, and the channel keeps working. An unknown method stays UNIMPLEMENTED.
TEST_F(RequestIntegrity, UnparseableBodyIsInvalidArgumentWithAMessage) {
  auto channel = client_->channel();
  const std::string garbage("\x0f\x0f\xff\xff\xff\xff\xff\x07", 8);  // wire type 7: invalid
  const std::string bad_utf8("\x0a\x02\xff\xfe", 4);                 // field 1 (a string)
  for (const std::string method :
       {"/fixmine.v1.RecordService/GetRecord", "/fixmine.v1.RecordService/StreamRecords",
        "/fixmine.v1.RecordService/ReadStream", "/fixmine.v1.AdminService/AddRepository",
        "/fixmine.v1.TrajectoryService/GetTrajectory"}) {
    for (const std::string& body : {garbage, bad_utf8}) {
      grpc::Status st = RawCall(channel, method, body);
      EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << method << ": " << st.error_code() << " " << st.error_message();
      EXPECT_TRUE(absl::StrContains(st.error_message(), "does not parse")) << st.error_message();
      EXPECT_TRUE(absl::StrContains(st.error_message(), method)) << st.error_message();
    }
  }
  // The raw record streams parse their request themselves: a body that starts with a valid
  // negative `limit` (field 3) and then breaks is "does not parse", never the limit's error,
  // which the same field alone gets.
  const std::string negative_limit("\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
  for (const std::string method :
       {"/fixmine.v1.RecordService/StreamRecords", "/fixmine.v1.RecordService/ReadStream"}) {
    grpc::Status st = RawCall(channel, method, negative_limit + garbage);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << method;
    EXPECT_TRUE(absl::StrContains(st.error_message(), "does not parse")) << st.error_message();
    st = RawCall(channel, method, negative_limit);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << method;
    EXPECT_TRUE(absl::StrContains(st.error_message(), "limit is negative")) << st.error_message();
  }
  // A well-formed body still gets its ordinary answer; an unknown method UNIMPLEMENTED.
  fixmine::v1::GetRecordRequest ok_req;
  ok_req.set_id("no-such-record");
  EXPECT_EQ(RawCall(channel, "/fixmine.v1.RecordService/GetRecord", ok_req.SerializeAsString())
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(RawCall(channel, "/fixmine.v1.RecordService/NoSuchMethod", garbage).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

// A 100 KB format, a 1 MiB id or name: the error names the value's first bytes and its length
// and stays short; the next call on the same channel works.
TEST_F(RequestIntegrity, HugeStringsAreNotEchoedIntoErrors) {
  const std::string format(100 << 10, 'f');
  const std::string id(1 << 20, 'i');
  auto expect_short = [](const absl::Status& st, StatusCode code, size_t length) {
    EXPECT_EQ(st.code(), code) << st.ToString().substr(0, 300);
    EXPECT_LT(st.message().size(), 1024u) << st.message().substr(0, 300);
    EXPECT_TRUE(absl::StrContains(st.message(), "(" + std::to_string(length) + " bytes)"))
        << st.message().substr(0, 300);
  };
  fixmine::v1::StreamRecordsRequest sr;
  sr.set_format(format);
  expect_short(client_->StreamRecords(sr, [](const auto&) { return true; }),
               StatusCode::kInvalidArgument, format.size());
  EXPECT_TRUE(client_->CountRecords("").ok());

  fixmine::v1::CreateReadSessionRequest cr;
  cr.set_format(format);
  expect_short(client_->CreateReadSession(cr).status(), StatusCode::kInvalidArgument,
               format.size());

  expect_short(client_->GetRecord(id).status(), StatusCode::kNotFound, id.size());
  EXPECT_TRUE(client_->CountRecords("").ok());
  expect_short(client_->GetJob(id).status(), StatusCode::kNotFound, id.size());
  expect_short(client_->CancelJob(id).status(), StatusCode::kNotFound, id.size());
  expect_short(client_->GetRepository(id).status(), StatusCode::kNotFound, id.size());
  expect_short(client_->RemoveRepository(id).status(), StatusCode::kNotFound, id.size());
  fixmine::v1::StartMiningRequest mine;
  mine.set_repo(id);
  expect_short(client_->StartMining(mine).status(), StatusCode::kNotFound, id.size());
  expect_short(client_->AddRepository(root_->path(), id).status(), StatusCode::kInvalidArgument,
               id.size());

  grpc::ClientContext ctx;
  fixmine::v1::GetTrajectoryRequest gt;
  gt.set_id(id);
  fixmine::v1::GetTrajectoryResponse gt_resp;
  grpc::Status st = trajectories_->GetTrajectory(&ctx, gt, &gt_resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_LT(st.error_message().size(), 1024u);

  fixmine::v1::StreamTrajectoriesRequest tr;
  tr.set_format(format);
  st = StreamTrajectories(tr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LT(st.error_message().size(), 1024u);

  // The same channel still serves, many times over.
  for (int i = 0; i < 5; ++i) {
    auto n = client_->CountRecords("");
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(*n, 5);
  }
}

// docs/security.md: a read session has at most 64 streams.
TEST_F(RequestIntegrity, ReadSessionStreamLimitMatchesTheDocs) {
  fixmine::v1::CreateReadSessionRequest cr;
  cr.set_max_streams(64);
  auto ok = client_->CreateReadSession(cr);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->streams_size(), 64);
  cr.set_max_streams(65);
  auto over = client_->CreateReadSession(cr);
  EXPECT_EQ(over.status().code(), StatusCode::kInvalidArgument) << over.status();
  EXPECT_TRUE(absl::StrContains(over.status().message(), "1 to 64")) << over.status();
  // A stream name made for 65 streams (as an older server would) is refused when read.
  server::StreamSpec spec;
  spec.buckets = 65;
  fixmine::v1::ReadStreamRequest rs;
  rs.set_stream(server::EncodeStreamName(spec));
  EXPECT_EQ(client_->ReadStream(rs, [](const auto&) { return true; }).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fixmine::hostile
