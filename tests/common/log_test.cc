// common/log.h: the text and JSON line formats.
#include "common/log.h"

#include <gtest/gtest.h>

#include <sstream>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace fixmine {
namespace {

// 2024-01-31T12:00:00.250Z
constexpr int64_t kMs = 1706702400250;

TEST(LogFormat, JsonLineHasTimeLevelMessageAndOnlyTheKnownFields) {
  LogFields f;
  f.method = "/fixmine.v1.AdminService/GetJob";
  f.code = "NotFound";
  f.peer = "ipv4:127.0.0.1:5000";
  f.duration_ms = 1.5;
  f.error = "job \"x\"\nnot found\t\x01";
  std::string line = FormatLogLine(LogFormat::kJson, kMs, LogLevel::kWarn, "rpc \"finished\"", f);
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one line";
  google::protobuf::Struct s;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &s).ok()) << line;
  EXPECT_EQ(s.fields().at("time").string_value(), "2024-01-31T12:00:00.250Z");
  EXPECT_EQ(s.fields().at("level").string_value(), "warn");
  EXPECT_EQ(s.fields().at("message").string_value(), "rpc \"finished\"");
  EXPECT_EQ(s.fields().at("method").string_value(), "/fixmine.v1.AdminService/GetJob");
  EXPECT_EQ(s.fields().at("code").string_value(), "NotFound");
  EXPECT_EQ(s.fields().at("peer").string_value(), "ipv4:127.0.0.1:5000");
  EXPECT_DOUBLE_EQ(s.fields().at("duration_ms").number_value(), 1.5);
  EXPECT_EQ(s.fields().at("error").string_value(), "job \"x\"\nnot found\t\x01");
  EXPECT_FALSE(s.fields().contains("job"));
  EXPECT_FALSE(s.fields().contains("repository"));
}

TEST(LogFormat, TextLineQuotesValuesWithSpaces) {
  LogFields f;
  f.job = "j-1";
  f.repository = "my repo";
  std::string line = FormatLogLine(LogFormat::kText, kMs, LogLevel::kInfo, "job ended", f);
  EXPECT_EQ(line, "2024-01-31T12:00:00.250Z info job ended job=j-1 repository=\"my repo\"");
}

TEST(LogFormat, ParseAcceptsTextAndJsonOnly) {
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(*ParseLogFormat("text"), LogFormat::kText);
  auto bad = ParseLogFormat("xml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("text or json"), std::string::npos);
}

TEST(LogFormat, LogWritesWholeLinesToTheConfiguredStream) {
  std::ostringstream out;
  SetLogOutput(LogFormat::kJson, &out);
  Log(LogLevel::kError, "boom", {.repository = "r"});
  SetLogOutput(LogFormat::kText, nullptr);
  std::string text = out.str();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text.find("\"level\":\"error\",\"message\":\"boom\",\"repository\":\"r\""),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace fixmine
