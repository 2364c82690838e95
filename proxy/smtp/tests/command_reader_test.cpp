#include "proxy/smtp/command_reader.h"

#include <gtest/gtest.h>

#include <string>

namespace mxguard::smtp {
namespace {

// Feeds `input` in one piece and collects what the reader makes of it, as a session would.
std::vector<std::string> read_all(CommandReader& reader, std::string input) {
  std::vector<std::string> out;
  for (;;) {
    CommandRead r = reader.next(input);
    std::string line(r.line);   // a view into the input: copied before the input moves on
    input.erase(0, r.consumed);
    if (r.status == ReadStatus::NeedMore) {
      if (r.consumed == 0) break;
      continue;
    }
    if (r.status == ReadStatus::Refuse) {
      out.push_back("refuse:" + std::to_string(static_cast<int>(r.refusal)));
    } else {
      out.push_back(line + (r.forbidden_control ? " [ctl]" : ""));
    }
  }
  if (!input.empty()) out.push_back("left:" + input);
  return out;
}

std::string refuse(ReplyId id) { return "refuse:" + std::to_string(static_cast<int>(id)); }

TEST(CommandReader, SplitsPipelinedLines) {
  CommandReader r(64);
  EXPECT_EQ(read_all(r, "EHLO a\r\nMAIL FROM:<>\r\nRCPT TO:<b@c>\r\nDA"),
            (std::vector<std::string>{"EHLO a", "MAIL FROM:<>", "RCPT TO:<b@c>", "left:DA"}));
}

TEST(CommandReader, BareLfIsRefusedNotPassedOn) {
  CommandReader r(64);
  EXPECT_EQ(read_all(r, "NOOP\nQUIT\r\n"), (std::vector<std::string>{refuse(ReplyId::BareLfInCommand), "QUIT"}));
}

TEST(CommandReader, ControlBytesAreFlagged) {
  CommandReader r(64);
  EXPECT_EQ(read_all(r, std::string("NO\0OP\r\nHELO x\ty\r\n", 17)),
            (std::vector<std::string>{std::string("NO\0OP [ctl]", 11), "HELO x\ty"}));
}

TEST(CommandReader, OverlongLineIsRefusedOnceAndSkippedAcrossReads) {
  CommandReader r(10);
  EXPECT_EQ(read_all(r, std::string(30, 'a')), (std::vector<std::string>{refuse(ReplyId::LineTooLong)}));
  EXPECT_TRUE(r.skipping());
  EXPECT_EQ(read_all(r, std::string(50, 'b')), (std::vector<std::string>{}));   // still the same line
  EXPECT_EQ(read_all(r, "bbb\r\nNOOP\r\n"), (std::vector<std::string>{"NOOP"}));
  EXPECT_FALSE(r.skipping());
}

TEST(CommandReader, LimitCountsTheCrlf) {
  CommandReader r(6);
  EXPECT_EQ(read_all(r, "NOOP\r\n"), (std::vector<std::string>{"NOOP"}));
  EXPECT_EQ(read_all(r, "NOOPS\r\n"), (std::vector<std::string>{refuse(ReplyId::LineTooLong)}));
}

TEST(CommandReader, ResetForgetsTheSkip) {
  CommandReader r(10);
  read_all(r, std::string(30, 'a'));
  r.reset();
  EXPECT_EQ(read_all(r, "QUIT\r\n"), (std::vector<std::string>{"QUIT"}));
}

TEST(ReplyTable, HostnameFirstForConnectionReplies) {
  EXPECT_EQ(make_reply(ReplyId::ShuttingDown, "mx.example").serialize(),
            "421 4.3.2 mx.example Service shutting down, closing transmission channel\r\n");
  EXPECT_EQ(make_reply(ReplyId::TooManyRecipients, "mx.example").serialize(), "452 4.5.3 Error: too many recipients\r\n");
  EXPECT_EQ(make_reply(ReplyId::StarttlsFirstForSender, "h", "bank.example").lines.front(),
            "5.7.0 Must issue a STARTTLS command first: TLS is required for mail from bank.example");
}

TEST(ReplyTable, EveryEnhancedCodeAgreesWithItsClass) {
  for (int i = 0; i <= static_cast<int>(ReplyId::MessageHasBareNewline); ++i) {
    const ReplySpec& s = spec(static_cast<ReplyId>(i));
    ASSERT_FALSE(s.enhanced.empty());
    EXPECT_EQ(s.enhanced.front() - '0', s.code / 100) << s.code << " " << s.enhanced;
  }
}

}  // namespace
}  // namespace mxguard::smtp
