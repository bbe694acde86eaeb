#include "common/status.h"

#include <gtest/gtest.h>

#include <string>

#include "common/encoding.h"

namespace fixmine {
namespace {

TEST(QuoteInput, ShortTextIsQuotedWhole) {
  EXPECT_EQ(QuoteInput("alpaca"), "\"alpaca\"");
  EXPECT_EQ(QuoteInput(""), "\"\"");
  EXPECT_EQ(QuoteInput(std::string(64, 'x')), "\"" + std::string(64, 'x') + "\"");
}

TEST(QuoteInput, LongTextIsCutWithItsLength) {
  std::string id(1 << 20, 'i');
  std::string q = QuoteInput(id);
  EXPECT_EQ(q, "\"" + std::string(64, 'i') + "\xe2\x80\xa6\" (1048576 bytes)");
  EXPECT_EQ(QuoteInput(std::string(300, 'p'), 256).size(), 1 + 256 + 3 + 1 + 12);
}

TEST(QuoteInput, CutsAtACharacterBoundary) {
  // 63 ASCII bytes then a 3-byte character: the character does not fit in 64 bytes.
  std::string text = std::string(63, 'a') + "\xe2\x82\xac" + "tail";
  std::string q = QuoteInput(text);
  EXPECT_EQ(q, "\"" + std::string(63, 'a') + "\xe2\x80\xa6\" (70 bytes)");
  EXPECT_TRUE(IsValidUtf8(q));
}

TEST(QuoteInput, ControlAndInvalidBytesAreEscaped) {
  std::string q = QuoteInput(std::string("a\nb\r\0c\xff\xc3", 8));
  EXPECT_EQ(q, "\"a\\x0ab\\x0d\\x00c\\xff\\xc3\"");
  EXPECT_TRUE(IsValidUtf8(q));
  EXPECT_EQ(QuoteInput("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
}

TEST(CutMessage, KeepsShortMessagesAndCutsLongOnes) {
  EXPECT_EQ(CutMessage("short", 10), "short");
  std::string m(5000, 'm');
  EXPECT_EQ(CutMessage(m, 2048), std::string(2048, 'm') + "\xe2\x80\xa6 (5000 bytes)");
}

}  // namespace
}  // namespace fixmine
