// The session core's own logic (session_test_harness.h): pipelining, the error budget, owed replies and
// half-close, the command deadline, the ways a session ends, opening and drain.
#include "proxy/session/tests/session_test_harness.h"

namespace mxguard::session::test {
namespace {

// ------------------------------------------------------------------------------------------- pipelining

TEST_F(SessionCoreTest, PipelinedRepliesLeaveInCommandOrderInFewWrites) {
  connect_and_greet();
  std::uint64_t writes_before = session_->client_write_calls();
  client_.send("FAR a\r\nNOOP\r\nFAR b\r\nBAD\r\nNOOP\r\n");
  ASSERT_TRUE(run_until([&] { return session_->lines.size() == 5; }));
  EXPECT_EQ(session_->awaited(), 2u);
  EXPECT_EQ(session_->owed(), 5u) << "the local replies wait behind the first awaited one";
  run_for(50ms);
  EXPECT_EQ(replies_after_greeting().size(), 0u) << "nothing may overtake the reply to FAR a";
  EXPECT_EQ(session_->client_write_calls(), writes_before);

  session_->answer_ok("a");
  ASSERT_TRUE(run_until([&] { return replies_after_greeting().size() == 2; }));
  EXPECT_EQ(session_->client_write_calls(), writes_before + 1) << "the far reply and the NOOP after it: one write";
  run_for(20ms);
  EXPECT_EQ(replies_after_greeting().size(), 2u) << "the 500 waits behind FAR b";

  session_->answer_ok("b");
  ASSERT_TRUE(run_until([&] { return replies_after_greeting().size() == 5; }));
  EXPECT_EQ(session_->client_write_calls(), writes_before + 2);
  auto got = replies_after_greeting();
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0], "250 a");
  EXPECT_EQ(got[1], "250 2.0.0 Ok");
  EXPECT_EQ(got[2], "250 b");
  EXPECT_EQ(got[3], "500 5.5.2 Error: command not recognized");
  EXPECT_EQ(got[4], "250 2.0.0 Ok");
  EXPECT_EQ(session_->owed(), 0u);
  EXPECT_EQ(session_->error_count(), 1u);
}

TEST_F(SessionCoreTest, FarRepliesInOneTurnLeaveWithTheLocalOnesInOneWrite) {
  connect_and_greet();
  std::uint64_t writes_before = session_->client_write_calls();
  client_.send("NOOP\r\nFAR 1\r\nFAR 2\r\nNOOP\r\nFAR 3\r\n");
  ASSERT_TRUE(run_until([&] { return session_->lines.size() == 5 && replies_after_greeting().size() == 1; }));
  EXPECT_EQ(session_->client_write_calls(), writes_before + 1) << "the first NOOP is answered at once, in one write";
  session_->answer({smtp::Reply{250, {"1"}}, smtp::Reply{251, {"2"}}, smtp::Reply{252, {"3"}}});
  ASSERT_TRUE(run_until([&] { return replies_after_greeting().size() == 5; }));
  EXPECT_EQ(session_->client_write_calls(), writes_before + 2);
  EXPECT_EQ(replies_after_greeting(),
            (std::vector<std::string>{"250 2.0.0 Ok", "250 1", "251 2", "250 2.0.0 Ok", "252 3"}));
}

TEST_F(SessionCoreTest, ABurstOfCommandsIsAnsweredInOneWrite) {
  connect_and_greet();
  std::uint64_t writes_before = session_->client_write_calls();
  std::string burst;
  for (std::size_t i = 0; i < kCommandsPerTurn; ++i) burst += "NOOP\r\n";
  client_.send(burst);
  ASSERT_TRUE(run_until([&] { return replies_after_greeting().size() == kCommandsPerTurn; }));
  // A burst of one turn's share in one read is one turn: one write (the kernel may split the burst over
  // two reads). Longer bursts take more turns (session_fairness_test.cpp).
  EXPECT_LE(session_->client_write_calls(), writes_before + 2);
  EXPECT_GE(session_->client_write_calls(), writes_before + 1);
}

// ----------------------------------------------------------------------------------------- error budget

