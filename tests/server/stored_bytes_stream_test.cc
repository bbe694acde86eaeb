// StreamRecords and ReadStream send records as the store holds them (RecordStore::
// ScanSerialized, fixmine.internal.StoredRecordBatch): what clients parse must be exactly what
// GetRecord and the parse path give, with and without filters, across resume tokens and in
// read sessions, and as the bytes on the wire (read through a generic stub); a stored value not
// laid out as the serializer writes it takes the parse path.
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "client/fixmine_client.h"
#include "fixmine/internal/stored_batch.pb.h"
#include "rocksdb/write_batch.h"
#include "storage/db_core.h"
#include "storage/filter.h"
#include "storage/record_store.h"
#include "tests/testutil/git_repo.h"
#include "tests/testutil/test_server.h"

namespace fixmine {
namespace {

using client::FixmineClient;
using fixmine::v1::Record;
using google::protobuf::util::MessageDifferencer;

class StreamStoredBytes : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    repo_ = new testutil::GitRepo();
    for (int i = 0; i < 40; ++i) {
      std::string path = i % 4 == 0 ? "src/x.go" : (i % 4 == 1 ? "docs/a.md" : "src/x.py");
      repo_->Write(path, "line " + std::to_string(i) + "\nmore\n");
      repo_->CommitAll((i % 2 == 0 ? "fix crash " : "add thing ") + std::to_string(i) + "\n");
    }
    server_ = new testutil::TestServer(repo_->path());
    ASSERT_TRUE(server_->Start());
    FixmineClient c(server_->address(), "");
    ASSERT_TRUE(c.AddRepository(repo_->path(), "r").ok());
    fixmine::v1::StartMiningRequest req;
    req.set_repo("r");
    auto job = c.StartMining(req);
    ASSERT_TRUE(job.ok()) << job.status();
    ASSERT_TRUE(c.WatchJob(job->id(), [](const auto&) {}).ok());
  }
  static void TearDownTestSuite() {
    delete server_;
    delete repo_;
  }
  void SetUp() override { client_ = std::make_unique<FixmineClient>(server_->address(), ""); }

  std::vector<Record> Stream(const fixmine::v1::StreamRecordsRequest& req) {
    std::vector<Record> out;
    absl::Status st = client_->StreamRecords(req, [&](const fixmine::v1::StreamRecordsResponse& b) {
      EXPECT_EQ(b.record_count(), b.records_size());
      for (const Record& r : b.records()) out.push_back(r);
      return true;
    });
    EXPECT_TRUE(st.ok()) << st;
    return out;
  }

  // Every record equals GetRecord's for its id, field by field and byte for byte.
  void ExpectSameAsGetRecord(const std::vector<Record>& records) {
    for (const Record& r : records) {
      auto got = client_->GetRecord(r.id());
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_TRUE(MessageDifferencer::Equals(r, *got)) << r.id();
      EXPECT_EQ(r.SerializeAsString(), got->SerializeAsString()) << r.id();
    }
  }

