// The session core's own logic, in one process: a minimal test direction with no far connection at all.
// Its verb table answers some commands locally and leaves others awaited; the test plays the far side by
// answering awaited entries through a public hook, in a turn of its own (as a far side's data would be).
// The client is a plain non-blocking socket the test drives, over loopback TCP to a real listener on the
// test's uv loop.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <chrono>
#include <fcntl.h>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "policy/config/config.h"
#include "proxy/session/session_core.h"
#include "proxy/uv/handle.h"

namespace mxguard::session {
namespace {

using namespace std::chrono_literals;
using smtp::ReplyId;
using Clock = std::chrono::steady_clock;

enum class Kind { Far = 1 };

// The test direction. Its verbs (the first word of the line):
//   FAR x   awaited: the test answers it through answer()
//   NOOP    250 at once          BAD   500 5.5.2 at once      TEMP  452 4.5.3 at once
//   QUIT    221, then the session closes (a closing reply)    CLOSE close_gracefully() at once
//   FAIL    fail(FarSideError)   KILL  finish()               END   end_after_owed_replies(ShuttingDown)
class TestSession : public SessionCore {
 public:
  explicit TestSession(Environment env) : SessionCore(std::move(env), /*extra_handles=*/0) {}

  // The far side answers the front awaited entries, one reply each, in one turn.
  void answer(const std::vector<smtp::Reply>& far_replies) {
    net::Corked hold(client());
    for (const smtp::Reply& r : far_replies) {
      ASSERT_FALSE(replies().empty());
      ASSERT_TRUE(replies().front().awaited()) << "a ready reply was left at the queue's front";
      replies().pop();
      arm_timer();
      relay(r);
      // As the inbound direction does after each far-side reply: what is ready leaves, then the commands
      // the reply made room for are read.
      flush_replies();
      if (phase() == Phase::Closing) return;
      if (phase() == Phase::Command) process_client_input();
    }
  }
  // The far side is set up: the greeting, and commands from then on (with hold_greeting).
  void greet() {
    net::Corked hold(client());
    mark_greeted();
    enter_phase(Phase::Command);
    reply(smtp::Reply{220, {"mx.test ESMTP test"}});
    process_client_input();
  }
  bool hold_greeting = false;     // set before start(): stay in Opening until greet()
  int opening_timeouts = 0;
  void answer_ok(const std::string& text) { answer({smtp::Reply{250, {text}}}); }

  std::size_t awaited() const { return replies().awaited(); }
  std::size_t owed() const { return replies().size(); }
  std::uint64_t client_write_calls() const { return client().write_calls(); }
  unsigned error_count() const { return errors(); }
  std::vector<std::string> lines;   // every command line handle_line saw