TEST_F(SessionCoreTest, RefusalsOfOursCountAndTheCommandAfterTheLimitGets421) {
  limits_.max_errors = 3;
  connect_and_greet();
  client_.send("BAD\r\nNOOP\r\nTEMP\r\nBAD\r\nNOOP\r\nNOOP\r\n");
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_EQ(replies_after_greeting(),
            (std::vector<std::string>{"500 5.5.2 Error: command not recognized", "250 2.0.0 Ok",
                                      "452 4.5.3 Error: too many recipients", "500 5.5.2 Error: command not recognized",
                                      "421 4.7.0 mx.test Error: too many errors"}));
  EXPECT_EQ(finished_, 1);
}

TEST_F(SessionCoreTest, FarSide5xxCountsTowardTheBudgetAndItsFourxxDoesNot) {
  limits_.max_errors = 2;
  connect_and_greet();
  client_.send("FAR a\r\n");
  ASSERT_TRUE(run_until([&] { return session_->awaited() == 1; }));
  session_->answer({smtp::Reply{450, {"far busy"}}});
  client_.send("FAR b\r\n");
  ASSERT_TRUE(run_until([&] { return session_ && session_->awaited() == 1; }));
  EXPECT_EQ(session_->error_count(), 0u) << "a 4xx of the far side's is not ours";
  session_->answer({smtp::Reply{550, {"far no"}}});
  EXPECT_EQ(session_->error_count(), 1u);
  client_.send("BAD\r\nNOOP\r\n");
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  auto got = replies_after_greeting();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], "450 far busy");
  EXPECT_EQ(got[1], "550 far no");
  EXPECT_EQ(got[2], "500 5.5.2 Error: command not recognized");
  EXPECT_EQ(got[3], "421 4.7.0 mx.test Error: too many errors");
}

TEST_F(SessionCoreTest, CommandsInFlightAreBoundedByTheErrorsStillAllowed) {
  limits_.max_errors = 3;
  connect_and_greet();
  // One error spent: only two more commands may be in flight, were they all refused.
  client_.send("BAD\r\nFAR 1\r\nFAR 2\r\nFAR 3\r\nFAR 4\r\nNOOP\r\n");
  ASSERT_TRUE(run_until([&] { return session_->awaited() == 2; }));
  run_for(30ms);
  EXPECT_EQ(session_->awaited(), 2u);
  EXPECT_EQ(session_->lines.size(), 3u) << "FAR 3 must not reach the far side yet";

  session_->answer({smtp::Reply{550, {"no 1"}}});   // errors 2: one more may be in flight, and FAR 2 is
  EXPECT_EQ(session_->lines.size(), 3u);
  EXPECT_EQ(session_->awaited(), 1u);
  session_->answer({smtp::Reply{250, {"ok 2"}}});   // errors 2, nothing in flight: FAR 3 goes
  // On the session's next turn: its commands were left over from the last one, so it waits in line.
  ASSERT_TRUE(run_until([&] { return session_->lines.size() == 4; }));
  run_for(30ms);
  EXPECT_EQ(session_->lines.size(), 4u);
  EXPECT_EQ(session_->awaited(), 1u);
  session_->answer({smtp::Reply{550, {"no 3"}}});   // errors 3: the next command gets the 421
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  auto got = replies_after_greeting();
  EXPECT_EQ(got, (std::vector<std::string>{"500 5.5.2 Error: command not recognized", "550 no 1", "250 ok 2",
                                           "550 no 3", "421 4.7.0 mx.test Error: too many errors"}));
}

// ----------------------------------------------------------------------- owed replies, half-close, end

