#pragma once
// One inbound SMTP session: internet client -> mxguard (terminates STARTTLS) -> legacy backend in plaintext.
//
// The whole model is on this page: the states, the queue that pairs backend replies with commands
// (PIPELINING, RFC 2920), and the command table with a check and a proceed step per verb (after
// OpenSMTPD's smtp_session.c). Every reply the client gets leaves through send_reply() in command order.
#include <sys/socket.h>
#include <uv.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/audit/audit_log.h"
#include "proxy/inbound/connection_limiter.h"
#include "proxy/inbound/inbound_settings.h"
#include "proxy/net/connection.h"
#include "proxy/smtp/command.h"
#include "proxy/smtp/data_filter.h"
#include "proxy/smtp/reply_parser.h"
#include "proxy/uv/handle.h"
#include "proxy/uv/timer.h"

namespace mxguard::inbound {

class InboundSession;

enum class State {
  Resolving,          // looking up the backend's address
  ConnectingBackend,  // TCP connect to the backend
  BackendGreeting,    // PROXY header sent (if any); waiting for the backend's 220 (and the XCLIENT exchange)
  Command,            // relaying commands and replies
  StarttlsPending,    // STARTTLS accepted: waiting for earlier replies and the backend's RSET before our 220
  TlsHandshake,       // 220 sent, handshake running
  DataPending,        // DATA forwarded, waiting for the backend's 354
  Data,               // streaming message content through the smuggling filter
  Closing,            // the last reply is being written; nothing more is read
};
std::string_view to_string(State s);

// Who gives what to a session; all of it outlives the session.
struct SessionEnvironment {
  uv_loop_t* loop = nullptr;
  std::shared_ptr<const InboundSettings> settings;
  audit::Log* audit = nullptr;
  ConnectionLimiter* limiter = nullptr;              // null: no connection limits
  std::string id;                                    // session id for logs and the audit log
  std::function<void(InboundSession&)> on_finished;  // called once every handle is closed; may destroy it
};

class InboundSession : private net::ConnectionEvents {
 public:
  explicit InboundSession(SessionEnvironment env);
  ~InboundSession() override;
  InboundSession(const InboundSession&) = delete;
  InboundSession& operator=(const InboundSession&) = delete;

  // Takes the accepted client from the listener and starts the session. False: nothing to do, call again
  // never; on_finished will still be called.
  void start(uv_stream_t* listener);

  // Server stopping: answer 421 at the next command boundary (at once when idle), QUIT still works.
  void drain();
  // Grace period over: 421 now whatever the state; a message in DATA is aborted, never half-delivered.
  void shutdown();

  State state() const { return state_; }
  const std::string& id() const { return env_.id; }

 private:
  // What the next backend reply (or a reply we make ourselves) belongs to, in command order.
  enum class Expect {
    Local,            // a reply mxguard makes itself; sent when it reaches the front of the queue
    Greeting,         // the backend's 220, relayed
    XclientGreeting,  // backend greeting swallowed; mxguard sends EHLO then XCLIENT
    XclientEhlo,      // our EHLO to the backend before XCLIENT
    XclientReply,     // the 220 that follows XCLIENT, relayed as the greeting
    Relay,            // any command: relay the reply as is
    Mail,             // relay; remembered for the transaction's log line
    Rcpt,             // relay; a 2xx counts an accepted recipient
    Ehlo,             // relay through the EHLO rewriter
    Helo,             // relay; a 2xx records the HELO name
    Data,             // 354 starts content; anything else ends the attempt
    DataEnd,          // the reply to the content's end
    InternalRset,     // our own RSET at STARTTLS: swallowed, anything but 2xx fails the session
    Auth,             // relay; a 334 makes the client's next line a SASL answer, not a command
    Quit,             // relay, then close
  };
  struct Pending {
    Pending(Expect e) : expect(e) {}   // NOLINT: implicit on purpose, pending_.push_back({Expect::X})
    Expect expect;
    smtp::Reply local;              // Local only
    bool starts_tls = false;        // Local 220 to STARTTLS
    bool closes = false;            // Local reply after which the session ends
  };

  // The command table: check refuses (queueing the refusal) and returns false; proceed acts.
  using Check = bool (InboundSession::*)(const smtp::Command&);
  using Proceed = void (InboundSession::*)(const smtp::Command&, std::string_view line);
  struct VerbRule {
    smtp::Verb verb;
    Check check;
    Proceed proceed;
  };
  static const VerbRule kVerbRules[];

