#pragma once
// The session core that both directions share (design.md, "Shape of the code"): the client connection,
// the reply queue in command order, the ways a session ends, the one timer, back-pressure, command
// framing and DATA streaming through the smuggling filter. A direction adds its verb rules and its far
// side (the legacy backend inbound, the remote MX outbound) through the hooks below, and never touches
// sockets, timers or the queue's order itself.
//
// Every event callback runs as one turn: both connections are corked for its length, so whatever the turn
// produces leaves in one write per connection.
#include <sys/socket.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/config/config.h"
#include "proxy/audit/audit_log.h"
#include "proxy/net/connection.h"
#include "proxy/session/connection_limiter.h"
#include "proxy/session/log_limiter.h"
#include "proxy/session/observer.h"
#include "proxy/session/reply_queue.h"
#include "proxy/session/turn_queue.h"
#include "proxy/smtp/command.h"
#include "proxy/smtp/command_reader.h"
#include "proxy/smtp/data_filter.h"
#include "proxy/smtp/reply_table.h"
#include "proxy/uv/timer.h"

namespace mxguard::session {

enum class Phase {
  Opening,          // the far side is being set up; the client waits for the greeting
  Command,          // commands and replies
  StarttlsPending,  // STARTTLS accepted: earlier replies (and the far side's RSET) are still owed
  TlsHandshake,     // the client's TLS handshake is running
  DataPending,      // DATA forwarded, waiting for the far side's 354
  Data,             // message content streams through the smuggling filter
  Closing,          // the last reply is being written; nothing more is read
};
std::string_view to_string(Phase p);

// Who gives what to a session; all of it outlives the session.
struct Environment {
  uv_loop_t* loop = nullptr;
  std::string id;                                  // for logs and the audit log
  std::string hostname;                            // [server] hostname, in our own replies
  const config::Limits* limits = nullptr;          // the direction's limits, from the session's snapshot
  audit::Direction direction = audit::Direction::Inbound;
  audit::Log* audit = nullptr;                     // null: no audit log
  ConnectionLimiter* limiter = nullptr;            // null: no connection limits
  // The loop's line of sessions with commands left over (turn_queue.h). Null: every turn handles all the
  // buffered input it can, however much (only for tests of other things; workers always give one).
  TurnQueue* turns = nullptr;
  std::vector<SessionObserver*> observers;         // told about states, replies, TLS and the end
  std::function<void(SessionCore&)> on_finished;   // once every handle is closed; may destroy the session
};

class SessionCore : protected net::ConnectionEvents {
 public:
  ~SessionCore() override;
  SessionCore(const SessionCore&) = delete;
  SessionCore& operator=(const SessionCore&) = delete;

  // Takes the client's socket (net::Acceptor's, now the session's) and starts the session; on_finished
  // follows in any case.
  void start(int accepted_fd);
  // Server stopping: 421 at the next command boundary (at once when idle), QUIT still works.
  void drain();
  // Grace period over: 421 now; a reply still owed for a message is waited for, content is aborted.
  void shutdown();

  Phase phase() const { return phase_; }
  // The phase as the log names it; "data-end-pending" while the far side's verdict on a message is owed,
  // which the phase alone (Command: the client may pipeline on) does not tell.
  std::string_view state_name() const;
  const std::string& id() const { return env_.id; }
  audit::Direction direction() const { return env_.direction; }
  bool tls_active() const { return tls_; }
  std::string peer_text() const;
  const sockaddr_storage& client_peer() const { return client_.peer(); }
  const sockaddr_storage& client_local() const { return client_.local(); }
  // For the observers (metrics): when start() began (uv_hrtime), the session's one TLS verdict so far
  // (Skipped until one is given), and the message content written to the far side so far.
  std::uint64_t started_ns() const { return started_ns_; }
  audit::Verdict tls_verdict() const { return tls_verdict_; }
  std::uint64_t content_bytes_relayed() const { return content_bytes_; }

 protected:
  SessionCore(Environment env, std::size_t extra_handles);

