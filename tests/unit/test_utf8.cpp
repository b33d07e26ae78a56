// lwm::utf8 (data/utf8.h): the one UTF-8 check of the data layer, on ICU.
#include <gtest/gtest.h>

#include <string>

#include "lwm/data/utf8.h"

namespace lwm {
namespace {

constexpr auto npos = std::string_view::npos;

TEST(Utf8, FirstInvalidGivesTheOffsetOfTheFirstIllFormedSequence) {
  EXPECT_EQ(utf8::first_invalid(""), npos);
  EXPECT_EQ(utf8::first_invalid("plain ascii"), npos);
  EXPECT_EQ(utf8::first_invalid("na\xC3\xAFve caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80"), npos);  // 2, 3, 4 bytes
  EXPECT_EQ(utf8::first_invalid("ab\x80"), 2u);                 // a lone continuation byte
  EXPECT_EQ(utf8::first_invalid("ab\xC3"), 2u);                 // truncated at the end
  EXPECT_EQ(utf8::first_invalid("a\xC0\xAF"), 1u);              // overlong '/'
  EXPECT_EQ(utf8::first_invalid("xy\xED\xA0\x80"), 2u);         // a surrogate (U+D800)
  EXPECT_EQ(utf8::first_invalid("\xF4\x90\x80\x80"), 0u);       // above U+10FFFF
  EXPECT_EQ(utf8::first_invalid("\xC3\xA9\xFF"), 2u);
}

TEST(Utf8, ReplaceInvalidPutsOneReplacementCharacterPerIllFormedSequence) {
  EXPECT_EQ(utf8::replace_invalid("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(utf8::replace_invalid("a\x80" "b\xFF"), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
  EXPECT_EQ(utf8::replace_invalid("\xE4\xB8"), "\xEF\xBF\xBD");  // a truncated 3-byte sequence: one U+FFFD
  EXPECT_EQ(utf8::encode(0xE9), "\xC3\xA9");
  EXPECT_EQ(utf8::encode(0x1F600), "\xF0\x9F\x98\x80");
}

// Texts of 2 GiB and more are read in windows (ICU indexes with int32_t); small windows here cut multi-byte
// sequences at every possible place, and the answers must not change.
TEST(Utf8, WindowsThatCutSequencesGiveTheSameAnswers) {
  std::string text;
  for (int i = 0; i < 20; ++i) text += "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80";
  const std::string bad = text.substr(0, 30) + "\x80" + text.substr(30) + "\xC3";
  EXPECT_EQ(utf8::replace_invalid(bad), text.substr(0, 30) + "\xEF\xBF\xBD" + text.substr(30) + "\xEF\xBF\xBD");
  for (size_t window : {4u, 5u, 6u, 7u, 9u, 16u}) {
    EXPECT_EQ(utf8::first_invalid(text, window), npos) << window;
    EXPECT_EQ(utf8::first_invalid(bad, window), 30u) << window;
    EXPECT_EQ(utf8::replace_invalid(bad, window), utf8::replace_invalid(bad)) << window;
  }
}

}  // namespace
}  // namespace lwm
