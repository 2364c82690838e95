// session::ReplyQueue: command order, the awaited entries, and a queue that never empties.
#include "proxy/session/reply_queue.h"

#include <gtest/gtest.h>

namespace mxguard::session {
namespace {

enum class Kind { Ehlo = 1, Mail, DataEnd };

smtp::Reply reply(int code, std::string text) { return smtp::Reply{code, {std::move(text)}}; }

TEST(ReplyQueue, EntriesLeaveInTheOrderTheyCameAwaitedOrNot) {
  ReplyQueue q;
  q.push_awaited(Kind::Ehlo);
  q.push_local(reply(250, "local"));
  q.push_awaited(Kind::DataEnd, /*data_end=*/true);
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q.awaited(), 2u);
  EXPECT_TRUE(q.awaiting_data_end());
  EXPECT_EQ(q.pop().kind, static_cast<int>(Kind::Ehlo));
  Pending local = q.pop();
  EXPECT_FALSE(local.awaited());
  EXPECT_EQ(local.local.lines.front(), "local");
  ASSERT_NE(q.first_awaited(), nullptr);
  EXPECT_TRUE(q.first_awaited()->data_end);
  EXPECT_EQ(q.pop().kind, static_cast<int>(Kind::DataEnd));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.first_awaited(), nullptr);
}

TEST(ReplyQueue, TheFirstAwaitedCanBeAnsweredLocallyInItsPlace) {
  ReplyQueue q;
  q.push_local(reply(250, "first"));
  q.push_awaited(Kind::Mail);
  q.push_awaited(Kind::Ehlo);
  EXPECT_TRUE(q.answer_first_awaited(reply(451, "instead")));
  EXPECT_EQ(q.awaited(), 1u);
  q.pop();
  Pending p = q.pop();
  EXPECT_FALSE(p.awaited());
  EXPECT_EQ(p.local.code, 451);
  EXPECT_EQ(q.front().kind, static_cast<int>(Kind::Ehlo));
}

TEST(ReplyQueue, DroppingTheAwaitedKeepsTheLocalRepliesInOrder) {
  ReplyQueue q;
  q.push_awaited(Kind::Mail);
  q.push_local(reply(250, "a"));
  q.push_awaited(Kind::Mail);
  q.push_local(reply(250, "b"));
  q.drop_awaited();
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q.pop().local.lines.front(), "a");
  EXPECT_EQ(q.pop().local.lines.front(), "b");
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.answer_first_awaited(reply(421, "x")));
}

TEST(ReplyQueue, AQueueThatNeverEmptiesKeepsItsOrderThroughCompaction) {
  // A pipelining client keeps entries waiting at every moment: the consumed ones must be reclaimed
  // without losing or reordering any.
  ReplyQueue q;
  int next_pushed = 0;
  int next_popped = 0;
  for (int round = 0; round < 1000; ++round) {
    q.push_local(reply(250, std::to_string(next_pushed++)));
    q.push_local(reply(250, std::to_string(next_pushed++)));
    ASSERT_EQ(q.pop().local.lines.front(), std::to_string(next_popped++));
  }
  EXPECT_EQ(q.size(), 1000u);
  while (!q.empty()) ASSERT_EQ(q.pop().local.lines.front(), std::to_string(next_popped++));
  EXPECT_EQ(next_popped, next_pushed);
}

}  // namespace
}  // namespace mxguard::session