  bool check_always(const smtp::Command&) { return true; }
  bool check_helo(const smtp::Command& c);
  bool check_starttls(const smtp::Command& c);
  bool check_mail(const smtp::Command& c);
  bool check_rcpt(const smtp::Command& c);
  bool check_auth(const smtp::Command& c);
  bool check_bdat(const smtp::Command& c);
  bool check_refused_verb(const smtp::Command& c);
  void proceed_forward(const smtp::Command& c, std::string_view line);
  void proceed_rcpt(const smtp::Command& c, std::string_view line);
  void proceed_helo(const smtp::Command& c, std::string_view line);
  void proceed_ehlo(const smtp::Command& c, std::string_view line);
  void proceed_starttls(const smtp::Command& c, std::string_view line);
  void proceed_mail(const smtp::Command& c, std::string_view line);
  void proceed_data(const smtp::Command& c, std::string_view line);
  void proceed_rset(const smtp::Command& c, std::string_view line);
  void proceed_auth(const smtp::Command& c, std::string_view line);
  void proceed_quit(const smtp::Command& c, std::string_view line);

  // net::ConnectionEvents, for both connections.
  void on_connected(net::Connection& c, int status) override;
  void on_data(net::Connection& c, std::string_view bytes) override;
  void on_eof(net::Connection& c) override;
  void on_error(net::Connection& c, const std::string& reason) override;
  void on_tls_ready(net::Connection& c) override;
  void on_tls_failed(net::Connection& c, const std::string& reason) override;
  void on_drained(net::Connection& c) override;

  void resolve_backend();
  void connect_backend(const sockaddr* addr);
  void backend_unavailable(const std::string& why);

  void process_client_input();
  void handle_command_line(std::string_view line);
  void process_data_input();
  void process_backend_input();
  void handle_backend_reply(const smtp::Reply& reply);
  void send_to_backend(std::string_view bytes, Expect expect);

  // The one way a reply reaches the client: queued in command order, written by flush_replies().
  void reply(int code, std::string_view enhanced, std::string_view text, bool closes = false);
  void send_reply(const smtp::Reply& reply, bool counted = false);
  std::size_t backend_outstanding() const;   // commands forwarded whose reply has not come back
  void flush_replies();
  void begin_tls();

  void enter_state(State next);
  void arm_timer();
  void on_timeout();
  void update_backpressure();
  // Ends the session: queues `reply` (if any) for the client, closes the backend at once and the client
  // once the reply is written.
  void fail(int code, std::string_view enhanced, std::string_view text, const std::string& log_reason);
  // Ends the session after the queued replies are written (bounded by a grace timer).
  void close_gracefully();
  // Ends the session now: every handle is closed, on_finished follows. Safe to call more than once.
  void finish();
  // Refuses at a command boundary: stops reading, and closes once every reply still owed (perhaps the
  // backend's acceptance of a message) has reached the client, followed by this one.
  void end_after_owed_replies(int code, std::string_view enhanced, std::string_view text, const std::string& why);
  void cancel_resolve();
  void on_client_closed();
  void tls_abandoned(const std::string& reason);
  void note_injection(std::size_t bytes);
  void reset_transaction();
  void log_delivery(const smtp::Reply& reply);
  // Trickling senders hold a session and a backend connection for hours; past a start-up allowance the
  // average content rate must stay above inbound.limits.min_data_rate.
  bool data_rate_too_low(std::size_t more);
  static std::string_view data_error_text(smtp::DataError e);
  void on_handle_closed();
  void audit_tls_skipped_if_needed();
  std::string peer_text() const;

  SessionEnvironment env_;
  const InboundSettings& settings_;
  State state_ = State::Resolving;
  net::Connection client_;
  net::Connection backend_;
  uv::Timer timer_;
  std::unique_ptr<uv_getaddrinfo_t> resolve_req_;
  std::deque<Pending> pending_;
  std::string client_in_;
  std::string backend_in_;
  std::optional<smtp::DataFilter> data_filter_;
  std::uint64_t discard_bytes_ = 0;   // BDAT payload still to skip
  std::uint64_t data_started_ms_ = 0; // loop time when content began
  std::uint64_t data_bytes_ = 0;      // content bytes received so far
  std::size_t recipients_ = 0;        // RCPTs in the current transaction
  std::size_t accepted_recipients_ = 0;
  std::uint64_t last_message_size_ = 0;
  std::string mail_from_;             // for the transaction's log line only
  std::size_t injected_bytes_ = 0;    // plaintext discarded after STARTTLS
  unsigned errors_ = 0;               // 5xx replies so far
  unsigned open_handles_ = 0;         // close callbacks still to come before on_finished
  bool skipping_long_line_ = false;
  bool tls_ = false;
  bool tls_failed_ = false;
  bool greeted_ = false;              // the client saw a greeting: the session really started
  bool auth_pending_ = false;         // AUTH forwarded, its reply not yet back
  bool auth_continuation_ = false;    // the next client line answers a 334 challenge
  bool shutting_down_ = false;
  bool reading_paused_ = false;
  bool finished_ = false;
  bool admitted_ = false;             // holds a slot in the limiter
  bool ending_ = false;               // end_after_owed_replies: nothing more is read
  bool resolve_cancelled_ = false;
  bool helo_after_tls_ = false;       // the client said EHLO/HELO again inside TLS
};

}  // namespace mxguard::inbound