TEST_F(SessionCoreTest, HalfCloseStillGetsEveryOwedReplyThenTheServerCloses) {
  connect_and_greet();
  client_.send("FAR a\r\nNOOP\r\nBAD\r\nFAR b\r\nNOOP\r\n");
  client_.half_close();
  ASSERT_TRUE(run_until([&] { return session_->lines.size() == 5 && session_->awaited() == 2; }));
  run_for(30ms);   // the EOF arrives meanwhile; the session must stay for what it owes
  ASSERT_NE(session_, nullptr);
  EXPECT_FALSE(client_.eof());
  session_->answer_ok("a");
  ASSERT_TRUE(run_until([&] { return replies_after_greeting().size() == 3; }));
  EXPECT_FALSE(client_.eof());
  session_->answer_ok("b");   // answered by the far side after the client's EOF
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_EQ(replies_after_greeting(),
            (std::vector<std::string>{"250 a", "250 2.0.0 Ok", "500 5.5.2 Error: command not recognized", "250 b",
                                      "250 2.0.0 Ok"}));
  EXPECT_FALSE(client_.saw_reset());
}

TEST_F(SessionCoreTest, HalfCloseWithAnUnterminatedLineClosesAfterTheOwedReplies) {
  connect_and_greet();
  client_.send("NOOP\r\nNOOP");   // the tail is never a command
  client_.half_close();
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_EQ(replies_after_greeting(), (std::vector<std::string>{"250 2.0.0 Ok"}));
}

TEST_F(SessionCoreTest, EndAfterOwedRepliesQueuesIts421BehindThemAndReadsNothingMore) {
  connect_and_greet();
  client_.send("FAR a\r\nNOOP\r\nEND\r\nNOOP\r\nFAR b\r\n");
  ASSERT_TRUE(run_until([&] { return session_->lines.size() == 3; }));
  run_for(30ms);
  EXPECT_EQ(session_->lines.size(), 3u) << "nothing after END is read";
  EXPECT_EQ(replies_after_greeting().size(), 0u) << "the 421 waits behind the reply owed to FAR a";
  session_->answer_ok("a");
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_EQ(replies_after_greeting(),
            (std::vector<std::string>{"250 a", "250 2.0.0 Ok",
                                      "421 4.3.2 mx.test Service shutting down, closing transmission channel"}));
}

TEST_F(SessionCoreTest, RefusalsDoNotDropOwedReplies) {
  limits_.max_errors = 2;
  connect_and_greet();
  client_.send("FAR a\r\nBAD\r\nNOOP\r\n");
  ASSERT_TRUE(run_until([&] { return session_->lines.size() == 2; }));
  // errors 1 + 1 awaited = the budget: NOOP waits. The far side answers; the 500 still follows in order.
  session_->answer_ok("a");
  ASSERT_TRUE(run_until([&] { return replies_after_greeting().size() == 3; }));
  EXPECT_EQ(replies_after_greeting(),
            (std::vector<std::string>{"250 a", "500 5.5.2 Error: command not recognized", "250 2.0.0 Ok"}));
}

// ------------------------------------------------------------------------------------- command deadline

TEST_F(SessionCoreTest, ADrippingClientIsCutOffAtTheCommandDeadline) {
  limits_.command_timeout = 1s;
  connect_and_greet();
  auto start = Clock::now();
  const std::string line = "NOOP this line is never finished in time\r\n";
  std::size_t sent = 0;
  bool cut = run_until(
      [&] {
        if (client_.has_line_starting("421 ")) return true;
        auto due = start + (sent + 1) * 200ms;
        if (Clock::now() >= due && sent < line.size() && !client_.eof()) {
          ::send(client_.fd(), line.data() + sent, 1, MSG_NOSIGNAL);
          ++sent;
        }
        return false;
      },
      2s);
  auto elapsed = Clock::now() - start;
  ASSERT_TRUE(cut) << "no 421 after 2 s of dripping";
  EXPECT_GE(sent, 4u) << "the drip was running";
  EXPECT_LT(elapsed, 1500ms);
  EXPECT_GE(elapsed, 800ms);
  EXPECT_EQ(replies_after_greeting(), (std::vector<std::string>{"421 4.4.2 mx.test Error: timeout exceeded"}));
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_TRUE(session_ == nullptr || session_->lines.empty());
}