  // The records ListRecords (which parses every record) returns for `filter`.
  std::vector<Record> List(const std::string& filter) {
    fixmine::v1::ListRecordsRequest req;
    req.set_filter(filter);
    req.set_page_size(1000);
    auto resp = client_->ListRecords(req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    if (!resp.ok()) return {};
    return {resp->records().begin(), resp->records().end()};
  }

  static std::vector<std::string> Bytes(const std::vector<Record>& records) {
    std::vector<std::string> out;
    out.reserve(records.size());
    for (const Record& r : records) out.push_back(r.SerializeAsString());
    return out;
  }

  // Calls server-streaming `method` with `request` through a generic stub and returns each
  // response's bytes as they came off the wire (no generated code parses them), or the
  // call's error.
  absl::StatusOr<std::vector<std::string>> RawStream(const std::string& method,
                                                     const google::protobuf::Message& request) {
    grpc::GenericStub stub(client_->channel());
    grpc::CompletionQueue cq;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    std::string body = request.SerializeAsString();
    grpc::Slice slice(body);
    grpc::ByteBuffer req(&slice, 1);
    auto call = stub.PrepareCall(&ctx, method, &cq);
    void* tag = nullptr;
    bool ok = false;
    call->StartCall(reinterpret_cast<void*>(1));
    EXPECT_TRUE(cq.Next(&tag, &ok) && ok);
    call->Write(req, reinterpret_cast<void*>(2));
    EXPECT_TRUE(cq.Next(&tag, &ok) && ok);
    call->WritesDone(reinterpret_cast<void*>(3));
    EXPECT_TRUE(cq.Next(&tag, &ok) && ok);
    std::vector<std::string> out;
    for (int i = 0; i < 1000; ++i) {  // bounded: the stores here send a few responses
      grpc::ByteBuffer resp;
      call->Read(&resp, reinterpret_cast<void*>(4));
      if (!cq.Next(&tag, &ok) || !ok) break;
      std::vector<grpc::Slice> slices;
      EXPECT_TRUE(resp.Dump(&slices).ok());
      std::string bytes;
      for (const grpc::Slice& sl : slices) {
        bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
      }
      out.push_back(std::move(bytes));
    }
    grpc::Status status;
    call->Finish(&status, reinterpret_cast<void*>(5));
    EXPECT_TRUE(cq.Next(&tag, &ok));
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
    if (!status.ok()) return absl::InternalError(status.error_message());
    return out;
  }

  // The records of raw responses, each as the bytes it had on the wire: a response is parsed
  // as StoredRecordBatch, whose `records` are `bytes` (kept as sent), not Records (which a
  // parse and reserialization would normalize).
  static std::vector<std::string> WireRecords(const std::vector<std::string>& responses) {
    std::vector<std::string> out;
    for (const std::string& resp : responses) {
      fixmine::internal::StoredRecordBatch batch;
      EXPECT_TRUE(batch.ParseFromString(resp));
      EXPECT_EQ(batch.record_count(), batch.records_size());
      EXPECT_FALSE(batch.resume_token().empty());
      for (const std::string& r : batch.records()) out.push_back(r);
    }
    return out;
  }

  // Each record's wire bytes equal GetRecord's record serialized, for its id.
  void ExpectWireBytesEqualGetRecord(const std::vector<std::string>& wire) {
    for (const std::string& bytes : wire) {
      Record r;
      ASSERT_TRUE(r.ParseFromString(bytes));
      auto got = client_->GetRecord(r.id());
      ASSERT_TRUE(got.ok()) << r.id() << ": " << got.status();
      EXPECT_EQ(bytes, got->SerializeAsString()) << r.id();
    }
  }

  static testutil::GitRepo* repo_;
  static testutil::TestServer* server_;
  std::unique_ptr<FixmineClient> client_;
};
testutil::GitRepo* StreamStoredBytes::repo_ = nullptr;
testutil::TestServer* StreamStoredBytes::server_ = nullptr;

TEST_F(StreamStoredBytes, RecordsEqualGetRecordWithAndWithoutFilters) {
  std::vector<Record> all = Stream({});
  ASSERT_EQ(all.size(), 40u);
  ExpectSameAsGetRecord(all);
  EXPECT_EQ(Bytes(all), Bytes(List("")));
  // A filter that reads no files (records parsed without them), one that reads files, and one
  // that mixes both.
  for (const std::string& filter :
       {std::string("subject:\"fix\""), std::string("lang = \"Go\""),
        std::string("path:\"src/*\" AND NOT subject:\"add\""), std::string("added > 1")}) {
    fixmine::v1::StreamRecordsRequest req;
    req.set_filter(filter);
    std::vector<Record> got = Stream(req);
    EXPECT_GT(got.size(), 0u) << filter;
    EXPECT_LT(got.size(), all.size()) << filter;
    ExpectSameAsGetRecord(got);
    EXPECT_EQ(Bytes(got), Bytes(List(filter))) << filter;
  }
}

// What clients receive, compared as bytes (a client's parse and reserialization would hide
// non-canonical bytes): StreamRecords' responses read through a generic stub, each record's bytes
// equal to GetRecord's record serialized, for an empty filter (the default `NOT contaminated`,
// which reads no files), a filter that reads no files, include_contaminated without a filter, and a
// filter that reads files; and the same for both streams of a read session under a filter
// that reads no files.
TEST_F(StreamStoredBytes, WireBytesOfEachRecordEqualGetRecordSerialized) {
  struct Case {
    std::string filter;
    bool include_contaminated;
    size_t expected;
  };
  for (const Case& c : {Case{"", false, 40}, Case{"subject:\"fix\"", false, 20}, Case{"", true, 40},
                        Case{"lang = \"Go\"", false, 10}}) {
    fixmine::v1::StreamRecordsRequest req;
    req.set_filter(c.filter);
    req.set_include_contaminated(c.include_contaminated);
    auto responses = RawStream("/fixmine.v1.RecordService/StreamRecords", req);
    ASSERT_TRUE(responses.ok()) << c.filter << ": " << responses.status();
    std::vector<std::string> wire = WireRecords(*responses);
    EXPECT_EQ(wire.size(), c.expected) << c.filter;
    ExpectWireBytesEqualGetRecord(wire);
    // The whole response is the wire form StreamRecordsResponse has: the same bytes again
    // after the generated client's parse and reserialization.
    for (const std::string& resp : *responses) {
      fixmine::v1::StreamRecordsResponse typed;
      ASSERT_TRUE(typed.ParseFromString(resp));
      EXPECT_EQ(typed.SerializeAsString(), resp) << c.filter;
    }
  }

  fixmine::v1::CreateReadSessionRequest session_req;
  session_req.set_max_streams(2);
  session_req.set_filter("subject:\"fix\"");
  auto session = client_->CreateReadSession(session_req);
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_EQ(session->streams_size(), 2);
  std::set<std::string> ids;
  for (const std::string& name : session->streams()) {
    fixmine::v1::ReadStreamRequest rs;
    rs.set_stream(name);
    auto responses = RawStream("/fixmine.v1.RecordService/ReadStream", rs);
    ASSERT_TRUE(responses.ok()) << responses.status();
    std::vector<std::string> wire = WireRecords(*responses);
    ExpectWireBytesEqualGetRecord(wire);
    for (const std::string& bytes : wire) {
      Record r;
      ASSERT_TRUE(r.ParseFromString(bytes));
      EXPECT_TRUE(ids.insert(r.id()).second) << r.id();
    }
  }
  EXPECT_EQ(ids.size(), 20u);
}

TEST_F(StreamStoredBytes, ResumeTokenContinuesWithTheSameBytes) {
  fixmine::v1::StreamRecordsRequest req;
  req.set_filter("subject:\"fix\"");
  std::vector<Record> whole = Stream(req);
  ASSERT_EQ(whole.size(), 20u);
  req.set_limit(7);
  std::vector<Record> parts;
  std::string token;
  absl::Status st = client_->StreamRecords(req, [&](const fixmine::v1::StreamRecordsResponse& b) {
    for (const Record& r : b.records()) parts.push_back(r);
    token = b.resume_token();
    return true;
  });
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_EQ(parts.size(), 7u);
  ASSERT_FALSE(token.empty());
  req.set_limit(0);
  req.set_resume_token(token);
  std::vector<Record> rest = Stream(req);
  parts.insert(parts.end(), rest.begin(), rest.end());
  EXPECT_EQ(Bytes(parts), Bytes(whole));
  ExpectSameAsGetRecord(parts);
}

TEST_F(StreamStoredBytes, ReadSessionStreamsEqualGetRecord) {
  fixmine::v1::CreateReadSessionRequest req;
  req.set_max_streams(2);
  req.set_filter("NOT lang = \"Markdown\"");
  auto session = client_->CreateReadSession(req);
  ASSERT_TRUE(session.ok()) << session.status();
  std::map<std::string, std::string> streamed;  // id -> bytes
  for (const std::string& name : session->streams()) {
    fixmine::v1::ReadStreamRequest rs;
    rs.set_stream(name);
    absl::Status st = client_->ReadStream(rs, [&](const fixmine::v1::ReadStreamResponse& b) {
      EXPECT_EQ(b.record_count(), b.records_size());
      for (const Record& r : b.records()) {
        EXPECT_TRUE(streamed.emplace(r.id(), r.SerializeAsString()).second) << r.id();
        auto got = client_->GetRecord(r.id());
        EXPECT_TRUE(got.ok()) << got.status();
        if (got.ok()) {
          EXPECT_TRUE(MessageDifferencer::Equals(r, *got)) << r.id();
        }
      }
      return true;
    });
    ASSERT_TRUE(st.ok()) << st;
  }
  std::map<std::string, std::string> listed;
  for (const Record& r : List("NOT lang = \"Markdown\"")) listed[r.id()] = r.SerializeAsString();
  EXPECT_EQ(listed.size(), 30u);
  EXPECT_EQ(streamed, listed);
}

// Filters that name no file field are evaluated on records parsed without their files.
TEST(ScanSerialized, FilterSaysWhetherItReadsFiles) {
  std::map<std::string, bool> cases = {
      {"", false},
      {"subject:\"fix\" AND is_fix = true", false},
      {"NOT contaminated AND preset = \"default\"", false},
      {"drop:\"x\" OR regex(message, \"a+\")", false},
      {"lang = \"Go\"", true},
      {"NOT (is_fix = true OR regex(path, \"x\"))", true},
      {"added > 3", true},
      {"subject:\"a\" OR function:\"main\"", true},
  };
  for (const auto& [text, reads] : cases) {
    auto f = storage::Filter::Parse(text);
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ((*f)->ReadsFiles(), reads) << text;
  }
}

// The store level: ScanSerialized's bytes equal Scan's record reserialized, for records as the
// store writes them and for a value whose fields are out of order (taken down the parse path).
TEST(ScanSerialized, BytesEqualTheParsePathsEvenForValuesOutOfOrder) {
  testutil::TempDir tmp;
  auto opened = storage::RecordStore::Open(tmp.path() + "/store");
  ASSERT_TRUE(opened.ok()) << opened.status();
  storage::RecordStore& store = **opened;
  std::vector<Record> records;
  records.reserve(6);
  for (int i = 0; i < 6; ++i) {
    Record r;
    r.set_commit(std::string(39, 'a') + std::to_string(i));
    r.set_repo("r");
    r.set_id("r:" + r.commit());
    r.set_subject(i % 2 == 0 ? "fix " + std::to_string(i) : "add " + std::to_string(i));
    r.mutable_committer()->set_time(1700000000 + i);
    auto* f = r.add_files();
    f->set_path(i % 3 == 0 ? "a.go" : "b.py");
    f->set_language(i % 3 == 0 ? "Go" : "Python");
    f->set_added(i);
    records.push_back(r);
  }
  fixmine::v1::Job job;
  job.set_id("j");
  job.set_repo("r");
  ASSERT_TRUE(store.WriteBatch(records, job, nullptr).ok());

  // Rewrites one stored value with its subject repeated after the files: it parses to another
  // subject ("last one wins") and reserializes to other bytes.
  std::string key;
  std::string value;
  {
    auto view = store.core()->View();
    auto it = store.core()->NewIterator(view->options(), storage::internal::Family::kRecords);
    it->SeekToFirst();
    ASSERT_TRUE(it->Valid());
    key = it->key().ToString();
    value = it->value().ToString();
  }
  Record extra;
  extra.set_subject("fix moved");
  value += extra.SerializeAsString();
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(batch.Put(store.core()->cf(storage::internal::Family::kRecords), key, value).ok());
  ASSERT_TRUE(store.core()->Write("test", &batch).ok());

  for (const std::string& text : {std::string(), std::string("subject:\"fix\""),
                                  std::string("lang = \"Go\""), std::string("added >= 2")}) {
    std::unique_ptr<storage::Filter> filter;
    if (!text.empty()) {
      auto parsed = storage::Filter::Parse(text);
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      filter = std::move(*parsed);
    }
    std::vector<std::string> scanned;
    std::vector<std::string> positions;
    ASSERT_TRUE(store
                    .Scan(filter.get(), {},
                          [&](const Record& r, const storage::ScanPosition& after) {
                            scanned.push_back(r.SerializeAsString());
                            positions.push_back(after.last_key);
                            return true;
                          })
                    .ok());
    std::vector<std::string> serialized;
    std::vector<std::string> serialized_positions;
    ASSERT_TRUE(
        store
            .ScanSerialized(filter.get(), {},
                            [&](std::string_view bytes, const storage::ScanPosition& after) {
                              serialized.emplace_back(bytes);
                              serialized_positions.push_back(after.last_key);
                              return true;
                            })
            .ok());
    EXPECT_FALSE(scanned.empty()) << text;
    EXPECT_EQ(serialized, scanned) << text;
    EXPECT_EQ(serialized_positions, positions) << text;
  }
  // The rewritten record went down the parse path: its bytes are the reserialization, not the
  // stored value.
  std::vector<std::string> all;
  ASSERT_TRUE(store
                  .ScanSerialized(nullptr, {},
                                  [&](std::string_view bytes, const storage::ScanPosition&) {
                                    all.emplace_back(bytes);
                                    return true;
                                  })
                  .ok());
  ASSERT_EQ(all.size(), 6u);
  EXPECT_NE(all[0], value);
  Record first;
  ASSERT_TRUE(first.ParseFromString(all[0]));
  EXPECT_EQ(first.subject(), "fix moved");
}

// Damaged stored data (docs/architecture.md, "Damaged stored data"): ScanSerialized checks
// only what it parses. A file path that is not UTF-8 is DATA_LOSS naming the key for Scan and
// for a filter that reads files, but a filter that reads none, or no filter, hands out the
// stored bytes; a subject that is not UTF-8 is found by any filter (the record is parsed
// without its files) but not without one.
TEST(ScanSerialized, DamageIsFoundOnlyInWhatIsParsed) {
  testutil::TempDir tmp;
  auto opened = storage::RecordStore::Open(tmp.path() + "/store");
  ASSERT_TRUE(opened.ok()) << opened.status();
  storage::RecordStore& store = **opened;
  Record r;
  r.set_commit(std::string(40, 'b'));
  r.set_repo("r");
  r.set_id("r:" + r.commit());
  r.set_subject("fix it");
  r.mutable_committer()->set_time(1700000000);
  r.add_files()->set_path("a.go");
  fixmine::v1::Job job;
  job.set_id("j");
  job.set_repo("r");
  ASSERT_TRUE(store.WriteBatch({r}, job, nullptr).ok());
  std::string key;
  {
    auto view = store.core()->View();
    auto it = store.core()->NewIterator(view->options(), storage::internal::Family::kRecords);
    it->SeekToFirst();
    ASSERT_TRUE(it->Valid());
    key = it->key().ToString();
  }
  // Stores `damaged` serialized as is (the serializer writes strings that are not UTF-8).
  auto put = [&](const Record& damaged) {
    std::string value = damaged.SerializeAsString();
    rocksdb::WriteBatch batch;
    EXPECT_TRUE(batch.Put(store.core()->cf(storage::internal::Family::kRecords), key, value).ok());
    EXPECT_TRUE(store.core()->Write("test", &batch).ok());
    return value;
  };
  // What ScanSerialized under `text` gives: the bytes handed out, or its error.
  auto serialized = [&](const std::string& text) -> absl::StatusOr<std::vector<std::string>> {
    std::unique_ptr<storage::Filter> filter;
    if (!text.empty()) {
      auto parsed = storage::Filter::Parse(text);
      EXPECT_TRUE(parsed.ok()) << parsed.status();
      if (!parsed.ok()) return parsed.status();
      filter = std::move(*parsed);
    }
    std::vector<std::string> out;
    absl::Status st = store.ScanSerialized(
        filter.get(), {}, [&](std::string_view bytes, const storage::ScanPosition&) {
          out.emplace_back(bytes);
          return true;
        });
    if (!st.ok()) return st;
    return out;
  };
  auto scan_status = [&] {
    return store.Scan(nullptr, {},
                      [](const Record&, const storage::ScanPosition&) { return true; });
  };
  auto expect_data_loss = [](const absl::StatusOr<std::vector<std::string>>& got,
                             const std::string& what) {
    ASSERT_FALSE(got.ok()) << what;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << what;
    EXPECT_TRUE(absl::StrContains(got.status().message(), "does not parse")) << got.status();
  };

  Record bad_file = r;
  bad_file.mutable_files(0)->set_path(std::string("a\xff.go"));
  std::string value = put(bad_file);
  EXPECT_EQ(scan_status().code(), absl::StatusCode::kDataLoss);
  expect_data_loss(serialized("files >= 0"), "files >= 0");
  for (const std::string& text : {std::string(), std::string("NOT contaminated")}) {
    auto got = serialized(text);
    ASSERT_TRUE(got.ok()) << text << ": " << got.status();
    EXPECT_EQ(*got, std::vector<std::string>{value}) << text;
    Record parsed;
    EXPECT_FALSE(parsed.ParseFromString(got->front())) << "a reader's parse fails";
  }

  Record bad_subject = r;
  bad_subject.set_subject(std::string("fix \xff"));
  value = put(bad_subject);
  EXPECT_EQ(scan_status().code(), absl::StatusCode::kDataLoss);
  expect_data_loss(serialized("NOT contaminated"), "NOT contaminated");
  expect_data_loss(serialized("files >= 0"), "files >= 0");
  auto got = serialized("");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, std::vector<std::string>{value});
}

}  // namespace
}  // namespace fixmine
