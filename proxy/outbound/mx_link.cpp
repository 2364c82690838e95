#include "proxy/outbound/mx_link.h"

#include <spdlog/spdlog.h>

#include "base/log_text.h"
#include "policy/engine/mta_sts_overlay.h"
#include "policy/engine/route.h"
#include "proxy/outbound/mx_observer.h"
#include "proxy/outbound/mx_audit.h"
#include "proxy/smtp/proxy_header.h"
#include "proxy/smtp/reply_table.h"

namespace mxguard::outbound {

using smtp::ReplyId;

MxLink::MxLink(LinkContext context, Hooks hooks)
    : ctx_(std::move(context)),
      hooks_(std::move(hooks)),
      host_lookup_(ctx_.services.resolver, ctx_.services.ad_trusted) {
  timer_ = std::make_unique<uv::Timer>(ctx_.loop, [this] { on_timeout(); });
}

MxLink::~MxLink() {
  sts_lookup_.cancel();
  namer_.cancel();
  query_.cancel();
  host_lookup_.cancel();
  retire_connection();
}

std::string MxLink::mx_address() const { return connection_ || ready_ ? smtp::address_with_port(address_) : std::string(); }

void MxLink::start(const std::string& domain, policy::EffectivePolicy policy) {
  domain_ = domain;
  policy_ = std::move(policy);
  // An operator's entry that pins a level decides alone (mta_sts_overlay.h), and dane-only needs DANE:
  // the domain's MTA-STS policy is not needed then, and the mail does not wait for it.
  if (ctx_.services.sts && policy::wants_mta_sts(policy_)) {
    sts_lookup_ = ctx_.services.sts->lookup(domain_, [this](mta_sts::Lookup l) { on_mta_sts(std::move(l)); });
    return;
  }
  find_next_hops();
}

void MxLink::on_mta_sts(mta_sts::Lookup lookup) {
  if (lookup.policy) {
    policy_ = policy::with_mta_sts(std::move(policy_), mta_sts::view(lookup.policy->policy));
    // The policy decides for the domain, or (at `dane`) for its hosts without DANE.
    bool used = policy_.source == policy::PolicySource::MtaSts ||
                (policy_.without_dane && policy_.without_dane->source == policy::PolicySource::MtaSts);
    if (used) sts_policy_id_ = lookup.policy->id;
    spdlog::debug("[{}] outbound {}: MTA-STS policy id {} mode {}: level {} from {}", ctx_.session_id, domain_,
                  lookup.policy->id, mta_sts::to_string(lookup.policy->policy.mode), policy::to_string(policy_.level),
                  policy::to_string(policy_.source));
  } else {
    spdlog::debug("[{}] outbound {}: no MTA-STS policy ({})", ctx_.session_id, domain_, lookup.detail);
  }
  find_next_hops();
}

void MxLink::find_next_hops() {
  if (std::optional<config::Endpoint> route = policy::static_route(domain_, ctx_.settings->outbound)) {
    // A static next hop (like Postfix's transport map): the domain's policy still applies to that host.
    // It wins over the original destination too: the operator named the host for this domain, so for
    // DANE it is as good as a validated MX record.
    hops_.push_back({route->host, route->port, std::nullopt, /*mx_authenticated=*/true});
    next_host();
    return;
  }
  if (ctx_.original_destination) {
    // Transparent mode: the legacy MTA chose the host itself; mxguard goes where it was going and only
    // needs the name that address goes by (destination_name.h says why it is looked up in DNS).
    namer_.start(ctx_.services.resolver, policy_, *ctx_.original_destination,
                 [this](DestinationName name) { on_destination_named(std::move(name)); });
    return;
  }
  if (!ctx_.services.resolver) {
    fail_all(smtp::make_reply(ReplyId::DnsTemporary, {}, "no resolver"), "no DNS resolver on this loop");
    return;
  }
  query_ = ctx_.services.resolver->query_mx(domain_, [this](dns::MxResult result) { on_mx(std::move(result)); });
}

void MxLink::on_mx(dns::MxResult result) {
  dns::MxPlan plan = dns::plan_mx(result, domain_, dns::system_random_index());
  switch (plan.kind) {
    case dns::MxPlan::Kind::NullMx:
      fail_all(smtp::make_reply(ReplyId::NullMx, {}, domain_), "null MX: " + plan.reason);
      return;
    case dns::MxPlan::Kind::NoSuchDomain:
      fail_all(smtp::make_reply(ReplyId::NoSuchDomain, {}, domain_), plan.reason);
      return;
    case dns::MxPlan::Kind::Temporary:
      // Never "no MX": a lookup that failed says nothing about the domain, and the mail waits.
      fail_all(smtp::make_reply(ReplyId::DnsTemporary, {}, "MX lookup for " + domain_ + ": " + plan.reason),
               plan.reason);
      return;
    case dns::MxPlan::Kind::Hosts:
    case dns::MxPlan::Kind::ImplicitMx:
      break;
  }
  const bool mx_authenticated = plan.authenticated_data && ctx_.services.ad_trusted;
  for (const std::string& host : plan.hosts) {
    hops_.push_back({host, ctx_.settings->outbound.port, std::nullopt, mx_authenticated});
  }
  next_host();
}

void MxLink::on_destination_named(DestinationName name) {
  const sockaddr_storage& destination = *ctx_.original_destination;
  if (name.kind == DestinationName::Kind::Unknown) {
    // Never judged on a guess: the policy needs the name, and the lookup that would tell it failed.
    fail_all(smtp::make_reply(ReplyId::DnsTemporary, {}, domain_ + ": " + name.note), name.note);
    return;
  }
  spdlog::info("[{}] outbound {}: original destination {} is {} ({})", ctx_.session_id, domain_, smtp::address_with_port(destination),
               name.host, log_text::sanitize(name.note));
  hops_.push_back({name.host, static_cast<std::uint16_t>(smtp::address_port(destination)), destination,
                   name.mx_authenticated && ctx_.services.ad_trusted});
  next_host();
}

void MxLink::next_host() {
  while (next_hop_ < hops_.size()) {
    const Hop& hop = hops_[next_hop_++];
    if (!policy::mx_allowed(policy_, hop.host)) {
      // An MX the policy does not list is never contacted: not even its greeting is read.
      spdlog::warn("[{}] outbound {}: MX {} is not allowed by the policy's mx patterns: skipped", ctx_.session_id,
                   domain_, hop.host);
      skipped_.push_back(hop.host);
      mx_host_ = hop.host;
      refuse_host(policy_, *policy::decide_without_connecting(policy_, hop.host));
      continue;
    }
    mx_host_ = hop.host;
    port_ = hop.port;
    addresses_.clear();
    next_address_ = 0;
    mx_authenticated_ = hop.mx_authenticated;
    fixed_address_ = hop.address;
    if (hop.address && policy_.level < policy::TlsLevel::Dane) {
      // The original destination, below the DANE levels: nothing to look up, the domain's policy holds.
      host_policy_ = policy_;
      addresses_.push_back(*hop.address);
      next_address();
      return;
    }
    // May answer at once (an address literal, no resolver), which may come back here for the next host.
    host_lookup_.start(MxHost{mx_host_, port_, mx_authenticated_}, policy_,
                       [this](MxHostFacts facts) { on_host(std::move(facts)); });
    return;
  }
  // No MX left. A policy refusal anywhere is what the legacy MTA must hear: it names what to fix.
  if (last_refusal_) {
    std::string text = last_refusal_text_.empty() ? policy::reply_text(policy_, *last_refusal_) : last_refusal_text_;
    fail_all(smtp::make_reply(last_refusal_->enhanced == "4.7.4" ? ReplyId::PolicyNoStarttls : ReplyId::PolicyTlsFailure,
                              {}, text),
             text);
    return;
  }
  std::string why = last_failure_.empty() ? "no MX host to try" : last_failure_;
  fail_all(smtp::make_reply(ReplyId::NoMxReachable, {}, domain_ + ": " + why), why);
}

void MxLink::on_host(MxHostFacts facts) {
  if (done_) return;
  if (facts.addresses.status != dns::Status::Ok) {
    last_failure_ = "no address for " + mx_host_ + " (" + std::string(dns::to_string(facts.addresses.status)) + ")";
    next_host();
    return;
  }
  host_policy_ = std::move(facts.policy);
  if (!facts.tlsa_name.empty()) {
    spdlog::debug("[{}] outbound {}: {} TLSA {}: {}", ctx_.session_id, domain_, mx_host_, facts.tlsa_name,
                  policy::to_string(host_policy_.dane.status));
  }
  // What the host's DNS facts decide alone (a failed TLSA lookup, dane-only without DANE, an MX the
  // MTA-STS fallback does not list) is decided before connecting: nothing is sent to that host.
  if (auto refused = policy::decide_without_connecting(host_policy_, mx_host_)) {
    if (refused->outcome == policy::Outcome::Refuse) {
      spdlog::warn("[{}] outbound {}: {}: {}", ctx_.session_id, domain_, mx_host_,
                   log_text::sanitize(policy::reply_text(host_policy_, *refused)));
      refuse_host(host_policy_, *refused);
      next_host();
      return;
    }
  }
  // The original destination (transparent mode) is where the legacy MTA was going: the lookup only gave
  // the host's DANE facts.
  addresses_ = fixed_address_ ? std::vector<sockaddr_storage>{*fixed_address_} : std::move(facts.addresses.addresses);
  next_address();
}

// A host refused without a connection: audited, remembered for the final reply.
void MxLink::refuse_host(const policy::EffectivePolicy& host_policy, const policy::Verdict& verdict) {
  last_refusal_ = verdict;
  last_refusal_text_ = policy::reply_text(host_policy, verdict);
  decided(host_policy, audit::Verdict::Refused, verdict.reason);
  if (!ctx_.audit) return;
  audit::Event event = policy_event(host_policy);
  event.set("mx", mx_host_).verdict(audit::Verdict::Refused).reason(policy::to_string(verdict.reason)).set("detail", verdict.detail);
  if (host_policy.exception_reason) event.set("exception", *host_policy.exception_reason);
  ctx_.audit->write(event);
}

void MxLink::next_address() {
  if (next_address_ >= addresses_.size()) {
    next_host();
    return;
  }
  address_ = addresses_[next_address_++];
  connect(/*plaintext_retry=*/false);
}

void MxLink::connect(bool plaintext_retry) {
  report_connection();   // the attempt before a plaintext retry
  retire_connection();
  connection_reported_ = false;
  handshake_started_ns_ = handshake_ns_ = 0;
  handshake_timed_out_ = false;
  armed_for_ = DialogueState::Greeting;
  dialogue_.emplace(host_policy_, mx_host_, ctx_.settings->hostname, plaintext_retry,
                    DialogueLimits{.max_reply_line = ctx_.settings->outbound.limits.max_reply_line});
  connection_ = std::make_unique<net::Connection>(ctx_.loop, *ctx_.events);
  ctx_.track_handle();
  int rc = connection_->connect(reinterpret_cast<const sockaddr*>(&address_));
  if (rc != 0) {
    last_failure_ = mx_host_ + " " + smtp::address_with_port(address_) + ": " + uv_strerror(rc);
    attempt_over(false);
    return;
  }
  // Reading from the start: libuv then arms the socket for both directions in one epoll_ctl instead of
  // three. Nothing is read before on_connected: libuv finishes the connect first.
  connection_->start_reading();
  arm(ctx_.settings->outbound.limits.backend_connect_timeout);
}

void MxLink::on_connected(int status) {
  if (!dialogue_ || done_) return;
  if (status != 0) {
    last_failure_ = mx_host_ + " " + smtp::address_with_port(address_) + ": " + uv_strerror(status);
    spdlog::info("[{}] outbound {}: cannot connect to {} {}: {}", ctx_.session_id, domain_, mx_host_,
                 smtp::address_with_port(address_), uv_strerror(status));
    attempt_over(false);
    return;
  }
  (void)connection_->local();   // TLS-RPT's sending-mta-ip, learnt while the socket is surely open
  arm(ctx_.settings->outbound.limits.greeting_timeout);
}

void MxLink::on_bytes(std::string_view bytes) {
  if (!dialogue_ || done_) return;
  act(dialogue_->on_bytes(bytes));
  after_event();
}

void MxLink::on_closed(const std::string& why) {
  if (!dialogue_ || done_) return;
  act(dialogue_->on_closed());
  if (!dialogue_->finished() && !ready_) {
    last_failure_ = mx_host_ + " " + why;
    attempt_over(false);
    return;
  }
  after_event();
}

void MxLink::on_tls_ready() {
  if (!dialogue_ || done_) return;
  handshake_ns_ = uv_hrtime() - handshake_started_ns_;
  act(dialogue_->on_tls_ready(tls_facts(*connection_->tls())));
  after_event();
}

void MxLink::on_tls_failed() {
  if (!dialogue_ || done_) return;
  act(dialogue_->on_tls_failed(tls_facts(*connection_->tls())));
  after_event();
}

void MxLink::act(const DialogueAction& action) {
  if (!connection_) return;
  if (!action.write.empty()) connection_->write(action.write);
  if (action.start_tls) {
    bssl::UniquePtr<SSL> ssl = new_ssl(action);
    if (!ssl || !connection_->start_tls(std::move(ssl))) {
      TlsFacts facts;
      facts.failure = tls::FailureKind::Local;
      facts.failure_reason = "cannot start TLS (no client context)";
      act(dialogue_->on_tls_failed(facts));
      return;
    }
    handshake_started_ns_ = uv_hrtime();
    arm(ctx_.settings->outbound.limits.tls_handshake_timeout);
  }
  if (action.close) connection_->close_after_flush([handle_closed = ctx_.handle_closed] { handle_closed(); });
}

// SNI is the MX host name in every case (RFC 7672 §8.1 for DANE); under DANE the chain is checked against
// the host's usable TLSA records (dane_expectation).
bssl::UniquePtr<SSL> MxLink::new_ssl(const DialogueAction& action) const {
  if (!ctx_.settings->tls) return nullptr;
  const unsigned worker = ctx_.services.worker;
  if (!action.dane) return ctx_.settings->tls->new_ssl(mx_host_, mx_host_, action.verify_certificate, worker);
  return ctx_.settings->tls->new_dane_ssl(mx_host_, dane_expectation(dialogue_->policy(), mx_host_), worker);
}

void MxLink::after_event() {
  if (!dialogue_ || done_) return;
  switch (dialogue_->state()) {
    case DialogueState::Ready:
      if (!dialogue_->leftover().empty()) {
        // Bytes that answer nothing we sent: a remote we cannot keep in step with.
        last_failure_ = mx_host_ + " sent unsolicited bytes after its EHLO reply";
        attempt_over(false);
        return;
      }
      audit_attempt();
      report_connection();
      timer_->stop();
      ready_ = true;
      hooks_.ready();
      return;
    case DialogueState::Refused:
      last_refusal_ = dialogue_->verdict();
      last_refusal_text_ = dialogue_->failure_text();   // names what the certificate check found
      audit_attempt();
      attempt_over(false);
      return;
    case DialogueState::Failed:
      if (dialogue_->wants_plaintext_retry()) {
        audit_attempt();
        spdlog::info("[{}] outbound {}: TLS with {} failed ({}); retrying in plaintext as policy {} allows",
                     ctx_.session_id, domain_, mx_host_, log_text::sanitize(dialogue_->failure_text()),
                     policy::to_string(policy_.level));
        connect(/*plaintext_retry=*/true);
        return;
      }
      last_failure_ = dialogue_->failure_text();
      attempt_over(false);
      return;
    default:
      // Waiting for the remote: each step has its own bound, armed when the step begins, never re-armed by
      // a partial reply (an MX dripping a byte at a time must not hold the search for ever).
      if (dialogue_->state() != armed_for_) {
        armed_for_ = dialogue_->state();
        arm(armed_for_ == DialogueState::Handshake ? ctx_.settings->outbound.limits.tls_handshake_timeout
                                                   : ctx_.settings->outbound.limits.reply_timeout);
      }
      return;
  }
}

void MxLink::audit_attempt() {
  const policy::Verdict* verdict = dialogue_->verdict() ? &*dialogue_->verdict() : nullptr;
  const policy::EffectivePolicy& held = dialogue_->policy();   // the host's policy, as the connection was held to it
  audit::Verdict outcome = audit::Verdict::Delivered;
  if (!verdict || verdict->outcome == policy::Outcome::Refuse) outcome = audit::Verdict::Refused;
  else if (verdict->outcome == policy::Outcome::AllowedTesting) outcome = audit::Verdict::AllowedTesting;
  if (dialogue_->wants_plaintext_retry()) outcome = audit::Verdict::Failed;
  std::string tls_version = dialogue_->tls() && dialogue_->tls_active() ? dialogue_->tls()->version : "";
  std::string reason = verdict ? std::string(policy::to_string(verdict->reason)) : std::string();
  // A plaintext retry's "failed" is not a decision about the mail: the retry's own connection makes it.
  if (outcome != audit::Verdict::Failed) decided(held, outcome, verdict ? verdict->reason : policy::ResultType::None);
  // The postmaster's line: one per delivery attempt, naming domain, MX, TLS and verdict.
  spdlog::info("[{}] outbound {} via {} {}: {}, policy {} ({}): {}{}", ctx_.session_id, domain_, mx_host_,
               smtp::address_with_port(address_), tls_version.empty() ? "plaintext" : tls_version, policy::to_string(held.level),
               policy::to_string(held.source), audit::to_string(outcome),
               reason.empty() ? "" : " (" + reason + ": " + log_text::sanitize(dialogue_->failure_text()) + ")");
  if (!ctx_.audit) return;
  audit::Event event = policy_event(held);
  event.set("mx", mx_host_).set("mx_address", smtp::address_with_port(address_));
  // TLS-RPT's sending-mta-ip: the address this connection left from.
  if (connection_ && connection_->local().ss_family != 0) event.set("sending_ip", smtp::address_text(connection_->local()));
  // The retry after a failed TLS attempt is one more connection for the same failure: the report counts
  // the attempt, not the retry.
  if (dialogue_->plaintext_retry()) event.set("plaintext_retry", true);
  if (!tls_version.empty()) {
    event.set("tls_version", tls_version).set("cipher", dialogue_->tls()->cipher);
  }
  if (dialogue_->tls() && !dialogue_->tls()->verification.dane_record.empty()) {
    event.set("tlsa_match", dialogue_->tls()->verification.dane_record);   // which record authenticated it
  }
  event.verdict(outcome);
  if (!reason.empty()) event.reason(reason);
  if (!dialogue_->failure_text().empty() && outcome != audit::Verdict::Delivered) {
    event.set("detail", dialogue_->failure_text());
  }
  if (held.exception_reason) event.set("exception", *held.exception_reason);
  ctx_.audit->write(event);
}

// The fields every tls-policy event of this link has, from the policy the host was held to (mx_audit.h):
// the MTA-STS policy's id only when that policy is what decided (TLS-RPT's policy-string for "sts").
audit::Event MxLink::policy_event(const policy::EffectivePolicy& held) const {
  audit::Event event = tls_policy_event(ctx_.session_id, ctx_.peer, domain_, held);
  if (!sts_policy_id_.empty() && held.source == policy::PolicySource::MtaSts) event.set("policy_id", sts_policy_id_);
  if (ctx_.transaction > 0) event.set("transaction", ctx_.transaction);
  return event;
}

void MxLink::decided(const policy::EffectivePolicy& held, audit::Verdict verdict, policy::ResultType reason) {
  if (ctx_.services.observer) ctx_.services.observer->on_mx_decision({&held, verdict, reason});
}

void MxLink::report_connection() {
  if (!dialogue_ || connection_reported_) return;
  connection_reported_ = true;
  if (!ctx_.services.observer) return;
  MxConnection c;
  c.decided = dialogue_->verdict().has_value();
  c.starttls_offered = dialogue_->observation().starttls_offered;
  c.tls = dialogue_->tls_attempt();
  if (c.tls == TlsAttempt::Established) {
    c.handshake_time = std::chrono::nanoseconds(handshake_ns_);
  } else if (c.tls == TlsAttempt::Failed && dialogue_->handshake_started()) {
    // The dialogue calls a silent handshake a protocol failure; the link knows it was its timer.
    c.handshake_failure = handshake_timed_out_ ? session::HandshakeFailure::Timeout
                                               : session::handshake_failure(dialogue_->tls() ? dialogue_->tls()->failure
                                                                                             : tls::FailureKind::None);
  }
  ctx_.services.observer->on_mx_connection(c);
}

void MxLink::attempt_over(bool) {
  report_connection();
  timer_->stop();
  retire_connection();
  dialogue_.reset();
  next_address();
}

void MxLink::retire_connection() {
  if (!connection_) return;
  connection_->close([handle_closed = ctx_.handle_closed] { handle_closed(); });
  retired_.push_back(std::move(connection_));
}

void MxLink::fail_all(const smtp::Reply& reply, const std::string& why) {
  done_ = true;
  timer_->stop();
  retire_connection();
  spdlog::warn("[{}] outbound {}: not delivered: {}", ctx_.session_id, domain_, log_text::sanitize(why));
  hooks_.failed(reply, why);
}

void MxLink::close() {
  report_connection();   // a dialogue the session's end cut short
  done_ = true;
  query_.cancel();
  host_lookup_.cancel();
  namer_.cancel();
  timer_->stop();
  if (connection_ && ready_) {
    connection_->write("QUIT\r\n");
    connection_->close_after_flush([handle_closed = ctx_.handle_closed] { handle_closed(); });
    retired_.push_back(std::move(connection_));
  }
  ready_ = false;
  retire_connection();
}

void MxLink::arm(std::chrono::seconds timeout) {
  timer_->start(std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
}

void MxLink::on_timeout() {
  if (done_ || ready_ || !dialogue_) return;
  if (dialogue_->state() == DialogueState::Handshake) handshake_timed_out_ = true;
  last_failure_ = mx_host_ + " " + smtp::address_with_port(address_) + ": no answer in time (" +
                  std::string(to_string(dialogue_->state())) + ")";
  spdlog::info("[{}] outbound {}: {}", ctx_.session_id, domain_, last_failure_);
  if (dialogue_->state() == DialogueState::Greeting && !connection_->reading()) {
    attempt_over(false);   // the TCP connect itself did not finish
    return;
  }
  // The dialogue decides what a silent step means: during STARTTLS or the handshake, a failed TLS attempt.
  act(dialogue_->on_timeout());
  if (!dialogue_->finished()) {
    attempt_over(false);
    return;
  }
  after_event();
}

}  // namespace mxguard::outbound