TEST_F(SessionCoreTest, WholeLinesWithinTheDeadlineAreNotCutOff) {
  limits_.command_timeout = 1s;
  connect_and_greet();
  for (int i = 1; i <= 4; ++i) {
    run_for(500ms);
    ASSERT_NE(session_, nullptr) << "cut off before line " << i;
    client_.send("NOOP\r\n");
    ASSERT_TRUE(run_until([&] { return replies_after_greeting().size() == static_cast<std::size_t>(i); }));
  }
  EXPECT_FALSE(client_.has_line_starting("421 "));
  client_.send("QUIT\r\n");
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_EQ(replies_after_greeting().back(), "221 2.0.0 Bye");
}

TEST_F(SessionCoreTest, TheFarSidesReplyIsTimedNotTheClient) {
  limits_.command_timeout = 1s;
  limits_.reply_timeout = 5s;
  connect_and_greet();
  client_.send("FAR a\r\n");
  ASSERT_TRUE(run_until([&] { return session_->awaited() == 1; }));
  run_for(1300ms);   // past command_timeout: the client waits for us, it is not idle
  ASSERT_NE(session_, nullptr);
  EXPECT_FALSE(client_.has_line_starting("421 "));
  session_->answer_ok("a");
  ASSERT_TRUE(run_until([&] { return replies_after_greeting().size() == 1; }));
  client_.send("QUIT\r\n");
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
}

// ------------------------------------------------------------------------------------------ the endings

TEST_F(SessionCoreTest, FailFinishesOnce) {
  connect_and_greet();
  client_.send("FAR a\r\nFAIL\r\n");
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_EQ(replies_after_greeting(),
            (std::vector<std::string>{"421 4.3.0 mx.test Mail server error, try again later"}))
      << "fail drops what is owed and says its 421";
  run_for(20ms);
  EXPECT_EQ(finished_, 1);
}

TEST_F(SessionCoreTest, ClosingReplyFinishesOnce) {
  connect_and_greet();
  client_.send("NOOP\r\nQUIT\r\nNOOP\r\n");
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_EQ(replies_after_greeting(), (std::vector<std::string>{"250 2.0.0 Ok", "221 2.0.0 Bye"}));
  run_for(20ms);
  EXPECT_EQ(finished_, 1);
}

TEST_F(SessionCoreTest, CloseGracefullyFinishesOnce) {
  connect_and_greet();
  client_.send("NOOP\r\nCLOSE\r\n");
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_EQ(replies_after_greeting(), (std::vector<std::string>{"250 2.0.0 Ok"}));
  run_for(20ms);
  EXPECT_EQ(finished_, 1);
}

TEST_F(SessionCoreTest, FinishFinishesOnce) {
  connect_and_greet();
  client_.send("FAR a\r\nKILL\r\n");
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_TRUE(replies_after_greeting().empty());
  run_for(20ms);
  EXPECT_EQ(finished_, 1);
}

TEST_F(SessionCoreTest, ClientResetFinishesOnce) {
  connect_and_greet();
  client_.send("FAR a\r\n");
  ASSERT_TRUE(run_until([&] { return session_->awaited() == 1; }));
  client_.reset();
  ASSERT_TRUE(run_until([&] { return finished_ == 1 && session_ == nullptr; }));
  run_for(20ms);
  EXPECT_EQ(finished_, 1);
}

TEST_F(SessionCoreTest, ClientResetAfterHalfCloseFinishesOnce) {
  connect_and_greet();
  client_.send("FAR a\r\n");
  client_.half_close();
  ASSERT_TRUE(run_until([&] { return session_->awaited() == 1; }));
  run_for(20ms);
  client_.reset();
  run_for(20ms);
  if (session_) session_->answer_ok("a");   // written toward a client that is gone
  ASSERT_TRUE(run_until([&] { return finished_ == 1 && session_ == nullptr; }));
  run_for(20ms);
  EXPECT_EQ(finished_, 1);
}

TEST_F(SessionCoreTest, ObserversHearTheStartFirstAndTheEndLastOnce) {
  connect_and_greet();
  client_.send("QUIT\r\n");
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_EQ(observer_.starts, 1);
  EXPECT_EQ(observer_.ends, 1);
  EXPECT_FALSE(observer_.heard_before_start);
  EXPECT_TRUE(observer_.started_ns_set);
  // A greeted session that never used TLS is told Skipped at its end, and tls_verdict() says so then.
  EXPECT_EQ(observer_.tls, 1);
  EXPECT_EQ(observer_.verdict_at_end, audit::Verdict::Skipped);
}