 protected:
  void on_accepted() override {
    if (hold_greeting) {
      arm_timer();   // the opening timeout
      return;
    }
    mark_greeted();
    enter_phase(Phase::Command);
    reply(smtp::Reply{220, {"mx.test ESMTP test"}});
  }
  void handle_line(std::string_view line, bool forbidden_control) override {
    lines.emplace_back(line);
    // The core's own checks come first, as in every direction: control bytes, a draining server.
    std::optional<smtp::Command> command = command_for(line, forbidden_control);
    if (!command) return;
    std::string verb(line.substr(0, line.find(' ')));
    if (verb == "FAR") {
      replies().push_awaited(Kind::Far);
      arm_timer();
    } else if (verb == "NOOP") {
      reply(ReplyId::Ok);
    } else if (verb == "BAD") {
      reply(ReplyId::CommandNotRecognized);
    } else if (verb == "TEMP") {
      reply(ReplyId::TooManyRecipients);
    } else if (verb == "QUIT") {
      reply(ReplyId::Bye, {}, /*closes=*/true);
    } else if (verb == "CLOSE") {
      close_gracefully();
    } else if (verb == "FAIL") {
      fail(ReplyId::FarSideError, "test: fail");
    } else if (verb == "KILL") {
      finish();
    } else if (verb == "END") {
      end_after_owed_replies(ReplyId::ShuttingDown, "test: end after owed replies");
    } else {
      reply(ReplyId::CommandNotRecognized);
    }
  }
  void on_far_data(std::string_view) override {}
  void on_far_closed(const std::string&) override {}
  std::chrono::seconds opening_timeout() const override { return 1s; }
  void on_opening_timeout() override {
    ++opening_timeouts;
    fail(ReplyId::ServiceUnavailable, "test: opening timeout");
  }
  bssl::UniquePtr<SSL> new_client_tls() override { return nullptr; }
  void on_content_end(smtp::DataError, std::uint64_t) override {}
  void abort_far_content() override {}
};

// Counts what the core tells its observers.
struct CountingObserver : SessionObserver {
  int starts = 0;
  int ends = 0;
  int replies = 0;
  int tls = 0;
  bool heard_before_start = false;   // anything but on_start came first
  audit::Verdict verdict_at_end = audit::Verdict::Fetched;   // not a TLS verdict: "never seen"
  bool started_ns_set = false;
  void on_start(const SessionCore& s) override {
    ++starts;
    started_ns_set = s.started_ns() != 0;
  }
  void on_state(const SessionCore&, Phase, Phase) override { heard_before_start |= starts == 0; }
  void on_reply(const SessionCore&, const smtp::Reply&, ReplyOrigin) override {
    heard_before_start |= starts == 0;
    ++replies;
  }
  void on_tls(const SessionCore&, const TlsOutcome&) override { ++tls; }
  void on_end(const SessionCore& s) override {
    heard_before_start |= starts == 0;
    verdict_at_end = s.tls_verdict();
    ++ends;
  }
};

// The client: a plain non-blocking socket.
class Client {
 public:
  ~Client() { close_fd(); }
  bool connect_to(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return false;   // the backlog takes it
    return ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK) == 0;
  }
  void send(const std::string& bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  }
  void half_close() { ASSERT_EQ(::shutdown(fd_, SHUT_WR), 0); }
  // Closes with a RST (SO_LINGER 0).
  void reset() {
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close_fd();
  }
  // Reads what has arrived, without blocking.
  void pump() {
    if (fd_ < 0 || eof_) return;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        got_.append(buf, static_cast<std::size_t>(n));
        ++reads_;
      } else if (n == 0) {
        eof_ = true;
        return;
      } else {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) reset_ = true, eof_ = true;
        return;
      }
    }
  }
  int fd() const { return fd_; }
  const std::string& got() const { return got_; }
  bool eof() const { return eof_; }
  bool saw_reset() const { return reset_; }
  // Reply lines received so far.
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::size_t at = 0;
    for (std::size_t end; (end = got_.find("\r\n", at)) != std::string::npos; at = end + 2) {
      out.push_back(got_.substr(at, end - at));
    }
    return out;
  }
  bool has_line_starting(std::string_view prefix) const {
    for (const auto& l : lines()) {
      if (l.rfind(prefix, 0) == 0) return true;
    }
    return false;
  }
  std::size_t line_count() const { return lines().size(); }

 private:
  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_ = -1;
  std::string got_;
  int reads_ = 0;
  bool eof_ = false;
  bool reset_ = false;
};

int count_handles(uv_loop_t* loop) {
  int n = 0;
  uv_walk(loop, [](uv_handle_t*, void* arg) { ++*static_cast<int*>(arg); }, &n);
  return n;
}

class SessionCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);   // as main() does: a write toward a client that is gone is an error, not a signal
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    loop_ok_ = true;
    listener_ = std::make_unique<uv::Handle<uv_tcp_t>>();
    ASSERT_EQ(uv_tcp_init(&loop_, listener_->get()), 0);
    listener_->mark_initialized();
    listener_->get()->data = this;
    sockaddr_in addr{};
    ASSERT_EQ(uv_ip4_addr("127.0.0.1", 0, &addr), 0);
    ASSERT_EQ(uv_tcp_bind(listener_->get(), reinterpret_cast<sockaddr*>(&addr), 0), 0);
    ASSERT_EQ(uv_listen(listener_->stream(), 8, &SessionCoreTest::on_connection), 0);
    int len = sizeof addr;
    ASSERT_EQ(uv_tcp_getsockname(listener_->get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
    limits_.max_errors = 10;
    limits_.command_timeout = 5s;
    limits_.reply_timeout = 5s;
  }

  void TearDown() override {
    if (!loop_ok_) return;
    client_.reset();
    if (session_) run_until([&] { return session_ == nullptr; }, 12s);   // the closing grace is 10 s
    EXPECT_EQ(session_, nullptr) << "the session never finished";
    session_.reset();
    listener_->close();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle outlived the session";
  }

  static void on_connection(uv_stream_t* listener, int status) {
    auto* self = static_cast<SessionCoreTest*>(listener->data);
    ASSERT_EQ(status, 0);
    ASSERT_EQ(self->session_, nullptr) << "one session per test";
    Environment env;
    env.loop = &self->loop_;
    env.id = "test";
    env.hostname = "mx.test";
    env.limits = &self->limits_;
    env.observers = {&self->observer_};
    env.on_finished = [self](SessionCore& done) {
      ++self->finished_;
      EXPECT_EQ(&done, self->session_.get());
      EXPECT_EQ(self->observer_.ends, 1) << "observers hear of the end first, once";
      // Every handle of the session is closed: only the listener is left on the loop.
      EXPECT_EQ(count_handles(&self->loop_), self->listener_->closing() ? 0 : 1);
      self->session_.reset();   // as the worker does: the session may be destroyed here
    };
    self->session_ = std::make_unique<TestSession>(std::move(env));
    self->session_->hold_greeting = self->hold_greeting_;
    ++self->started_;
    self->session_->start(listener);
  }

  // Runs the loop (and reads the client) until `done` or the deadline.
  bool run_until(const std::function<bool()>& done, Clock::duration timeout = 2s) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      uv_run(&loop_, UV_RUN_NOWAIT);
      client_.pump();
      if (done()) return true;
      if (Clock::now() > deadline) return false;
      if (client_.fd() >= 0) {
        pollfd p{client_.fd(), POLLIN, 0};
        ::poll(&p, 1, 1);
      } else {
        std::this_thread::sleep_for(1ms);
      }
    }
  }
  // Runs for a while regardless (to see that something does not happen).
  void run_for(Clock::duration d) { run_until([] { return false; }, d); }

  // Connects, and waits for the session's greeting.
  void connect_and_greet() {
    ASSERT_TRUE(client_.connect_to(port_));
    ASSERT_TRUE(run_until([&] { return client_.has_line_starting("220 "); }));
    ASSERT_NE(session_, nullptr);
    ASSERT_EQ(session_->phase(), Phase::Command);
  }
  // The reply lines after the greeting.
  std::vector<std::string> replies_after_greeting() const {
    auto all = client_.lines();
    if (!all.empty()) all.erase(all.begin());
    return all;
  }
  bool closed_and_finished() { return client_.eof() && finished_ == 1 && session_ == nullptr; }

  uv_loop_t loop_{};
  bool loop_ok_ = false;
  std::unique_ptr<uv::Handle<uv_tcp_t>> listener_;
  int port_ = 0;
  config::Limits limits_;
  CountingObserver observer_;
  std::unique_ptr<TestSession> session_;
  bool hold_greeting_ = false;
  int started_ = 0;
  int finished_ = 0;
  Client client_;
};

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
  for (int i = 0; i < 50; ++i) burst += "NOOP\r\n";
  client_.send(burst);
  ASSERT_TRUE(run_until([&] { return replies_after_greeting().size() == 50; }));
  // One read of the burst is one turn: one write (the kernel may split the burst over two reads).
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
}  // namespace mxguard::session
