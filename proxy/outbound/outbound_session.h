#pragma once
// One outbound SMTP session: legacy MTA -> mxguard -> the recipient domain's MX, with STARTTLS as the
// domain's policy demands (design.md, "Outbound").
//
// mxguard is the SMTP server the legacy MTA hands its mail to, and answers EHLO and MAIL itself. The
// first RCPT names the domain: its policy is resolved, its MX hosts are tried (MxLink) until one
// satisfies the policy, and only then do MAIL FROM and the RCPTs go upstream. A policy failure answers
// the RCPT with a 451 that names domain, MX and reason, and nothing of the envelope or the content has
// crossed the network in plaintext. One upstream per transaction keeps end-of-data atomic, so a RCPT for
// a second domain gets 452 4.5.3 and is sent again in a later transaction. There is no queue: the 250 to
// the end of data is the remote's own.
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/outbound/mx_link.h"
#include "proxy/outbound/outbound_settings.h"
#include "proxy/session/session_core.h"
#include "proxy/session/verb_table.h"
#include "proxy/smtp/command.h"
#include "proxy/smtp/tls_report_detector.h"

namespace mxguard::outbound {

class OutboundSession : public session::SessionCore {
 public:
  OutboundSession(session::Environment env, std::shared_ptr<const OutboundSettings> settings, LoopServices services);
  ~OutboundSession() override;

 private:
  // What an awaited reply is for. Entries exist before the upstream does: they wait for the link.
  enum class Expect {
    FirstRcpt = 1,   // the RCPT that opened the link; upstream it is preceded by our MAIL FROM
    Rcpt,            // a further RCPT for the same domain
    Data,            // 354 starts content
    DataEnd,         // the remote's verdict on the message, relayed as is
  };

  // The command table (proxy/session/verb_table.h): a check and a proceed step per verb.
  static const session::VerbRule<OutboundSession> kVerbRules[];

  bool check_always(const smtp::Command&) { return true; }
  bool check_hello(const smtp::Command& c) { return check_hello_argument(c); }
  bool check_mail(const smtp::Command& c);
  bool check_rcpt(const smtp::Command& c);
  bool check_data(const smtp::Command& c);
  bool check_not_offered(const smtp::Command& c);
  void proceed_ehlo(const smtp::Command& c, std::string_view line);
  void proceed_helo(const smtp::Command& c, std::string_view line);
  void proceed_mail(const smtp::Command& c, std::string_view line);
  void proceed_rcpt(const smtp::Command& c, std::string_view line);
  void proceed_data(const smtp::Command& c, std::string_view line);
  void proceed_rset(const smtp::Command& c, std::string_view line);
  void proceed_noop(const smtp::Command& c, std::string_view line);
  void proceed_vrfy(const smtp::Command& c, std::string_view line);
  void proceed_quit(const smtp::Command& c, std::string_view line);

  // session::SessionCore
  void on_accepted() override;
  void handle_line(std::string_view line, bool forbidden_control) override;
  void on_far_connected(int status) override;
  void on_far_data(std::string_view bytes) override;
  void on_far_closed(const std::string& why) override;
  void on_far_tls_ready() override;
  void on_far_tls_failed(const std::string& why) override;
  std::chrono::seconds opening_timeout() const override { return settings_.outbound.limits.command_timeout; }
  void on_opening_timeout() override {}
  bssl::UniquePtr<SSL> new_client_tls() override { return nullptr; }
  void on_content_end(smtp::DataError error, std::uint64_t message_bytes) override;
  void on_content_relayed(std::string_view bytes) override { report_detector_.feed(bytes); }
  void abort_far_content() override;
  bool can_take_commands() const override { return !parked_; }
  void abandon_far_side() override { close_link(); }
  bool on_reply_timeout() override;

  // The upstream (outbound_upstream.cpp).
  void open_link(const std::string& domain);
  void on_link_ready();
  void on_link_failed(const smtp::Reply& reply, const std::string& why);
  void send_upstream(std::string line, Expect expect);
  // One command upstream: at once to a remote that offers PIPELINING, else after the previous reply.
  void write_upstream(std::string line);
  void on_upstream_reply(const smtp::Reply& reply);
  void close_link();
  void end_transaction();
  void log_delivery(const smtp::Reply& reply);
  void unpark_if_answered();
  void audit_report_relayed(const smtp::Reply& reply);

  std::shared_ptr<const OutboundSettings> settings_holder_;
  const OutboundSettings& settings_;
  LoopServices services_;
  // Transparent mode: where the legacy MTA was connecting before the firewall redirected it here (read
  // once at accept; unset for a connection that was not redirected).
  std::optional<sockaddr_storage> original_destination_;
  std::unique_ptr<MxLink> link_;
  // Closed links: their connections' close callbacks are still to come (QUIT being flushed), so they
  // live as long as the session does.
  std::vector<std::unique_ptr<MxLink>> closed_links_;
  std::string upstream_in_;
  std::vector<std::string> backlog_;      // upstream lines waiting for the link (RCPTs, DATA)
  std::deque<std::string> unsent_;        // lines for a remote without PIPELINING, sent one per reply
  std::size_t upstream_in_flight_ = 0;    // commands (and the end of data) sent upstream, not yet answered
  bool lockstep_ = false;                 // the remote does not offer PIPELINING (RFC 2920 §3.1)
  std::string mail_line_;                 // the legacy MTA's MAIL FROM, replayed upstream
  std::string mail_from_;                 // sanitised, for the log
  std::string domain_;                    // the transaction's recipient domain
  std::optional<smtp::Reply> link_failure_;   // the link failed: every later RCPT of this transaction gets it
  std::size_t recipients_ = 0;
  std::size_t accepted_recipients_ = 0;
  std::uint64_t message_bytes_ = 0;
  std::int64_t transactions_ = 0;         // links opened in this session: the audit's `transaction` number
  smtp::TlsReportDetector report_detector_;   // this transaction's message: a TLS report? (RFC 8460 §5.3)
  bool mail_given_ = false;               // MAIL accepted (locally) in this transaction
  bool upstream_mail_pending_ = false;    // our MAIL FROM's reply is still to come upstream
  bool upstream_mail_failed_ = false;
  bool helo_given_ = false;
  // A command that ends the transaction (QUIT, RSET, HELO/EHLO, MAIL) came while the remote still owes
  // replies (Postfix pipelines QUIT behind the final dot): it waits, unread, until they are in.
  bool parked_ = false;
};

}  // namespace mxguard::outbound