  // ---- hooks for the direction
  // The client was accepted (and, on an implicit-TLS listener, its handshake is done): set up the far side.
  virtual void on_accepted() = 0;
  // One complete command line (or, after a 334, a SASL answer: the direction knows which).
  virtual void handle_line(std::string_view line, bool forbidden_control) = 0;
  virtual void on_far_connected(int status) {}
  virtual void on_far_data(std::string_view bytes) = 0;
  virtual void on_far_closed(const std::string& why) = 0;   // EOF or error from the far side
  virtual void on_far_tls_ready() {}                          // a far side that is a TLS client (outbound)
  virtual void on_far_tls_failed(const std::string& why) { on_far_closed("TLS handshake failed: " + why); }
  virtual std::chrono::seconds opening_timeout() const = 0;
  virtual void on_opening_timeout() = 0;
  virtual void on_client_tls_ready() {}
  // A new TLS server session for the client (STARTTLS); null: TLS cannot be offered now.
  virtual bssl::UniquePtr<SSL> new_client_tls() = 0;
  // The content's end was read (error: what the filter refused, or None). The direction awaits the far
  // side's verdict or refuses the message.
  virtual void on_content_end(smtp::DataError error, std::uint64_t message_bytes) = 0;
  // Content on its way to the far side, as the filter passed it (outbound looks for a TLS report in it).
  virtual void on_content_relayed(std::string_view bytes) {}
  // The content filter refused part of a message that is already on its way: the far side must discard it.
  virtual void abort_far_content() = 0;
  virtual bool can_take_commands() const { return true; }   // e.g. not while an AUTH reply is owed
  // The session ends: a far side still being set up (an outbound link mid-dialogue) must stop too.
  virtual void abandon_far_side() {}
  // An awaited reply did not come in time. True: the direction answered it itself (an outbound RCPT whose
  // MX search ran out of time gets a 451, the session goes on); false: the session fails.
  virtual bool on_reply_timeout() { return false; }
  // The far side's verdict on a message did not come within data_end_timeout (`what` says so): the
  // direction reports the message's unknown fate (delivery_unknown.h) before the session fails.
  virtual void on_delivery_unknown(const std::string& what) {}
  // A client that had half-closed turned out to be gone (a reset that arrived as EOF): replies written
  // since its last drained write may never have reached it.
  virtual void on_half_closed_client_lost() {}
  // Every reply so far reached the kernel's socket buffer toward the client.
  virtual void on_client_caught_up() {}

  // ---- what the direction uses
  net::ConnectionEvents& events() { return *this; }
  net::Connection& client() { return client_; }
  const net::Connection& client() const { return client_; }
  void set_far(net::Connection* far) { far_ = far; }
  ReplyQueue& replies() { return replies_; }
  const ReplyQueue& replies() const { return replies_; }
  const Environment& env() const { return env_; }
  const config::Limits& limits() const { return *env_.limits; }
  // The client's bytes not yet consumed (a direction may drop them, or put a line back in front).
  std::string& client_input();
  smtp::CommandReader& command_reader() { return reader_; }

  void enter_phase(Phase next);
  void arm_timer();
  // Queues a reply mxguard makes itself, in command order.
  void reply(smtp::ReplyId id, std::string_view detail = {}, bool closes = false);
  void reply(smtp::Reply reply, bool closes = false);
  void queue_starttls_ready();
  // Sends a reply the far side gave (it answers the queue's front awaited entry, popped by the caller).
  void relay(const smtp::Reply& reply);
  void flush_replies();
  unsigned errors() const { return errors_; }
  // The far side accepted a message: the junk commands counted so far are forgiven (as Postfix does after
  // a delivery), so a long session that delivers mail is never cut off for its RSETs.
  void note_message_accepted() { junk_commands_ = 0; }

  // Ends the session with `id` for the client; the far side is closed at once.
  void fail(smtp::ReplyId id, const std::string& why);
  // session_door.cpp. Asks the connection limiter; false: refused, the 421 is on its way.
  bool admit();
  // The session is being ended for abuse: with limits.abuse_penalty, its address's network (of
  // limits.abuse_penalty_ipv4_prefix or _ipv6_prefix bits) is refused for a while.
  void penalize_client(const std::string& why);
  unsigned penalty_prefix(const policy::IpAddress& ip) const;   // limits.abuse_penalty_ipv4/6_prefix
  // The address, and the network its penalty covers if that is more than the address.
  std::string penalty_subject(const std::string& address, const std::optional<policy::IpAddress>& ip) const;
  // Like fail, with a reply the far side made (its own 421).
  void fail_with(const smtp::Reply& reply, const std::string& why);
  // Ends the session after the queued replies are written (bounded by a grace timer).
  void close_gracefully();
  // Refuses at a command boundary: stops reading, and closes once every reply still owed (perhaps the far
  // side's acceptance of a message) has reached the client, followed by `id`.
  void end_after_owed_replies(smtp::ReplyId id, const std::string& why);
  // Ends the session now. Safe to call more than once.
  void finish();
  void close_far();
  bool client_gone() const { return client_gone_; }
  bool client_half_closed() const { return client_eof_; }
  bool ending() const { return ending_; }
  bool shutting_down() const { return shutting_down_; }

