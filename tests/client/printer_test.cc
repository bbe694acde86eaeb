// The one --output printer (client/printer.h) and the command runner's exit code when a message
// cannot be rendered: protobuf's JSON printer refuses a Timestamp after the year 9999, and the
// printer must say so and print nothing for it (never a stand-in "{}").
#include "client/printer.h"

#include <gtest/gtest.h>

#include <sstream>

#include "client/cli.h"
#include "client/command.h"
#include "common/json.h"
#include "google/protobuf/timestamp.pb.h"

namespace fixmine::client {
namespace {

google::protobuf::Timestamp At(int64_t seconds) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  return t;
}

// 10000-01-01T00:00:00Z: past what RFC 3339 (and protobuf's printer) can write.
google::protobuf::Timestamp Unrenderable() { return At(253402300800); }

struct Capture {
  std::ostringstream out, err;
  CliContext ctx;
  explicit Capture(const std::string& output) {
    ctx.out = &out;
    ctx.err = &err;
    ctx.output = output;
    ctx.command = "test show";
  }
};

TEST(Printer, TheOracleRefusesTheYear10000) {
  // The premise of the failure tests: protobuf's own printer fails on this message.
  EXPECT_FALSE(ToJsonLine(Unrenderable()).ok());
  EXPECT_FALSE(ToPrettyJson(Unrenderable()).ok());
}

TEST(Printer, OnePrintsAsOutputSays) {
  google::protobuf::Timestamp s = At(1);
  for (std::string output : {"table", "json", "jsonl"}) {
    Capture r(output);
    Printer p(r.ctx);
    p.One(s, [] { return std::string("TABLE\n"); });
    std::string want = output == "table"  ? "TABLE\n"
                       : output == "json" ? *ToPrettyJson(s) + "\n"
                                          : *ToJsonLine(s) + "\n";
    EXPECT_EQ(r.out.str(), want) << output;
    EXPECT_EQ(r.err.str(), "") << output;
    EXPECT_FALSE(p.failed());
  }
}

TEST(Printer, AFailedRenderingIsReportedNotPrintedAsEmptyObject) {
  for (std::string output : {"json", "jsonl"}) {
    Capture r(output);
    Printer p(r.ctx);
    p.One(Unrenderable(), [] { return std::string("TABLE\n"); });
    EXPECT_EQ(r.out.str(), "") << output;
    EXPECT_EQ(r.err.str().rfind(
                  "fixmine test show: printing google.protobuf.Timestamp: rendering JSON: ", 0),
              0u)
        << r.err.str();
    EXPECT_TRUE(p.failed());
  }
  // A table does not go through JSON.
  Capture table("table");
  Printer p(table.ctx);
  p.One(Unrenderable(), [] { return std::string("TABLE\n"); });
  EXPECT_EQ(table.out.str(), "TABLE\n");
  EXPECT_FALSE(p.failed());
}

TEST(Printer, ListsKeepTheRenderableItemsAndReportTheOthers) {
  std::vector<google::protobuf::Timestamp> items = {At(1), Unrenderable(), At(3)};
  auto row = [](const google::protobuf::Timestamp& t) { return std::to_string(t.seconds()); };
  Capture json("json");
  Printer pj(json.ctx);
  pj.List<google::protobuf::Timestamp>(items, "SECONDS", row);
  EXPECT_EQ(json.out.str(),
            "[\n" + *ToPrettyJson(items[0]) + ",\n" + *ToPrettyJson(items[2]) + "\n]\n");
  EXPECT_TRUE(pj.failed());
  EXPECT_NE(json.err.str().find("printing google.protobuf.Timestamp: rendering JSON"),
            std::string::npos);

  Capture jsonl("jsonl");
  Printer pl(jsonl.ctx);
  pl.List<google::protobuf::Timestamp>(items, "SECONDS", row);
  EXPECT_EQ(jsonl.out.str(), *ToJsonLine(items[0]) + "\n" + *ToJsonLine(items[2]) + "\n");
  EXPECT_TRUE(pl.failed());

  Capture table("table");
  Printer pt(table.ctx);
  pt.List<google::protobuf::Timestamp>(items, "SECONDS", row);
  EXPECT_EQ(table.out.str(), "SECONDS\n1\n253402300800\n3\n");
  EXPECT_FALSE(pt.failed());

  Capture empty("json");
  Printer pe(empty.ctx);
  pe.List<google::protobuf::Timestamp>({}, "SECONDS", row);
  EXPECT_EQ(empty.out.str(), "[]\n");
}

TEST(Printer, AppendJsonLineLeavesTheBufferAloneOnFailure) {
  Capture r("table");  // streams are JSON Lines whatever --output says
  Printer p(r.ctx);
  std::string buf = "x\n";
  EXPECT_TRUE(p.AppendJsonLine(At(1), &buf));
  EXPECT_EQ(buf, "x\n" + *ToJsonLine(At(1)) + "\n");
  std::string before = buf;
  EXPECT_FALSE(p.AppendJsonLine(Unrenderable(), &buf));
  EXPECT_EQ(buf, before);
  EXPECT_TRUE(p.failed());
}

// A command that prints one message through the printer and returns `code`.
class PrintOne : public Command {
 public:
  PrintOne(google::protobuf::Timestamp message, int code)
      : Command("show", "test"), message_(std::move(message)), code_(code) {}
  int Run(CliContext& ctx) override {
    ctx.print->One(message_, [] { return std::string("TABLE\n"); });
    return code_;
  }

 private:
  google::protobuf::Timestamp message_;
  int code_;
};

TEST(RunCommand, ARenderingFailureMakesTheExitCodeNonZero) {
  Capture ok("json");
  PrintOne good(At(1), kExitOk);
  EXPECT_EQ(RunCommand(good, "test show", ok.ctx), kExitOk);
  EXPECT_EQ(ok.out.str(), *ToPrettyJson(At(1)) + "\n");

  Capture bad("json");
  PrintOne unrenderable(Unrenderable(), kExitOk);
  EXPECT_EQ(RunCommand(unrenderable, "test show", bad.ctx), kExitFailed);
  EXPECT_EQ(bad.out.str(), "");
  EXPECT_NE(bad.err.str().find("fixmine test show: printing google.protobuf.Timestamp"),
            std::string::npos)
      << bad.err.str();

  // A command's own failure code stays.
  Capture usage("jsonl");
  PrintOne unrenderable_usage(Unrenderable(), kExitUsage);
  EXPECT_EQ(RunCommand(unrenderable_usage, "test show", usage.ctx), kExitUsage);
}

}  // namespace
}  // namespace fixmine::client
