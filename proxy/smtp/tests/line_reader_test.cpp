#include "proxy/smtp/line_reader.h"

#include <gtest/gtest.h>

#include <string>

namespace mxguard::smtp {
namespace {

TEST(LineReader, CrlfLineIsCompleteWithoutTerminator) {
  LineResult r = next_line("EHLO a.example\r\nMAIL", 100);
  EXPECT_EQ(r.status, LineStatus::Complete);
  EXPECT_EQ(r.line, "EHLO a.example");
  EXPECT_EQ(r.consumed, 16u);
  EXPECT_FALSE(r.bare_lf);
}

TEST(LineReader, BareLfEndsLineAndIsReported) {
  LineResult r = next_line("NOOP\nQUIT\r\n", 100);
  EXPECT_EQ(r.status, LineStatus::Complete);
  EXPECT_EQ(r.line, "NOOP");
  EXPECT_EQ(r.consumed, 5u);
  EXPECT_TRUE(r.bare_lf);
}

TEST(LineReader, LoneLfIsAnEmptyBareLfLine) {
  LineResult r = next_line("\n", 100);
  EXPECT_EQ(r.status, LineStatus::Complete);
  EXPECT_EQ(r.line, "");
  EXPECT_TRUE(r.bare_lf);
  EXPECT_EQ(r.consumed, 1u);
}

TEST(LineReader, EmptyCrlfLineIsComplete) {
  LineResult r = next_line("\r\nX", 100);
  EXPECT_EQ(r.status, LineStatus::Complete);
  EXPECT_EQ(r.line, "");
  EXPECT_FALSE(r.bare_lf);
  EXPECT_EQ(r.consumed, 2u);
}

TEST(LineReader, CrInsideLineStaysInLine) {
  LineResult r = next_line("NO\rOP\r\n", 100);
  EXPECT_EQ(r.status, LineStatus::Complete);
  EXPECT_EQ(r.line, "NO\rOP");
  EXPECT_FALSE(r.bare_lf);
}

TEST(LineReader, PartialLineNeedsMoreAndConsumesNothing) {
  for (std::string_view in : {"", "EHLO", "EHLO x\r"}) {
    LineResult r = next_line(in, 100);
    EXPECT_EQ(r.status, LineStatus::NeedMore) << in;
    EXPECT_EQ(r.consumed, 0u) << in;
  }
}

TEST(LineReader, LineOfExactlyMaxWithCrlfIsComplete) {
  std::string in = std::string(8, 'a') + "\r\n";
  LineResult r = next_line(in, 10);
  EXPECT_EQ(r.status, LineStatus::Complete);
  EXPECT_EQ(r.line, std::string(8, 'a'));
  EXPECT_EQ(r.consumed, 10u);
}

TEST(LineReader, OneCharacterOverMaxIsTooLongAndTerminated) {
  std::string in = std::string(9, 'a') + "\r\nNEXT\r\n";
  LineResult r = next_line(in, 10);
  EXPECT_EQ(r.status, LineStatus::TooLong);
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.consumed, 11u);
  EXPECT_EQ(next_line(std::string_view(in).substr(r.consumed), 10).line, "NEXT");
}

TEST(LineReader, BareLfLineCountsItsOneByteTerminator) {
  EXPECT_EQ(next_line(std::string(9, 'a') + "\n", 10).status, LineStatus::Complete);
  EXPECT_EQ(next_line(std::string(10, 'a') + "\n", 10).status, LineStatus::TooLong);
}

TEST(LineReader, UnterminatedInputAtLimitIsTooLongAndConsumedWhole) {
  // With max 10, nine bytes could still end in LF; ten can't make a legal line any more.
  EXPECT_EQ(next_line(std::string(9, 'a'), 10).status, LineStatus::NeedMore);
  std::string in(10, 'a');
  LineResult r = next_line(in, 10);
  EXPECT_EQ(r.status, LineStatus::TooLong);
  EXPECT_FALSE(r.terminated);
  EXPECT_EQ(r.consumed, 10u);
}

TEST(LineReader, CrAtLimitWithoutLfIsTooLong) {
  // 9 characters + CR = 10 bytes: the LF would make 11.
  LineResult r = next_line(std::string(9, 'a') + "\r", 10);
  EXPECT_EQ(r.status, LineStatus::TooLong);
  EXPECT_FALSE(r.terminated);
}

TEST(LineReader, SkipStopsAfterLfAndReportsIt) {
  SkipResult s = skip_to_line_end("aaaa\nQUIT\r\n");
  EXPECT_TRUE(s.found_end);
  EXPECT_EQ(s.consumed, 5u);
}

TEST(LineReader, SkipWithoutLfConsumesAll) {
  SkipResult s = skip_to_line_end("aaaa\r");
  EXPECT_FALSE(s.found_end);
  EXPECT_EQ(s.consumed, 5u);
  EXPECT_EQ(skip_to_line_end("").consumed, 0u);
}

TEST(LineReader, OverlongLineSplitAcrossReadsResyncsOnNextLine) {
  // What the session does: TooLong (unterminated), skip pieces, then read the next line normally.
  std::string buffer = std::string(20, 'x');
  LineResult r = next_line(buffer, 10);
  ASSERT_EQ(r.status, LineStatus::TooLong);
  ASSERT_FALSE(r.terminated);
  buffer.erase(0, r.consumed);
  buffer += "yyyy";
  SkipResult s = skip_to_line_end(buffer);
  EXPECT_FALSE(s.found_end);
  buffer.erase(0, s.consumed);
  buffer += "zz\r\nQUIT\r\n";
  s = skip_to_line_end(buffer);
  EXPECT_TRUE(s.found_end);
  buffer.erase(0, s.consumed);
  r = next_line(buffer, 10);
  EXPECT_EQ(r.status, LineStatus::Complete);
  EXPECT_EQ(r.line, "QUIT");
}

}  // namespace
}  // namespace mxguard::smtp
