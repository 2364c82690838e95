// Fairness within one loop and the junk-command limit (session_test_harness.h): a session that pipelines
// without pause takes turns of a bounded size and waits in line between them, so another session on the
// same loop is served while the flood is still being handled; what the flood is owed still arrives whole
// and in order.
#include <algorithm>

#include "proxy/session/tests/session_test_harness.h"

namespace mxguard::session::test {
namespace {

std::string noops(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += "NOOP\r\n";
  return s;
}

// Sends `bytes` as fast as the socket takes them, running the loop meanwhile; `sent` says how far it got.
struct Sender {
  const std::string bytes;
  std::size_t sent = 0;
  void push(Client& c) {
    while (sent < bytes.size()) {
      ssize_t n = ::send(c.fd(), bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  }
  bool done() const { return sent == bytes.size(); }
};

std::size_t lines_of(const std::vector<std::string>& journal, const std::string& who, std::size_t upto) {
  return static_cast<std::size_t>(std::count_if(journal.begin(), journal.begin() + static_cast<std::ptrdiff_t>(upto),
                                                [&](const std::string& l) { return l.rfind(who + ":", 0) == 0; }));
}

TEST_F(SessionCoreTest, AFloodingSessionCannotKeepAnotherFromItsTurn) {
  limits_.max_junk_commands = 1000000;   // the flood is what is measured here, not the junk limit
  many_sessions_ = true;
  connect_and_greet();                   // session 1: the flood
  Client& other = another_client();      // session 2: one command, sent while the flood is handled
  ASSERT_TRUE(run_until([&] {
    other.pump();
    return other.has_line_starting("220 ");
  }));
  const std::size_t n = 20000;
  Sender flood{noops(n)};
  bool asked = false;
  ASSERT_TRUE(run_until(
      [&] {
        flood.push(client_);
        other.pump();
        if (!asked && !session_->lines.empty()) {
          other.send("NOOP\r\n");
          asked = true;
        }
        return other.line_count() == 2;
      },
      10s));
  auto at = std::find(journal_.begin(), journal_.end(), "session 2: NOOP");
  ASSERT_NE(at, journal_.end());
  std::size_t flood_lines_before = lines_of(journal_, "session 1", static_cast<std::size_t>(at - journal_.begin()));
  // Sent when the flood's first turn had run; a handful of turns later it is answered. Without turns of a
  // bounded size the flood's whole read (thousands of commands) went first.
  EXPECT_LT(flood_lines_before, 10 * kCommandsPerTurn)
      << flood_lines_before << " of the flood's " << n << " commands were handled before the other session's one";

  // The flood still gets every reply, in order.
  ASSERT_TRUE(run_until(
      [&] {
        flood.push(client_);
        return client_.line_count() == n + 1;
      },
      20s));
  EXPECT_EQ(session_->lines.size(), n);
  EXPECT_EQ(replies_after_greeting(), std::vector<std::string>(n, "250 2.0.0 Ok"));
}

TEST_F(SessionCoreTest, ALongBurstTakesTurnsOfBoundedSizeEachAnsweredInOneWrite) {
  limits_.max_junk_commands = 1000;
  connect_and_greet();
  std::uint64_t writes_before = session_->client_write_calls();
  std::uint64_t turns_before = turns_->served();
  const std::size_t n = 10 * kCommandsPerTurn + 3;
  client_.send(noops(n));
  ASSERT_TRUE(run_until([&] { return replies_after_greeting().size() == n; }));
  std::uint64_t queued_turns = turns_->served() - turns_before;
  // The first turn is the read's own (two, if the kernel split the burst); every later one waits in line.
  EXPECT_GE(queued_turns, n / kCommandsPerTurn - 2);
  EXPECT_LE(session_->client_write_calls() - writes_before, queued_turns + 2) << "at most one write per turn";
  EXPECT_EQ(session_->lines.size(), n);
}

TEST_F(SessionCoreTest, HalfCloseAfterALongBurstStillGetsEveryReplyThenTheClose) {
  limits_.max_junk_commands = 1000;
  connect_and_greet();
  const std::size_t n = 20 * kCommandsPerTurn;
  client_.send(noops(n) + "FAR last\r\n");
  client_.half_close();
  ASSERT_TRUE(run_until([&] { return session_ && session_->awaited() == 1; }));
  run_for(30ms);
  ASSERT_NE(session_, nullptr) << "closed with a reply still owed";
  session_->answer_ok("last");
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  auto got = replies_after_greeting();
  ASSERT_EQ(got.size(), n + 1);
  EXPECT_EQ(got.back(), "250 last");
  EXPECT_FALSE(client_.saw_reset());
}

TEST_F(SessionCoreTest, ASessionThatEndsWhileWaitingInLineIsNeverCalled) {
  limits_.max_junk_commands = 1000;
  connect_and_greet();
  client_.send(noops(3 * kCommandsPerTurn) + "KILL\r\n" + noops(3 * kCommandsPerTurn));
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_EQ(turns_->waiting(), 0u);
  EXPECT_EQ(finished_, 1);
}

TEST_F(SessionCoreTest, AClientResetDuringALongBurstEndsTheSession) {
  limits_.max_junk_commands = 1000000;
  connect_and_greet();
  client_.send(noops(5000));
  ASSERT_TRUE(run_until([&] { return !session_->lines.empty(); }));
  client_.reset();
  ASSERT_TRUE(run_until([&] { return finished_ == 1 && session_ == nullptr; }, 5s));
  EXPECT_EQ(turns_->waiting(), 0u);
}

// ------------------------------------------------------------------------------------- junk commands

TEST_F(SessionCoreTest, TheJunkCommandPastTheLimitGets421AfterTheRepliesStillOwed) {
  limits_.max_junk_commands = 3;
  connect_and_greet();
  client_.send("FAR a\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n");
  ASSERT_TRUE(run_until([&] { return session_->lines.size() == 5; }));
  run_for(30ms);
  EXPECT_EQ(session_->lines.size(), 5u) << "nothing after the fourth NOOP is read";
  EXPECT_TRUE(replies_after_greeting().empty()) << "the 421 waits behind the reply owed to FAR a";
  session_->answer_ok("a");
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_EQ(replies_after_greeting(),
            (std::vector<std::string>{"250 a", "250 2.0.0 Ok", "250 2.0.0 Ok", "250 2.0.0 Ok",
                                      "421 4.7.0 mx.test Error: too many junk commands"}));
}

TEST_F(SessionCoreTest, AnAcceptedMessageForgivesTheJunkCommandsBeforeIt) {
  limits_.max_junk_commands = 3;
  connect_and_greet();
  client_.send("NOOP\r\nNOOP\r\nNOOP\r\nSENT\r\nNOOP\r\nNOOP\r\nNOOP\r\nQUIT\r\n");
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  auto got = replies_after_greeting();
  ASSERT_EQ(got.size(), 8u);
  EXPECT_EQ(got[3], "250 2.0.0 Ok");
  EXPECT_EQ(got.back(), "221 2.0.0 Bye");
}

}  // namespace
}  // namespace mxguard::session::test
