#include "common/record_json.h"

#include <random>
#include <string>

#include "common/json.h"
#include "gtest/gtest.h"

namespace fixmine {
namespace {

// Code points around every escaping rule of protobuf's printer, plus plain text.
const char32_t kInteresting[] = {
    0x00,    0x01,    0x08,    0x09,    0x0a,    0x0b,    0x0c,    0x0d,    0x1f,   0x20,
    '"',     '\\',    '<',     '>',     '/',     '&',     '\'',    0x7e,    0x7f,   0x80,
    0x85,    0x9f,    0xa0,    0xad,    0xe9,    0x600,   0x603,   0x604,   0x6dd,  0x70f,
    0x17b4,  0x17b5,  0x200a,  0x200b,  0x200f,  0x2010,  0x2028,  0x202e,  0x202f, 0x2060,
    0x2064,  0x2065,  0x206a,  0x206f,  0xfeff,  0xfff9,  0xfffb,  0xfffc,  0xffff, 0x10000,
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
  for (std::string bad : {std::string("\xc0\x80"), std::string("\xed\xa0\x80"),
                          std::string("\xf4\x90\x80\x80"), std::string("\xe2\x82")}) {
    std::string s;
    EXPECT_FALSE(AppendJsonString(bad, &s)) << bad;
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
