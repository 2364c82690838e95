#pragma once
// One inbound SMTP session: internet client -> mxguard (terminates STARTTLS) -> legacy backend in plaintext.
//
// What is inbound's own is on this page: the verb table with a check and a proceed step per verb (after
// OpenSMTPD's smtp_session.c), what each backend reply is for, and the backend link (resolve, connect,
// PROXY header, XCLIENT). Queue, timers, back-pressure, DATA streaming and the ways a session ends are the
// shared session core's (proxy/session/session_core.h).
#include <netdb.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/inbound/inbound_settings.h"
#include "proxy/session/session_core.h"
#include "proxy/session/verb_table.h"
#include "proxy/smtp/command.h"
#include "proxy/smtp/reply_parser.h"

namespace mxguard::inbound {

class InboundSession : public session::SessionCore {
 public:
  // `implicit_tls`: the listener speaks TLS from the first byte (RFC 8314, port 465). `worker`: the index of
  // the worker whose loop runs the session, whose own TLS contexts it uses (ServerContext::new_ssl).
  InboundSession(session::Environment env, std::shared_ptr<const InboundSettings> settings, bool implicit_tls,
                 unsigned worker);
  ~InboundSession() override;

 private:
  // What the next backend reply belongs to, in command order.
  enum class Expect {
    Greeting = 1,     // the backend's 220, relayed
    XclientGreeting,  // backend greeting swallowed; mxguard sends EHLO then XCLIENT
    XclientEhlo,      // our EHLO to the backend before XCLIENT
    XclientReply,     // the 220 that follows XCLIENT, relayed as the greeting
    Relay,            // any command: relay the reply as is
    Rcpt,             // relay; a 2xx counts an accepted recipient
    Ehlo,             // relay through the EHLO rewriter
    Helo,             // relay; a 2xx records the HELO name
    Data,             // 354 starts content; anything else ends the attempt
    DataEnd,          // the reply to the content's end
    InternalRset,     // our own RSET after STARTTLS: swallowed, anything but 2xx fails the session
    Auth,             // relay; a 334 makes the client's next line a SASL answer, not a command
    Quit,             // relay, then close
  };

  // The command table: check refuses (queueing the refusal) and returns false; proceed acts.
  // The command table (proxy/session/verb_table.h): a check and a proceed step per verb.
  static const session::VerbRule<InboundSession> kVerbRules[];

  bool check_always(const smtp::Command&) { return true; }
  bool check_hello(const smtp::Command& c) { return check_hello_argument(c); }
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

  // session::SessionCore
  void on_accepted() override;
  void handle_line(std::string_view line, bool forbidden_control) override;
  void on_far_connected(int status) override;
  void on_far_data(std::string_view bytes) override;
  void on_far_closed(const std::string& why) override;
  std::chrono::seconds opening_timeout() const override;
  void on_opening_timeout() override;
  void on_client_tls_ready() override;
  bssl::UniquePtr<SSL> new_client_tls() override;
  void on_content_end(smtp::DataError error, std::uint64_t message_bytes) override;
  void abort_far_content() override;
  bool can_take_commands() const override { return !auth_pending_; }
  void on_half_closed_client_lost() override;
  void on_delivery_unknown(const std::string& what) override;
  void on_client_caught_up() override { unconfirmed_verdict_.reset(); }

  // The backend link (inbound_backend.cpp).
  void resolve_backend();
  void connect_next_address();
  void backend_unavailable(const std::string& why);
  void on_backend_reply(const smtp::Reply& reply);
  void on_greeting_phase_reply(Expect expect, const smtp::Reply& reply);
  void send_to_backend(std::string_view bytes, Expect expect);

  void reset_transaction();
  void log_delivery(const smtp::Reply& reply);
  void audit_downgrade(const std::string& domain);
  void audit_undelivered(int code, const std::string& from, std::uint64_t size);

  std::shared_ptr<const InboundSettings> settings_holder_;
  const InboundSettings& settings_;
  unsigned worker_;
  std::unique_ptr<net::Connection> backend_;
  std::vector<std::unique_ptr<net::Connection>> retired_backends_;   // failed connects, closing
  std::unique_ptr<uv_getaddrinfo_t> resolve_req_;
  std::vector<sockaddr_storage> backend_addresses_;   // to try in turn
  std::size_t next_address_ = 0;
  std::string last_connect_error_;
  std::string backend_in_;
  std::size_t recipients_ = 0;        // RCPTs in the current transaction
  std::size_t accepted_recipients_ = 0;
  std::uint64_t last_message_size_ = 0;
  std::string mail_from_;             // for the transaction's log line only (sanitised)
  // The verdict on a message, written to a half-closed client and not yet known to have left.
  struct Verdict {
    int code;
    std::string from;
    std::uint64_t size;
  };
  std::optional<Verdict> unconfirmed_verdict_;
  bool resolving_ = false;            // a lookup is running in the thread pool
  bool auth_pending_ = false;         // AUTH forwarded, its reply not yet back
  bool auth_continuation_ = false;    // the next client line answers a 334 challenge
  bool rset_owed_ = false;            // STARTTLS accepted: the backend's RSET goes with the next command
  bool helo_after_tls_ = false;       // the client said EHLO/HELO again inside TLS
  bool greeting_received_ = false;
};

}  // namespace mxguard::inbound