TEST_F(SessionCoreTest, ASessionNeverGreetedStillStartsAndEndsForObservers) {
  hold_greeting_ = true;
  ASSERT_TRUE(client_.connect_to(port_));
  ASSERT_TRUE(run_until([&] { return session_ != nullptr; }));
  client_.reset();
  ASSERT_TRUE(run_until([&] { return finished_ == 1; }, 3s));
  EXPECT_EQ(observer_.starts, 1);
  EXPECT_EQ(observer_.ends, 1);
  EXPECT_EQ(observer_.tls, 0) << "no TLS verdict for a session that never began";
}

TEST_F(SessionCoreTest, DrainWhenIdleSays421AtOnce) {
  connect_and_greet();
  session_->drain();
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_EQ(replies_after_greeting(),
            (std::vector<std::string>{"421 4.3.2 mx.test Service shutting down, closing transmission channel"}));
}

TEST_F(SessionCoreTest, ShutdownWaitsForTheReplyStillOwed) {
  connect_and_greet();
  client_.send("FAR a\r\n");
  ASSERT_TRUE(run_until([&] { return session_->awaited() == 1; }));
  session_->shutdown();
  run_for(30ms);
  ASSERT_NE(session_, nullptr);
  session_->answer_ok("a");
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_EQ(replies_after_greeting(),
            (std::vector<std::string>{"250 a", "421 4.3.2 mx.test Service shutting down, closing transmission channel"}));
}

// Disabled: fails on the core as it is. With the client half-closed, FAR 3 is a complete command held in
// the input buffer by the error budget; when the far side answers FAR 2, flush_replies() empties the queue
// and maybe_close_after_client_eof() closes the session before process_client_input() can read FAR 3, so
// a command the client sent is never answered. Enable once the core reads what the budget held back first.
TEST_F(SessionCoreTest, HalfCloseStillAnswersCommandsHeldBackByTheErrorBudget) {
  limits_.max_errors = 3;
  connect_and_greet();
  // BAD spends one error: FAR 1 and FAR 2 go, FAR 3 waits for room in the budget.
  client_.send("BAD\r\nFAR 1\r\nFAR 2\r\nFAR 3\r\n");
  client_.half_close();
  ASSERT_TRUE(run_until([&] { return session_->awaited() == 2; }));
  run_for(30ms);   // the EOF arrives
  ASSERT_NE(session_, nullptr);
  session_->answer({smtp::Reply{550, {"no 1"}}});   // errors 2, one in flight: FAR 3 still waits
  ASSERT_NE(session_, nullptr);
  EXPECT_EQ(session_->lines.size(), 3u);
  session_->answer({smtp::Reply{250, {"ok 2"}}});   // room for FAR 3 now: it is a complete command, owed a reply
  ASSERT_TRUE(run_until([&] { return session_ == nullptr || session_->lines.size() == 4; }));
  ASSERT_NE(session_, nullptr) << "the session closed with FAR 3 read from the client but never answered";
  session_->answer({smtp::Reply{250, {"ok 3"}}});
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_EQ(replies_after_greeting(),
            (std::vector<std::string>{"500 5.5.2 Error: command not recognized", "550 no 1", "250 ok 2", "250 ok 3"}));
}

TEST_F(SessionCoreTest, HalfCloseStillAnswersCommandsBeyondThePipeliningBound) {
  limits_.max_errors = 1000;   // so that the error budget does not bound the commands in flight first
  connect_and_greet();
  std::string burst;
  for (int i = 0; i < 101; ++i) burst += "FAR " + std::to_string(i) + "\r\n";
  client_.send(burst);
  client_.half_close();
  ASSERT_TRUE(run_until([&] { return session_->awaited() == 100; }));
  run_for(30ms);
  ASSERT_NE(session_, nullptr);
  EXPECT_EQ(session_->lines.size(), 100u) << "at most 100 commands await replies";
  std::vector<smtp::Reply> all(100, smtp::Reply{250, {"ok"}});
  session_->answer(all);
  ASSERT_TRUE(run_until([&] { return session_ == nullptr || session_->awaited() == 1; }));
  ASSERT_NE(session_, nullptr);
  session_->answer_ok("last");
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  auto got = replies_after_greeting();
  ASSERT_EQ(got.size(), 101u);
  EXPECT_EQ(got.back(), "250 last");
}

