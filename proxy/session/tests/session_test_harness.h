#pragma once
// The harness of the session core's tests, in one process: a minimal test direction with no far connection
// at all. Its verb table answers some commands locally and leaves others awaited; the test plays the far
// side by answering awaited entries through a public hook, in a turn of its own (as a far side's data
// would be). The client is a plain non-blocking socket the test drives, over loopback TCP to a real
// listener on the test's uv loop, which has a turn queue as a worker's has.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <chrono>
#include <fcntl.h>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "policy/config/config.h"
#include "proxy/net/acceptor.h"
#include "proxy/net/listener_options.h"
#include "proxy/session/session_core.h"
#include "proxy/session/thresholds.h"
#include "proxy/session/turn_queue.h"
#include "proxy/uv/handle.h"

namespace mxguard::session::test {

using namespace std::chrono_literals;
using smtp::ReplyId;
using Clock = std::chrono::steady_clock;

enum class Kind { Far = 1 };

// The test direction. Its verbs (the first word of the line):
//   FAR x   awaited: the test answers it through answer()
//   NOOP    250 at once          BAD   500 5.5.2 at once      TEMP  452 4.5.3 at once
//   QUIT    221, then the session closes (a closing reply)    CLOSE close_gracefully() at once
//   FAIL    fail(FarSideError)   KILL  finish()               END   end_after_owed_replies(ShuttingDown)
//   SENT    250, as if the far side had accepted a message (note_message_accepted)
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
  // Several sessions at once: each line handled is also written here as "name: line", in the order the
  // loop handled them.
  std::string name;
  std::vector<std::string>* journal = nullptr;

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
    if (journal) journal->push_back(name + ": " + std::string(line));
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
    } else if (verb == "SENT") {
      note_message_accepted();
      reply(ReplyId::Ok);
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

inline int count_handles(uv_loop_t* loop) {
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
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(fd);
      FAIL() << "cannot bind a listener on 127.0.0.1: " << std::strerror(errno);
    }
    ASSERT_EQ(net::set_client_socket_options(fd), 0);   // as the worker does
    net::Acceptor::Events events;
    events.accepted = [this](int accepted) { on_connection(accepted); };
    listener_ = std::make_unique<net::Acceptor>(&loop_, fd, std::move(events));
    ASSERT_EQ(listener_->start(8), 0);
    port_ = ntohs(addr.sin_port);
    turns_ = std::make_unique<TurnQueue>(&loop_, kQueuedTurnsPerIteration);
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
    for (auto& c : more_clients_) c->reset();
    run_until([&] { return more_finished_ == static_cast<int>(more_sessions_.size()); }, 12s);
    EXPECT_EQ(more_finished_, static_cast<int>(more_sessions_.size())) << "a session never finished";
    more_sessions_.clear();
    turns_->close();
    listener_->close();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle outlived the session";
  }

  void on_connection(int fd) {
    Environment env;
    env.loop = &loop_;
    env.id = "test";
    env.hostname = "mx.test";
    env.limits = &limits_;
    env.turns = turns_.get();
    if (started_ > 0) {
      ASSERT_TRUE(many_sessions_) << "one session per test";
      // Another session on the same loop: fairness tests. Its end is only counted.
      std::size_t index = more_sessions_.size();
      env.on_finished = [this, index](SessionCore&) {
        ++more_finished_;
        more_sessions_[index].reset();
      };
      more_sessions_.push_back(std::make_unique<TestSession>(std::move(env)));
      TestSession& s = *more_sessions_.back();
      s.name = "session " + std::to_string(index + 2);
      s.journal = &journal_;
      ++started_;
      s.start(fd);
      return;
    }
    env.observers = {&observer_};
    env.on_finished = [this](SessionCore& done) {
      ++finished_;
      EXPECT_EQ(&done, session_.get());
      EXPECT_EQ(observer_.ends, 1) << "observers hear of the end first, once";
      // Every handle of the session is closed: only the listener and the turn queue are left on the loop.
      if (!many_sessions_) {
        EXPECT_EQ(count_handles(&loop_), listener_->fd() < 0 ? 0 : 2);
      }
      session_.reset();   // as the worker does: the session may be destroyed here
    };
    session_ = std::make_unique<TestSession>(std::move(env));
    session_->hold_greeting = hold_greeting_;
    session_->name = "session 1";
    session_->journal = &journal_;
    ++started_;
    session_->start(fd);
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
  // One more client, connected (set many_sessions_ first); its session is the next in more_sessions_.
  Client& another_client() {
    more_clients_.push_back(std::make_unique<Client>());
    EXPECT_TRUE(more_clients_.back()->connect_to(port_));
    return *more_clients_.back();
  }
  bool closed_and_finished() { return client_.eof() && finished_ == 1 && session_ == nullptr; }

  uv_loop_t loop_{};
  bool loop_ok_ = false;
  std::unique_ptr<net::Acceptor> listener_;
  int port_ = 0;
  config::Limits limits_;
  CountingObserver observer_;
  std::unique_ptr<TurnQueue> turns_;
  std::unique_ptr<TestSession> session_;
  bool hold_greeting_ = false;
  int started_ = 0;
  int finished_ = 0;
  Client client_;
  // Set before connecting more than one client: the first is client_ and session_, the others go here.
  bool many_sessions_ = false;
  std::vector<std::unique_ptr<TestSession>> more_sessions_;
  std::vector<std::unique_ptr<Client>> more_clients_;
  int more_finished_ = 0;
  std::vector<std::string> journal_;    // every line every session handled, in order
};

}  // namespace mxguard::session::test
