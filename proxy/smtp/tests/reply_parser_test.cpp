#include "proxy/smtp/reply_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace mxguard::smtp {
namespace {

using Lines = std::vector<std::string>;

TEST(ReplyParser, SingleLineReply) {
  ReplyParse p = parse_reply("220 mx.example ESMTP\r\n");
  ASSERT_EQ(p.status, ReplyStatus::Complete);
  EXPECT_EQ(p.reply.code, 220);
  EXPECT_EQ(p.reply.lines, Lines{"mx.example ESMTP"});
  EXPECT_EQ(p.consumed, 22u);
  EXPECT_EQ(p.reply.klass(), 2);
}

TEST(ReplyParser, MultiLineReplyStopsAfterLastLine) {
  std::string in = "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n354 next";
  ReplyParse p = parse_reply(in);
  ASSERT_EQ(p.status, ReplyStatus::Complete);
  EXPECT_EQ(p.reply.code, 250);
  EXPECT_EQ(p.reply.lines, (Lines{"mx.example", "PIPELINING", "SIZE 1000"}));
  EXPECT_EQ(in.substr(p.consumed), "354 next");
}

TEST(ReplyParser, CodeWithoutTextIsLastLineWithEmptyText) {
  ReplyParse p = parse_reply("250\r\n");
  ASSERT_EQ(p.status, ReplyStatus::Complete);
  EXPECT_EQ(p.reply.lines, Lines{""});
  EXPECT_EQ(p.consumed, 5u);
}

TEST(ReplyParser, EmptyContinuationTextIsKept) {
  ReplyParse p = parse_reply("250-\r\n250 ok\r\n");
  ASSERT_EQ(p.status, ReplyStatus::Complete);
  EXPECT_EQ(p.reply.lines, (Lines{"", "ok"}));
}

TEST(ReplyParser, BareLfEndsLinesAndNoCrIsKept) {
  ReplyParse p = parse_reply("250-a\n250 b\nX");
  ASSERT_EQ(p.status, ReplyStatus::Complete);
  EXPECT_EQ(p.reply.lines, (Lines{"a", "b"}));
  EXPECT_EQ(p.consumed, 12u);
}

TEST(ReplyParser, DifferentCodesAcrossLinesAreMalformed) {
  ReplyParse p = parse_reply("250-a\r\n251 b\r\n");
  EXPECT_EQ(p.status, ReplyStatus::Malformed);
  EXPECT_EQ(p.consumed, 0u);
  EXPECT_NE(p.error.find("line 2"), std::string::npos);
}

TEST(ReplyParser, FourDigitCodeIsMalformed) {
  EXPECT_EQ(parse_reply("2500 x\r\n").status, ReplyStatus::Malformed);
}

TEST(ReplyParser, NonDigitsAreMalformedWithoutWaitingForLf) {
  EXPECT_EQ(parse_reply("abc\r\n").status, ReplyStatus::Malformed);
  EXPECT_EQ(parse_reply("HTTP/1.1 400").status, ReplyStatus::Malformed);
  EXPECT_EQ(parse_reply("2x").status, ReplyStatus::Malformed);
}

TEST(ReplyParser, CodeRangesFollowRfc5321) {
  // Reply-code = %x32-35 %x30-35 %x30-39 (RFC 5321 §4.2): 2..5, then 0..5, then any digit.
  EXPECT_EQ(parse_reply("199 x\r\n").status, ReplyStatus::Malformed);
  EXPECT_EQ(parse_reply("600 x\r\n").status, ReplyStatus::Malformed);
  EXPECT_EQ(parse_reply("259 x\r\n").status, ReplyStatus::Complete);
  EXPECT_EQ(parse_reply("260 x\r\n").status, ReplyStatus::Malformed);
  EXPECT_EQ(parse_reply("270 x\r\n").status, ReplyStatus::Malformed);
  EXPECT_EQ(parse_reply("559 x\r\n").status, ReplyStatus::Complete);
  EXPECT_EQ(parse_reply("200\r\n").reply.code, 200);
}

TEST(ReplyParser, ShortOrEmptyLinesAreMalformed) {
  EXPECT_EQ(parse_reply("25\r\n").status, ReplyStatus::Malformed);
  EXPECT_EQ(parse_reply("\r\n").status, ReplyStatus::Malformed);
  EXPECT_EQ(parse_reply("\n").status, ReplyStatus::Malformed);
}

TEST(ReplyParser, BadSeparatorIsMalformed) {
  EXPECT_EQ(parse_reply("250_x\r\n").status, ReplyStatus::Malformed);
  EXPECT_EQ(parse_reply("250\tx\r\n").status, ReplyStatus::Malformed);
}

TEST(ReplyParser, ControlBytesInTextAreMalformedButTabIsNot) {
  EXPECT_EQ(parse_reply(std::string("250 a\0b\r\n", 9)).status, ReplyStatus::Malformed);
  EXPECT_EQ(parse_reply("250 a\rb\r\n").status, ReplyStatus::Malformed);
  EXPECT_EQ(parse_reply("250 a\x1b[31m\r\n").status, ReplyStatus::Malformed);
  EXPECT_EQ(parse_reply("250 a\x7f\r\n").status, ReplyStatus::Malformed);
  ReplyParse tab = parse_reply("250 a\tb\r\n");
  ASSERT_EQ(tab.status, ReplyStatus::Complete);
  EXPECT_EQ(tab.reply.lines, Lines{"a\tb"});
}

TEST(ReplyParser, Utf8TextIsAccepted) {
  ReplyParse p = parse_reply("250 ok \xc3\xa9t\xc3\xa9\r\n");
  ASSERT_EQ(p.status, ReplyStatus::Complete);
  EXPECT_EQ(p.reply.lines, Lines{"ok \xc3\xa9t\xc3\xa9"});
}

TEST(ReplyParser, ErrorTextIsPrintableAscii) {
  for (std::string in : {std::string("250 \x01\xff\r\n"), std::string("\xff\xfe"), std::string(5000, '2')}) {
    ReplyParse p = parse_reply(in);
    ASSERT_NE(p.status, ReplyStatus::Complete);
    ASSERT_FALSE(p.error.empty());
    for (char c : p.error) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << p.error;
  }
}

TEST(ReplyParser, MoreThanMaxLinesIsTooLong) {
  std::string in;
  for (int i = 0; i < 3; ++i) in += "250-x\r\n";
  in += "250 end\r\n";
  EXPECT_EQ(parse_reply(in, 2048, 4).status, ReplyStatus::Complete);
  ReplyParse p = parse_reply(in, 2048, 3);
  EXPECT_EQ(p.status, ReplyStatus::TooLong);
  // Detected as soon as the third continuation line is seen, without waiting for the rest.
  EXPECT_EQ(parse_reply("250-x\r\n250-x\r\n250-x\r\n", 2048, 3).status, ReplyStatus::TooLong);
}

TEST(ReplyParser, LineLimitCountsTerminator) {
  std::string ok = "250 " + std::string(4, 'a') + "\r\n";   // 10 bytes
  EXPECT_EQ(parse_reply(ok, 10).status, ReplyStatus::Complete);
  EXPECT_EQ(parse_reply("250 " + std::string(5, 'a') + "\r\n", 10).status, ReplyStatus::TooLong);
  EXPECT_EQ(parse_reply("250 " + std::string(5, 'a') + "\n", 10).status, ReplyStatus::Complete);
}

TEST(ReplyParser, OverlongPartialLineIsTooLongBeforeItsEnd) {
  EXPECT_EQ(parse_reply("250 " + std::string(5, 'a'), 10).status, ReplyStatus::NeedMore);
  EXPECT_EQ(parse_reply("250 " + std::string(6, 'a'), 10).status, ReplyStatus::TooLong);
}

TEST(ReplyParser, PartialInputNeedsMoreAndConsumesNothing) {
  for (std::string_view in : {"", "2", "25", "250", "250-", "250 ok", "250 ok\r", "250-a\r\n", "250-a\r\n250",
                              "250-a\r\n250 b"}) {
    ReplyParse p = parse_reply(in);
    EXPECT_EQ(p.status, ReplyStatus::NeedMore) << in;
    EXPECT_EQ(p.consumed, 0u) << in;
  }
}

TEST(ReplyParser, PartialMultiLineWithWrongCodeIsMalformedEarly) {
  EXPECT_EQ(parse_reply("250-a\r\n251").status, ReplyStatus::Malformed);
}

TEST(ReplyParser, EveryPrefixOfAValidReplyNeedsMore) {
  std::string in = "250-mx.example\r\n250-8BITMIME\r\n250 SIZE 10\r\n";
  for (std::size_t n = 0; n < in.size(); ++n) {
    EXPECT_EQ(parse_reply(in.substr(0, n)).status, ReplyStatus::NeedMore) << n;
  }
  EXPECT_EQ(parse_reply(in).status, ReplyStatus::Complete);
}

TEST(ReplyParser, SerializeWritesContinuationsAndLastLine) {
  Reply r{250, {"mx.example", "", "SIZE 10"}};
  EXPECT_EQ(r.serialize(), "250-mx.example\r\n250-\r\n250 SIZE 10\r\n");
  EXPECT_EQ((Reply{354, {""}}).serialize(), "354\r\n");
  EXPECT_EQ((Reply{221, {}}).serialize(), "221\r\n");
  EXPECT_EQ((Reply{220, {"2.0.0 Ready"}}).serialize(), "220 2.0.0 Ready\r\n");
}

TEST(ReplyParser, SerializeRoundTrips) {
  for (std::string in : {"250-mx.example\r\n250-\r\n250 SIZE 10\r\n", "354\r\n", "221 2.0.0 Bye\r\n",
                         "550-a\tb\r\n550 c\r\n"}) {
    ReplyParse p = parse_reply(in);
    ASSERT_EQ(p.status, ReplyStatus::Complete) << in;
    EXPECT_EQ(p.reply.serialize(), in);
    EXPECT_EQ(parse_reply(p.reply.serialize()).reply.lines, p.reply.lines);
  }
}

TEST(ReplyParser, SerializeNormalisesBareLfToCrlf) {
  ReplyParse p = parse_reply("250-a\n250 b\n");
  ASSERT_EQ(p.status, ReplyStatus::Complete);
  EXPECT_EQ(p.reply.serialize(), "250-a\r\n250 b\r\n");
}

}  // namespace
}  // namespace mxguard::smtp