  // Handles buffered command lines: at once, for at most one turn's share (thresholds.h), or, if the
  // session had commands left over from its last turn, on its next turn in the loop's line.
  void process_client_input();
  // What every server side checks before its verb table: control bytes (500 5.5.2), and a draining server
  // (421 to everything but QUIT), and the junk-command limit (421 past max_junk_commands). nullopt: the line
  // was answered here.
  std::optional<smtp::Command> command_for(std::string_view line, bool forbidden_control);
  // HELO and EHLO need an argument (501 5.5.4).
  bool check_hello_argument(const smtp::Command& c);
  // The next `n` bytes from the client are skipped unread (a BDAT chunk we do not take), whether they are
  // already buffered or still to come.
  void discard_client_bytes(std::uint64_t n);
  void begin_content(smtp::BareNewlines mode, std::uint64_t max_message_size);
  void begin_client_tls(bssl::UniquePtr<SSL> ssl);
  void note_injection(std::size_t bytes);
  // Process-log lines about peer behaviour that a peer can repeat at will go through here.
  bool log_allowed(int key) { return log_limiter_.allow(key); }
  void track_handle() { ++open_handles_; }
  void handle_closed();
  void notify_tls(const TlsOutcome& outcome);
  // The client's EHLO reply offered STARTTLS (observers hear it once per session).
  void notify_starttls_offered();
  void notify_downgrade_refused();
  void set_implicit_tls(bssl::UniquePtr<SSL> ssl) { implicit_tls_ = std::move(ssl); }
  void mark_greeted() { greeted_ = true; }
  bool greeted() const { return greeted_; }

 private:
  class Turn;

  // net::ConnectionEvents, for both connections.
  void on_connected(net::Connection& c, int status) override;
  void on_data(net::Connection& c, std::string_view bytes) override;
  void on_eof(net::Connection& c) override;
  void on_error(net::Connection& c, const std::string& reason) override;
  void on_tls_ready(net::Connection& c) override;
  void on_tls_failed(net::Connection& c, const std::string& reason) override;
  void on_drained(net::Connection& c) override;

  void on_client_data(std::string_view bytes);
  // The client's input: client_in_ from client_pos_ on. Consuming moves the offset, so a turn that handles
  // many short lines never moves the rest of the buffer once per line.
  std::string_view unread_input() const { return std::string_view(client_in_).substr(client_pos_); }
  void consume_input(std::size_t n);
  void drop_client_input();
  bool has_complete_line() const { return unread_input().find('\n') != std::string_view::npos; }
  bool can_process_commands() const;
  void run_command_turn();
  static void run_queued_turn(void* session);
  void on_client_eof();
  void on_client_lost(const std::string& reason);
  void process_data_input();
  bool data_rate_too_low(std::size_t more);
  void update_backpressure();
  bool far_saturated() const;
  bool held_back_by_far() const;   // the client waits because the far side is not taking our bytes
  void on_timeout();
  void maybe_close_after_client_eof();
  void on_client_closed();
  void tls_abandoned(HandshakeFailure failure, const std::string& reason);
  std::chrono::nanoseconds handshake_time() const;
  void send(const smtp::Reply& reply, ReplyOrigin origin);

  Environment env_;
  Phase phase_ = Phase::Opening;
  net::Connection client_;
  net::Connection* far_ = nullptr;
  uv::Timer timer_;
  ReplyQueue replies_;
  smtp::CommandReader reader_;
  std::string client_in_;
  std::size_t client_pos_ = 0;   // bytes of client_in_ already consumed
  TurnQueue::Slot turn_slot_;
  std::optional<smtp::DataFilter> data_filter_;
  bssl::UniquePtr<SSL> implicit_tls_;   // set before start(): the listener speaks TLS from the first byte
  LogLimiter log_limiter_;
  std::uint64_t started_ns_ = 0;            // uv_hrtime() at start()
  std::uint64_t handshake_started_ns_ = 0;  // uv_hrtime() when the client's handshake began
  std::uint64_t content_bytes_ = 0;         // message content written to the far side
  audit::Verdict tls_verdict_ = audit::Verdict::Skipped;
  std::uint64_t discard_bytes_ = 0;
  std::uint64_t data_started_ms_ = 0;
  std::uint64_t data_bytes_ = 0;
  std::size_t injected_bytes_ = 0;
  unsigned errors_ = 0;          // refusals (4xx/5xx of ours, 5xx of the far side's) so far
  unsigned junk_commands_ = 0;   // NOOP, RSET, VRFY, EXPN, HELP, ETRN since the last accepted message
  unsigned open_handles_ = 0;    // close callbacks still to come before on_finished
  bool tls_ = false;
  bool tls_settled_ = false;     // the session's one TLS verdict was given
  bool greeted_ = false;         // the client saw a greeting: the session really started
  bool starttls_offered_ = false;
  bool connect_logged_ = false;
  bool admitted_ = false;        // holds a slot in the limiter
  bool penalized_ = false;       // its address was given an abuse penalty (once per session)
  bool reading_paused_ = false;
  bool backlogged_ = false;      // complete commands were left over from the last turn: the next waits in line
  bool in_command_turn_ = false;
  bool far_was_saturated_ = false;
  bool ending_ = false;          // end_after_owed_replies: nothing more is read
  bool client_eof_ = false;      // the client half-closed: what it sent is still answered
  bool client_gone_ = false;     // the client's connection is closed: nothing can reach it any more
  bool shutting_down_ = false;
  bool finished_ = false;
};

}  // namespace mxguard::session