// ----------------------------------------------------------------------------------- opening and drain

TEST_F(SessionCoreTest, EarlyTalkerIsRefusedAndClosed) {
  hold_greeting_ = true;
  ASSERT_TRUE(client_.connect_to(port_));
  ASSERT_TRUE(run_until([&] { return session_ != nullptr; }));
  EXPECT_EQ(session_->phase(), Phase::Opening);
  client_.send("EHLO spam.test\r\n");
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_EQ(client_.lines(), (std::vector<std::string>{"554 5.5.1 Protocol error: client spoke before the greeting"}));
}

TEST_F(SessionCoreTest, CommandsAfterALateGreetingAreTaken) {
  hold_greeting_ = true;
  ASSERT_TRUE(client_.connect_to(port_));
  ASSERT_TRUE(run_until([&] { return session_ != nullptr; }));
  run_for(30ms);
  session_->greet();
  ASSERT_TRUE(run_until([&] { return client_.has_line_starting("220 "); }));
  client_.send("NOOP\r\nQUIT\r\n");
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_EQ(replies_after_greeting(), (std::vector<std::string>{"250 2.0.0 Ok", "221 2.0.0 Bye"}));
}

TEST_F(SessionCoreTest, OpeningTimeoutIsTheDirectionsToAnswer) {
  hold_greeting_ = true;
  ASSERT_TRUE(client_.connect_to(port_));
  auto start = Clock::now();
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_LT(Clock::now() - start, 1500ms);
  EXPECT_EQ(client_.lines(), (std::vector<std::string>{"421 4.3.2 mx.test Service not available, try again later"}));
}

TEST_F(SessionCoreTest, HalfCloseDuringOpeningFinishesOnce) {
  hold_greeting_ = true;
  ASSERT_TRUE(client_.connect_to(port_));
  ASSERT_TRUE(run_until([&] { return session_ != nullptr; }));
  client_.half_close();
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_TRUE(client_.lines().empty());
}

TEST_F(SessionCoreTest, DrainAnswersOwedRepliesThen421sTheNextCommandButQuitStillWorks) {
  connect_and_greet();
  client_.send("FAR a\r\n");
  ASSERT_TRUE(run_until([&] { return session_->awaited() == 1; }));
  session_->drain();   // not idle: nothing happens yet
  run_for(20ms);
  ASSERT_NE(session_, nullptr);
  session_->answer_ok("a");
  client_.send("QUIT\r\n");
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_EQ(replies_after_greeting(), (std::vector<std::string>{"250 a", "221 2.0.0 Bye"}));
}

TEST_F(SessionCoreTest, DrainRefusesTheNextCommandWith421) {
  connect_and_greet();
  client_.send("FAR a\r\n");
  ASSERT_TRUE(run_until([&] { return session_->awaited() == 1; }));
  session_->drain();
  session_->answer_ok("a");
  client_.send("NOOP\r\n");
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_EQ(replies_after_greeting(),
            (std::vector<std::string>{"250 a", "421 4.3.2 mx.test Service shutting down, closing transmission channel"}));
}

TEST_F(SessionCoreTest, ShutdownWithNothingOwedFailsAtOnce) {
  connect_and_greet();
  client_.send("NOOP\r\n");
  ASSERT_TRUE(run_until([&] { return replies_after_greeting().size() == 1; }));
  session_->shutdown();
  ASSERT_TRUE(run_until([&] { return closed_and_finished(); }));
  EXPECT_EQ(replies_after_greeting(),
            (std::vector<std::string>{"250 2.0.0 Ok", "421 4.3.2 mx.test Service shutting down, closing transmission channel"}));
}

}  // namespace
}  // namespace mxguard::session::test
