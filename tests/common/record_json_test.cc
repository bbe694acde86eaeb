#include "common/record_json.h"

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "common/json.h"
#include "gtest/gtest.h"

namespace fixmine {
namespace {

// Code points around every escaping rule of protobuf's printer, plus plain text.
const char32_t kInteresting[] = {
    0x00,    0x01,    0x08,    0x09,    0x0a,    0x0b,    0x0c,    0x0d,    0x1f,    0x20,
    '"',     '\\',    '<',     '>',     '/',     '&',     '\'',    0x7e,    0x7f,    0x80,
    0x85,    0x9f,    0xa0,    0xad,    0xe9,    0x600,   0x603,   0x604,   0x6dd,   0x70f,
    0x17b4,  0x17b5,  0x200a,  0x200b,  0x200f,  0x2010,  0x2028,  0x202e,  0x202f,  0x2060,
    0x2064,  0x2065,  0x206a,  0x206f,  0xfeff,  0xfff9,  0xfffb,  0xfffc,  0xffff,  0x10000,
    0x1d172, 0x1d173, 0x1d17a, 0x1d17b, 0x1f600, 0xe0001, 0xe0020, 0xe007f, 0xe0080, 0x10ffff,
    'a',     'z',     ' ',     '{',     0x4e2d,
};

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

std::string RandomText(std::mt19937* rng) {
  std::string s;
  int n = std::uniform_int_distribution<int>(0, 40)(*rng);
  for (int i = 0; i < n; ++i) {
    if ((*rng)() % 3 == 0) {
      s.append("plain ascii run of text ");
    } else {
      AppendUtf8(kInteresting[(*rng)() % std::size(kInteresting)], &s);
    }
  }
  return s;
}

std::string ViaProtobuf(const v1::Record& r) {
  auto line = ToJsonLine(r);
  EXPECT_TRUE(line.ok()) << line.status();
  return line.ok() ? *line : "";
}

std::string ViaWriter(const v1::Record& r) {
  std::string out;
  EXPECT_TRUE(AppendRecordJson(r, &out));
  return out;
}

TEST(RecordJsonTest, EmptyRecordAndEmptySubmessages) {
  v1::Record r;
  EXPECT_EQ(ViaWriter(r), ViaProtobuf(r));
  r.mutable_author();
  r.mutable_quality();
  r.add_files();
  EXPECT_EQ(ViaWriter(r), ViaProtobuf(r));
}

TEST(RecordJsonTest, RandomRecordsMatchProtobufByteForByte) {
  std::mt19937 rng(42);
  for (int iter = 0; iter < 500; ++iter) {
    v1::Record r;
    r.set_id(RandomText(&rng));
    r.set_repo("repo");
    r.set_commit(RandomText(&rng));
    for (int i = 0; i < static_cast<int>(rng() % 3); ++i) r.add_parents(RandomText(&rng));
    r.mutable_author()->set_name(RandomText(&rng));
    r.mutable_author()->set_time(static_cast<int64_t>(rng()) - (1ll << 31));
    r.mutable_author()->set_offset_minutes(static_cast<int>(rng() % 1000) - 500);
    if (rng() % 2) r.mutable_committer()->set_email(RandomText(&rng));
    r.set_subject(RandomText(&rng));
    r.set_message(RandomText(&rng));
    for (int f = 0; f < static_cast<int>(rng() % 4); ++f) {
      v1::FileChange* fc = r.add_files();
      fc->set_path(RandomText(&rng));
      fc->set_change_type(static_cast<v1::ChangeType>(rng() % 7));
      fc->set_added(static_cast<int>(rng() % 5));
      fc->set_binary(rng() % 2);
      fc->set_patch(RandomText(&rng));
      for (int h = 0; h < static_cast<int>(rng() % 3); ++h) {
        v1::Hunk* hk = fc->add_hunks();
        hk->set_old_start(static_cast<int>(rng() % 9));
        hk->set_new_lines(static_cast<int>(rng() % 9));
        hk->set_header(RandomText(&rng));
        hk->set_text(RandomText(&rng));
      }
      fc->set_old_content(RandomText(&rng));
      fc->set_old_mode(rng() % 2 ? 0100644 : 0);
      fc->set_new_mode(0120000);
      fc->set_similarity(static_cast<int>(rng() % 101));
      fc->set_generated(rng() % 2);
    }
    if (rng() % 2) {
      r.mutable_labels()->set_is_fix(true);
      r.mutable_labels()->add_fix_evidence(RandomText(&rng));
    }
    r.mutable_quality()->set_lines_added(static_cast<int>(rng() % 100));
    if (rng() % 4 == 0) r.add_contamination()->set_ngram(RandomText(&rng));
    r.set_trajectory_step(static_cast<int>(rng() % 3));
    r.set_renames_skipped(rng() % 2);
    ASSERT_EQ(ViaWriter(r), ViaProtobuf(r)) << "iteration " << iter;
  }
}

TEST(RecordJsonTest, InvalidUtf8IsRefusedAndLeavesOutputAlone) {
  v1::Record r;
  r.set_message(std::string("caf\xe9", 4));
  std::string out = "kept";
  EXPECT_FALSE(AppendRecordJson(r, &out));
  EXPECT_EQ(out, "kept");
  for (const std::string& bad : {std::string("\xc0\x80"), std::string("\xed\xa0\x80"),
                                 std::string("\xf4\x90\x80\x80"), std::string("\xe2\x82")}) {
    std::string s;
    EXPECT_FALSE(AppendJsonString(bad, &s)) << bad;
  }
}

// AppendJsonString's literal for `text` after a prefix, or nullopt when it refuses the text.
std::optional<std::string> Literal(const std::string& text) {
  std::string out = "prefix";
  if (!AppendJsonString(text, &out)) {
    EXPECT_EQ(out.substr(0, 6), "prefix");
    return std::nullopt;
  }
  EXPECT_EQ(out.substr(0, 6), "prefix");
  return out.substr(6);
}

// Protobuf's literal for valid UTF-8 `text`, cut out of a one-field record's JSON.
std::string ProtobufLiteral(const std::string& text) {
  v1::Record r;
  r.set_message(text);
  std::string line = ViaProtobuf(r);
  if (text.empty()) return "\"\"";
  const std::string head = "{\"message\":";
  EXPECT_EQ(line.substr(0, head.size()), head);
  return line.substr(head.size(), line.size() - head.size() - 1);
}

void ExpectSameAsProtobuf(const std::string& text) {
  std::optional<std::string> lit = Literal(text);
  if (!IsValidUtf8(text)) {
    EXPECT_FALSE(lit.has_value()) << "accepted invalid UTF-8 of " << text.size() << " bytes";
    return;
  }
  ASSERT_TRUE(lit.has_value()) << "refused valid UTF-8 of " << text.size() << " bytes";
  EXPECT_EQ(*lit, ProtobufLiteral(text));
}

TEST(RecordJsonTest, StringEscapeEveryByteAndBytePair) {
  for (int a = 0; a < 256; ++a) {
    std::string one(1, static_cast<char>(a));
    ExpectSameAsProtobuf(one);
    // In the 16-byte block path, at every position of a block, and in the tail.
    for (size_t at : {0u, 7u, 15u, 16u, 31u, 33u}) {
      std::string text(40, 'x');
      text[at] = static_cast<char>(a);
      ExpectSameAsProtobuf(text);
    }
    for (int b = 0; b < 256; ++b) {
      std::string two = {static_cast<char>(a), static_cast<char>(b)};
      ExpectSameAsProtobuf(two);
      ExpectSameAsProtobuf(std::string(15, 'y') + two + std::string(20, 'y'));
    }
  }
}

TEST(RecordJsonTest, StringEscapeInvalidUtf8Forms) {
  const std::vector<std::string> bad = {
      "\x80",
      "\xbf",  // lone continuation bytes
      "\xc0\x80",
      "\xc1\xbf",  // overlong two-byte forms
      "\xe0\x80\x80",
      "\xe0\x9f\xbf",  // overlong three-byte forms
      "\xed\xa0\x80",
      "\xed\xbf\xbf",  // surrogates
      "\xf0\x80\x80\x80",
      "\xf0\x8f\xbf\xbf",  // overlong four-byte forms
      "\xf4\x90\x80\x80",
      "\xf5\x80\x80\x80",
      "\xff",
      "\xfe",  // past U+10FFFF
      "\xc3",
      "\xe2\x82",
      "\xf0\x9f\x98",  // truncated
      "\xc3\x28",
      "\xe2\x28\xa1",
      "\xf0\x9f\x28\x80",  // bad continuation
  };
  for (const std::string& b : bad) {
    for (size_t before : {0u, 5u, 15u, 16u, 17u, 40u}) {
      for (size_t after : {0u, 1u, 20u}) {
        std::string text = std::string(before, 'a') + b + std::string(after, '\n');
        ASSERT_FALSE(IsValidUtf8(text));
        EXPECT_FALSE(Literal(text).has_value()) << before << " " << after;
      }
    }
  }
}

TEST(RecordJsonTest, StringEscapeRandomLongTextMatchesProtobuf) {
  std::mt19937 rng(5);
  for (int iter = 0; iter < 400; ++iter) {
    std::string text;
    int parts = std::uniform_int_distribution<int>(0, 300)(rng);
    for (int i = 0; i < parts; ++i) {
      switch (rng() % 5) {
        case 0:
          text.append(rng() % 40, static_cast<char>('a' + rng() % 26));
          break;
        case 1:
          text.append("    if (a < b && c > \"d\\\") {\n\t}\r\n");
          break;
        case 2:  // runs of controls: the output grows to six times the input
          text.append(rng() % 64, static_cast<char>(rng() % 0x20));
          break;
        case 3:
          AppendUtf8(kInteresting[rng() % std::size(kInteresting)], &text);
          break;
        default:
          if (rng() % 50 == 0) {
            text.push_back(static_cast<char>(rng() % 256));  // occasionally invalid
          } else {
            AppendUtf8(0x4e00 + rng() % 0x100, &text);
          }
      }
    }
    ExpectSameAsProtobuf(text);
  }
}

// The line writer the stream commands use: protobuf's output plus a newline, through the fast
// writer for UTF-8 records and through protobuf for the rest.
TEST(RecordJsonTest, JsonLineMatchesProtobufForValidAndInvalidUtf8) {
  v1::Record good;
  good.set_message("fix <b> in caf\xc3\xa9");
  good.set_subject("fix");
  v1::Record bad;
  bad.set_message(std::string("caf\xe9", 4));
  bad.set_subject("fix");
  for (const v1::Record* r : {&good, &bad}) {
    std::string out = "prev\n";
    AppendRecordJsonLine(*r, &out);
    EXPECT_EQ(out, "prev\n" + ToJsonLine(*r).value() + "\n");
  }
}

}  // namespace
}  // namespace fixmine
