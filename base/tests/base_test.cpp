#include <gtest/gtest.h>

#include "base/ascii.h"
#include "base/log_text.h"

namespace mxguard {
namespace {

TEST(Ascii, FoldsOnlyAsciiLetters) {
  EXPECT_EQ(ascii::lower("MAIL From:<A@B.Example>"), "mail from:<a@b.example>");
  EXPECT_EQ(ascii::upper("starttls"), "STARTTLS");
  // Bytes above 0x7f are never letters here, whatever the C locale thinks (Latin-1 0xC9 'É').
  EXPECT_EQ(ascii::lower("\xC9"), "\xC9");
  EXPECT_EQ(ascii::upper("\xE9"), "\xE9");
  EXPECT_EQ(ascii::lower('['), '[');
  EXPECT_EQ(ascii::upper('`'), '`');
}

TEST(Ascii, CaseInsensitiveComparison) {
  EXPECT_TRUE(ascii::iequals("XCLIENT", "xclient"));
  EXPECT_FALSE(ascii::iequals("XCLIENT", "XCLIENTS"));
  EXPECT_FALSE(ascii::iequals("K", "\xE2\x84\xAA"));   // KELVIN SIGN is not K in SMTP
  EXPECT_TRUE(ascii::istarts_with("from:<x>", "FROM:"));
  EXPECT_FALSE(ascii::istarts_with("fro", "FROM:"));
}

TEST(LogText, PrintableAsciiPassesThrough) {
  EXPECT_EQ(log_text::sanitize("250 2.1.5 Ok"), "250 2.1.5 Ok");
}

TEST(LogText, ControlsC1AndBidiAreEscaped) {
  // CSI as C1 (U+009B in UTF-8), NEL (U+0085), RIGHT-TO-LEFT OVERRIDE (U+202E), ESC, CR, LF, NUL, DEL.
  std::string hostile = "x\xc2\x9b" "2J\xc2\x85y\xe2\x80\xae" "z\x1b[31m\r\n" + std::string(1, '\0') + "\x7f";
  std::string out = log_text::sanitize(hostile);
  for (unsigned char c : out) {
    EXPECT_GE(c, 0x20);
    EXPECT_LT(c, 0x7f);
  }
  EXPECT_EQ(out, "x??2J??y???z?[31m????");
}

TEST(LogText, LongTextIsCut) {
  std::string out = log_text::sanitize(std::string(1000, 'a'), 10);
  EXPECT_EQ(out, "aaaaaaaaaa...");
}

}  // namespace
}  // namespace mxguard
