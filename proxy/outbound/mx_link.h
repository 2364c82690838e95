#pragma once
// The outbound session's far side: from a recipient domain to one connection to one of its MX hosts that
// satisfies the domain's TLS policy (design.md, "Outbound" steps 2-3).
//
// The next hops come from a static route, the original destination of a redirected connection
// (transparent mode: one address, named by DestinationNamer), or the MX records (dns::plan_mx: preference
// order, random among equals, implicit MX, null MX); each host's addresses (and, at the DANE levels, its
// TLSA records: MxHostLookup) give the host its own policy, its addresses (or the original destination)
// are tried in turn, and on each connection an MxDialogue decides. A policy refusal on one MX moves on to
// the next; when none is left, the session answers the RCPT with the 4xx the link hands it. Every TLS
// decision about an MX is audited.
#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "policy/dns/mx_plan.h"
#include "policy/dns/resolver.h"
#include "policy/mta_sts/agent.h"
#include "policy/verdict.h"
#include "proxy/audit/audit_log.h"
#include "proxy/net/connection.h"
#include "proxy/outbound/destination_namer.h"
#include "proxy/outbound/mx_dialogue.h"
#include "proxy/outbound/mx_host_lookup.h"
#include "proxy/outbound/outbound_settings.h"
#include "proxy/smtp/reply_parser.h"
#include "proxy/uv/timer.h"

namespace mxguard::outbound {

// What the link needs from its session. The session owns the connections' events and counts their close
// callbacks (so it outlives every handle the link opens).
struct LinkContext {
  uv_loop_t* loop = nullptr;
  const OutboundSettings* settings = nullptr;
  LoopServices services;
  audit::Log* audit = nullptr;
  std::string session_id;
  std::string peer;                                     // the legacy MTA, for the audit log
  std::int64_t transaction = 0;                         // the session's transaction number (1, 2, ...), audited
  // Transparent mode: where the legacy MTA's connection was going before the firewall redirected it to
  // mxguard. Set: that address is the one next hop (unless a static route names the domain). Unset (relay
  // mode, or a connection that was not redirected): the MX hosts.
  std::optional<sockaddr_storage> original_destination;
  net::ConnectionEvents* events = nullptr;              // the session: far-side events come back through it
  std::function<void()> track_handle;                   // a handle the session must wait for
  std::function<void()> handle_closed;                  // ... and its close callback
};

class MxLink {
 public:
  struct Hooks {
    std::function<void()> ready;                                        // connection() may carry the mail
    std::function<void(const smtp::Reply& reply, const std::string& why)> failed;   // no MX can be used
  };

  MxLink(LinkContext context, Hooks hooks);
  ~MxLink();
  MxLink(const MxLink&) = delete;
  MxLink& operator=(const MxLink&) = delete;

  void start(const std::string& domain, policy::EffectivePolicy policy);
  // QUIT to a ready MX (after the transaction) and close; any attempt in progress is abandoned.
  void close();

  bool ready() const { return ready_; }
  net::Connection* connection() { return ready_ ? connection_.get() : nullptr; }
  bool owns(const net::Connection& c) const { return connection_ && connection_.get() == &c; }
  const MxDialogue* dialogue() const { return dialogue_ ? &*dialogue_ : nullptr; }
  const std::string& mx_host() const { return mx_host_; }
  std::string mx_address() const;

  // Far-side events while the dialogue runs (the session routes them here until ready()).
  void on_connected(int status);
  void on_bytes(std::string_view bytes);
  void on_closed(const std::string& why);
  void on_tls_ready();
  void on_tls_failed();

 private:
  struct Hop {
    std::string host;
    std::uint16_t port;
    std::optional<sockaddr_storage> address;   // known already (the original destination): not looked up
    bool mx_authenticated = false;   // named by a DNSSEC-validated MX answer, or by the operator (a route)
  };

  void on_mta_sts(mta_sts::Lookup lookup);
  void find_next_hops();
  void on_destination_named(DestinationName name);
  void on_mx(dns::MxResult result);
  void next_host();
  void on_host(MxHostFacts facts);
  void refuse_host(const policy::EffectivePolicy& host_policy, const policy::Verdict& verdict);
  void next_address();
  bssl::UniquePtr<SSL> new_ssl(const DialogueAction& action) const;
  void connect(bool plaintext_retry);
  void act(const DialogueAction& action);
  void after_event();
  void attempt_over(bool audit_it);
  void retire_connection();
  void fail_all(const smtp::Reply& reply, const std::string& why);
  void arm(std::chrono::seconds timeout);
  void on_timeout();
  void audit_attempt();
  // A tls-policy event with the fields every one has: domain, mx, policy, its source, the transaction.
  audit::Event policy_event(const policy::EffectivePolicy& held) const;
  // For the link's observer (LoopServices::observer): a TLS decision, and a connection's dialogue once over.
  void decided(const policy::EffectivePolicy& held, audit::Verdict verdict, policy::ResultType reason);
  void report_connection();

  LinkContext ctx_;
  Hooks hooks_;
  std::string domain_;
  policy::EffectivePolicy policy_;          // the domain's
  policy::EffectivePolicy host_policy_;     // the current host's (policy_ with its DANE facts)
  bool mx_authenticated_ = false;           // the current host's MX answer was DNSSEC-validated (RFC 7672 §2.2.1)
  std::optional<sockaddr_storage> fixed_address_;   // the current host's original destination (transparent mode)
  std::string sts_policy_id_;   // the MTA-STS policy's id when policy_ (or its without_dane) came from it
  dns::Query query_;
  DestinationNamer namer_;
  MxHostLookup host_lookup_;
  mta_sts::LookupTicket sts_lookup_;
  std::vector<Hop> hops_;
  std::size_t next_hop_ = 0;
  std::string mx_host_;
  std::uint16_t port_ = 25;
  std::vector<sockaddr_storage> addresses_;
  std::size_t next_address_ = 0;
  sockaddr_storage address_{};
  std::unique_ptr<net::Connection> connection_;
  std::vector<std::unique_ptr<net::Connection>> retired_;   // closing; their callbacks are still to come
  std::optional<MxDialogue> dialogue_;
  std::unique_ptr<uv::Timer> timer_;
  std::optional<policy::Verdict> last_refusal_;   // the last policy refusal, for the final 4.7.x
  std::string last_refusal_text_;                 // ... and its text
  std::string last_failure_;                      // the last non-policy failure, for the final 4.4.1
  std::vector<std::string> skipped_;              // MX hosts the policy's mx patterns do not allow
  DialogueState armed_for_ = DialogueState::Greeting;   // the step the timer bounds now
  bool ready_ = false;
  bool done_ = false;
  // The current connection, for its report: when its handshake began and how long it took (uv_hrtime),
  // whether the link's timer ended it, whether it was reported.
  std::uint64_t handshake_started_ns_ = 0;
  std::uint64_t handshake_ns_ = 0;
  bool handshake_timed_out_ = false;
  bool connection_reported_ = false;
};

}  // namespace mxguard::outbound
