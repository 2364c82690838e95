#include "proxy/outbound/mx_dialogue.h"

#include <charconv>

#include "base/ascii.h"
#include "base/log_text.h"
#include "policy/tls_level.h"

namespace mxguard::outbound {
namespace {

using Handshake = policy::Observation::Handshake;

// The EHLO/HELO argument goes on the wire as is: a space, CR or LF in it would add arguments or whole
// commands. Configuration validates [server] hostname; this is the last line of defence.
bool usable_helo_name(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  for (char c : name) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// DNS names compare without case and without the root's trailing dot (an MX name from DNS may carry it;
// the verifier drops it from the name it checked).
std::string_view without_root_dot(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return name;
}

bool same_host(std::string_view a, std::string_view b) {
  return ascii::iequals(without_root_dot(a), without_root_dot(b));
}

policy::Observation::CertProblem to_policy(tls::CertProblem problem) {
  using P = policy::Observation::CertProblem;
  switch (problem) {
    case tls::CertProblem::None: return P::None;
    case tls::CertProblem::Expired: return P::Expired;
    case tls::CertProblem::NotYetValid: return P::NotYetValid;
    case tls::CertProblem::HostMismatch: return P::HostMismatch;
    case tls::CertProblem::NotTrusted: return P::NotTrusted;
    case tls::CertProblem::Other: return P::Other;
  }
  return P::Other;
}

bool is_chain_problem(tls::CertProblem p) { return p != tls::CertProblem::None && p != tls::CertProblem::HostMismatch; }

// The one problem the Observation can carry. The record's `problem` is the first the verifier met, which
// may be the name; policy::decide judges the chain before the name, so a chain problem found later (an
// expired certificate for the wrong name) is reported ahead of the mismatch: otherwise the audit log
// would say "not trusted" for a certificate whose real fault is that it expired.
policy::Observation::CertProblem observed_problem(const tls::CertVerification& v) {
  if (!v.performed) return policy::Observation::CertProblem::None;
  if (is_chain_problem(v.problem)) return to_policy(v.problem);
  for (tls::CertProblem p : {tls::CertProblem::Expired, tls::CertProblem::NotYetValid, tls::CertProblem::NotTrusted,
                             tls::CertProblem::Other}) {
    if (v.has(p)) return to_policy(p);
  }
  if (v.problem == tls::CertProblem::HostMismatch || v.has(tls::CertProblem::HostMismatch)) {
    return policy::Observation::CertProblem::HostMismatch;
  }
  return policy::Observation::CertProblem::None;
}

// What the DANE check found; NotChecked unless the chain was checked against TLSA records at all.
policy::Observation::DaneMatch dane_match(const tls::CertVerification& v) {
  using M = policy::Observation::DaneMatch;
  if (!v.performed || !v.dane) return M::NotChecked;
  switch (v.dane_match) {
    case tls::DaneResult::Match::EndEntity: return M::EndEntity;
    case tls::DaneResult::Match::TrustAnchor: return M::TrustAnchor;
    case tls::DaneResult::Match::None: break;
  }
  return M::None;
}

// A reply as one log-safe line: "554 5.7.1 go away" (lines of a multi-line reply joined by spaces).
std::string describe(const smtp::Reply& reply) {
  std::string text = std::to_string(reply.code);
  for (const std::string& line : reply.lines) {
    if (text.size() > 300) break;
    if (!line.empty()) text += ' ' + line;
  }
  return log_text::sanitize(text, 200);
}

// RFC 1870: "SIZE" alone or "SIZE 0" announces no fixed limit; an unreadable number is taken as none.
std::uint64_t size_limit(std::string_view params) {
  std::size_t start = params.find_first_not_of(' ');
  if (start == std::string_view::npos) return 0;
  std::string_view number = params.substr(start);
  std::size_t end = number.find(' ');
  if (end != std::string_view::npos) number = number.substr(0, end);
  std::uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || ptr != number.data() + number.size()) return 0;
  return value;
}

// The first line of an EHLO reply is the server's name and greeting, never a keyword (a banner
// "mx.example STARTTLS" offers nothing); each later line is a keyword and its parameters.
Capabilities parse_capabilities(const smtp::Reply& reply) {
  Capabilities caps;
  caps.esmtp = true;
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    std::string_view line = reply.lines[i];
    std::size_t space = line.find(' ');
    std::string keyword = ascii::upper(line.substr(0, space));
    std::string_view params = space == std::string_view::npos ? std::string_view() : line.substr(space);
    if (keyword == "PIPELINING") caps.pipelining = true;
    else if (keyword == "SIZE") {
      // A second SIZE line does not lower or raise the first: servers that repeat it are wrong either way.
      if (!caps.size) caps.max_size = size_limit(params);
      caps.size = true;
    } else if (keyword == "8BITMIME") caps.eightbitmime = true;
    else if (keyword == "SMTPUTF8") caps.smtputf8 = true;
    else if (keyword == "CHUNKING") caps.chunking = true;
    else if (keyword == "STARTTLS") caps.starttls = true;
    else if (keyword == "ENHANCEDSTATUSCODES") caps.enhanced_status_codes = true;
    else if (keyword == "DSN") caps.dsn = true;
  }
  return caps;
}

constexpr std::string_view kQuit = "QUIT\r\n";

DialogueAction sending(std::string write) {
  DialogueAction action;
  action.write = std::move(write);
  return action;
}

DialogueAction closing(std::string_view write) {
  DialogueAction action = sending(std::string(write));
  action.close = true;
  return action;
}

}  // namespace

std::string_view to_string(DialogueState state) {
  switch (state) {
    case DialogueState::Greeting: return "greeting";
    case DialogueState::Ehlo: return "ehlo";
    case DialogueState::Helo: return "helo";
    case DialogueState::StarttlsReply: return "starttls-reply";
    case DialogueState::Handshake: return "handshake";
    case DialogueState::EhloAfterTls: return "ehlo-after-tls";
    case DialogueState::Ready: return "ready";
    case DialogueState::Refused: return "refused";
    case DialogueState::Failed: return "failed";
  }
  return "unknown";
}

tls::DaneExpectation dane_expectation(const policy::EffectivePolicy& host_policy, const std::string& mx_host) {
  tls::DaneExpectation expectation{policy::usable_records(host_policy.dane.records), {mx_host}};
  if (host_policy.dane.mx_secure && !same_host(host_policy.domain, mx_host)) {
    expectation.reference_names.push_back(host_policy.domain);
  }
  return expectation;
}

TlsFacts tls_facts(const tls::Engine& engine) {
  TlsFacts facts;
  // Before the handshake is done BoringSSL's version and cipher are not the negotiated ones (there may be
  // none yet): a failed handshake reports neither rather than a guess.
  if (engine.handshake_done()) {
    tls::SessionInfo info = engine.info();
    facts.version = std::move(info.version);
    facts.cipher = std::move(info.cipher);
  }
  facts.verification = engine.verification();
  facts.failure = engine.failure().kind;
  facts.failure_reason = engine.failure().reason;
  return facts;
}

MxDialogue::MxDialogue(policy::EffectivePolicy policy, std::string mx_host, std::string helo_name, bool plaintext_retry,
                       DialogueLimits limits)
    // A `dane` policy on a host DANE does not cover is the domain's other policy for everything this
    // connection does (STARTTLS, the certificate check, a plaintext retry).
    : policy_(policy::applicable_policy(policy)),
      mx_host_(std::move(mx_host)),
      helo_name_(std::move(helo_name)),
      plaintext_retry_(plaintext_retry),
      limits_(limits) {
  observation_.mx_host = mx_host_;
}

bool MxDialogue::finished() const {
  return state_ == DialogueState::Ready || state_ == DialogueState::Refused || state_ == DialogueState::Failed;
}

DialogueAction MxDialogue::on_bytes(std::string_view bytes) {
  if (state_ == DialogueState::Ready) {
    // The dialogue is over; whatever comes now answers nothing we sent. Bounded by what the driver reads
    // before it looks (it must look right after Ready).
    if (leftover_.size() < limits_.max_reply_line) leftover_.append(bytes.substr(0, limits_.max_reply_line));
    return {};
  }
  // Refused / Failed: the connection is going away; its last words (a 221 to our QUIT) mean nothing.
  if (finished() || bytes.empty()) return {};
  if (state_ == DialogueState::Handshake) {
    // The driver's Connection feeds every byte after start_tls to TLS; plaintext that reaches us now came
    // in before the handshake took over: the remote (or someone in the path) speaking out of turn, as in
    // a response injection. Never read it as a reply.
    observation_.injected_after_starttls = true;
    observation_.handshake = Handshake::Failed;
    specifics_ = "plaintext arrived during the TLS handshake";
    return tls_attempt_failed(false);
  }

  // Parse only when something new can be judged: a line end (a reply may be complete), the first bytes of
  // a line (its code and separator: garbage is caught without waiting for a line end), or a line that has
  // grown past the limit. The parser starts over at the front every time, so parsing at every byte of
  // a reply dripped a byte at a time (up to max_reply_lines x max_reply_line) would cost quadratic time.
  std::size_t tail_before = tail_;
  in_.append(bytes);
  std::size_t lf = bytes.rfind('\n');
  tail_ = lf == std::string_view::npos ? tail_ + bytes.size() : bytes.size() - lf - 1;
  if (lf == std::string_view::npos && tail_before >= 4 && tail_ < limits_.max_reply_line) return {};

  smtp::ReplyParse parsed = smtp::parse_reply(in_, limits_.max_reply_line, limits_.max_reply_lines);
  if (parsed.status == smtp::ReplyStatus::NeedMore) return {};
  tail_ = 0;
  if (parsed.status != smtp::ReplyStatus::Complete) {
    in_.clear();
    return fail(Cause::Malformed, "sent an invalid reply in the " + std::string(to_string(state_)) + " step (" +
                                      parsed.error + ")",
                false);
  }
  std::string rest = in_.substr(parsed.consumed);
  in_.clear();
  last_reply_ = parsed.reply;
  DialogueState step = state_;
  DialogueAction action = handle_reply(parsed.reply, rest.size());
  if (rest.empty()) return action;
  if (state_ == DialogueState::Ready) {
    leftover_ = rest.substr(0, limits_.max_reply_line);
  } else if (!finished()) {
    // We never pipeline: every reply is followed by a command of ours, and nothing can answer a command
    // before it was sent. Bytes after a reply are a reply nobody asked for (fail closed, as the inbound
    // side does with its backend); the command the reply would have led to is not sent.
    return fail(Cause::Unsolicited, "sent a reply nobody asked for after its reply in the " +
                                        std::string(to_string(step)) + " step",
                false);
  }
  return action;
}

DialogueAction MxDialogue::handle_reply(const smtp::Reply& reply, std::size_t extra_bytes) {
  switch (state_) {
    case DialogueState::Greeting: return on_greeting(reply);
    case DialogueState::Ehlo: return on_ehlo(reply);
    case DialogueState::Helo: return on_helo(reply);
    case DialogueState::StarttlsReply: return on_starttls_reply(reply, extra_bytes);
    case DialogueState::EhloAfterTls: return on_ehlo_after_tls(reply);
    case DialogueState::Handshake:
    case DialogueState::Ready:
    case DialogueState::Refused:
    case DialogueState::Failed: break;
  }
  return {};
}

DialogueAction MxDialogue::on_greeting(const smtp::Reply& reply) {
  if (reply.code != 220) {
    // Not a policy failure: this MX does not take mail now (or is not an SMTP server). A 4xx/5xx greeting
    // still waits for our QUIT (RFC 5321 §3.1), except 421, which closes itself; anything else is not
    // SMTP and gets nothing.
    bool quit = (reply.klass() == 4 || reply.klass() == 5) && reply.code != 421;
    return fail(Cause::Greeting, "greeted with " + describe(reply), quit);
  }
  if (!usable_helo_name(helo_name_)) {
    return fail(Cause::BadHeloName, "not greeted: the local HELO name \"" + log_text::sanitize(helo_name_, 64) +
                                        "\" cannot be sent",
                true);
  }
  // The driver checks the policy's mx patterns and DANE facts before it connects; checking again here
  // means a driver that forgot (or a route that names another host) still cannot send a byte of mail to
  // an MX the policy does not allow. A testing policy only reports it and goes on.
  if (policy::decide_without_connecting(policy_, mx_host_)) {
    if (auto refused = decide_or_refuse(true)) return *refused;
  }
  state_ = DialogueState::Ehlo;
  return sending("EHLO " + helo_name_ + "\r\n");
}

DialogueAction MxDialogue::on_ehlo(const smtp::Reply& reply) {
  if (reply.code == 250) {
    capabilities_ = parse_capabilities(reply);
    observation_.starttls_offered = capabilities_.starttls;
    return after_hello();
  }
  if (reply.klass() == 5) {
    // RFC 5321 §3.2: a server that does not do ESMTP answers EHLO with a 5xx; HELO then works without
    // extensions (so without STARTTLS). Postfix's smtp client falls back the same way.
    state_ = DialogueState::Helo;
    return sending("HELO " + helo_name_ + "\r\n");
  }
  // 4xx: a temporary refusal, HELO would fare no better; 421 closes by itself.
  bool quit = reply.klass() == 4 && reply.code != 421;
  return fail(Cause::Reply, "answered EHLO with " + describe(reply), quit);
}

DialogueAction MxDialogue::on_helo(const smtp::Reply& reply) {
  if (reply.code == 250) {
    capabilities_ = Capabilities{};
    observation_.starttls_offered = false;
    return after_hello();
  }
  bool quit = (reply.klass() == 4 || reply.klass() == 5) && reply.code != 421;
  return fail(Cause::Reply, "answered EHLO and HELO with " + describe(reply), quit);
}

DialogueAction MxDialogue::after_hello() {
  if (policy_.level == policy::TlsLevel::None || plaintext_retry_) {
    // A plaintext retry exists because the TLS attempt on the previous connection to this address
    // failed: that is what this connection observes, so the verdict (and the audit) says so, and a
    // policy that needs TLS still refuses even if a driver retried where it should not have.
    if (plaintext_retry_ && policy_.level != policy::TlsLevel::None) {
      observation_.handshake = Handshake::Failed;
      specifics_ = "plaintext retry after a failed TLS attempt";
    }
    if (auto refused = decide_or_refuse(true)) return *refused;
    return ready();
  }
  if (!observation_.starttls_offered) {
    if (auto refused = decide_or_refuse(true)) return *refused;
    return ready();
  }
  state_ = DialogueState::StarttlsReply;
  tls_attempt_ = TlsAttempt::Sent;
  return sending("STARTTLS\r\n");
}

DialogueAction MxDialogue::on_starttls_reply(const smtp::Reply& reply, std::size_t extra_bytes) {
  if (reply.code == 220) {
    if (extra_bytes > 0) {
      // Response injection (CVE-2011-0411 class, seen from the client side): bytes after the 220 in the
      // same read were sent before the handshake, in plaintext, by the remote or by whoever is in the
      // path. If they were kept, they would be read as the reply to our EHLO after TLS. Abort the
      // connection, count it as a failed TLS attempt, and drop them unread.
      observation_.injected_after_starttls = true;
      observation_.handshake = Handshake::Failed;
      specifics_ = std::to_string(extra_bytes) + (extra_bytes == 1 ? " byte" : " bytes") + " after the 220";
      return tls_attempt_failed(false);
    }
    state_ = DialogueState::Handshake;
    handshake_started_ = true;
    DialogueAction action;
    action.start_tls = true;
    // Verify, mta-sts and DANE with usable TLSA records fail the handshake on a certificate problem. A
    // testing policy (MTA-STS "mode: testing") must not: RFC 8461 §5 has the sender deliver as it would
    // without the policy, so the problem is only recorded and reported, and the mail goes over TLS
    // rather than in plaintext after a handshake the check killed.
    const policy::CertificateCheck check = policy::certificate_check(policy_);
    action.verify_certificate = check != policy::CertificateCheck::Recorded;
    action.dane = check == policy::CertificateCheck::Dane;
    return action;
  }
  // 454 (RFC 3207: TLS not available now), a 5xx, anything but 220: STARTTLS refused, no handshake. The
  // connection is still plaintext with the first EHLO's capabilities, which a refused STARTTLS does not
  // change, so a policy that allows plaintext goes on here.
  specifics_ = "STARTTLS answered with " + describe(reply);
  tls_attempt_ = TlsAttempt::Declined;
  if (auto refused = decide_or_refuse(reply.code != 421)) return *refused;
  if (reply.code == 421) return fail(Cause::Reply, "answered STARTTLS with " + describe(reply), false);
  return ready();
}

DialogueAction MxDialogue::on_tls_ready(const TlsFacts& facts) {
  if (finished()) return {};
  if (state_ != DialogueState::Handshake) {
    return fail(Cause::Driver, "TLS reported ready in the " + std::string(to_string(state_)) + " step", false);
  }
  record_tls(facts, Handshake::Succeeded);
  tls_active_ = true;
  tls_attempt_ = TlsAttempt::Established;
  if (auto refused = decide_or_refuse(true)) return *refused;
  if (verdict_->outcome == policy::Outcome::DeliverPlaintext) {
    // Level may with a TLS session policy::decide does not accept (below TLS 1.2): plaintext is
    // allowed, but not on this connection, which is TLS now. Quit and retry without STARTTLS, exactly as
    // when the handshake itself fails (which it does with the ClientContext's TLS 1.2 minimum).
    return tls_attempt_failed(true);
  }
  // DeliverTls, or AllowedTesting over the TLS session just made. RFC 3207 §4.2: forget everything the
  // server said before TLS and ask again.
  capabilities_ = Capabilities{};
  state_ = DialogueState::EhloAfterTls;
  return sending("EHLO " + helo_name_ + "\r\n");
}

DialogueAction MxDialogue::on_tls_failed(const TlsFacts& facts) {
  if (finished()) return {};
  if (state_ != DialogueState::Handshake) {
    return fail(Cause::Driver, "TLS reported failed in the " + std::string(to_string(state_)) + " step", false);
  }
  record_tls(facts, Handshake::Failed);
  if (facts.failure == tls::FailureKind::CertificateVerify && !facts.verification.x509_text.empty()) {
    // The postmaster's fix is the certificate: say so, whatever words the verifier used.
    specifics_ = "certificate: " + log_text::sanitize(facts.verification.x509_text, 120);
  } else {
    specifics_ = std::string(tls::to_string(facts.failure == tls::FailureKind::None ? tls::FailureKind::Protocol
                                                                                     : facts.failure));
  }
  // After a failed handshake (the alert is on its way) nothing more can be said on this connection.
  return tls_attempt_failed(false);
}

DialogueAction MxDialogue::on_closed() { return connection_lost(false); }

DialogueAction MxDialogue::on_timeout() { return connection_lost(true); }

DialogueAction MxDialogue::connection_lost(bool timed_out) {
  if (finished()) return {};
  DialogueState was = state_;
  if (was == DialogueState::Handshake) {
    // Servers that cannot agree on a version or cipher often just hang up (or, behind some middleboxes,
    // go silent): a failed handshake.
    TlsFacts facts;
    facts.failure = timed_out ? tls::FailureKind::Protocol : tls::FailureKind::UnexpectedEof;
    facts.failure_reason = timed_out ? "handshake: timed out" : "handshake: connection closed";
    record_tls(facts, Handshake::Failed);
    specifics_ = timed_out ? "the TLS handshake timed out" : "connection closed during the TLS handshake";
    return tls_attempt_failed(false);
  }
  if (was == DialogueState::StarttlsReply) {
    // The remote hung up on our STARTTLS or never answered it (or something in the path did that, a
    // downgrade as easy as stripping the keyword): STARTTLS offered, no handshake. A may-level domain
    // retries in plaintext, as Postfix's smtp client does when the session is lost around STARTTLS.
    specifics_ = timed_out ? "no reply to STARTTLS in time" : "connection closed after STARTTLS";
    return tls_attempt_failed(false);
  }
  return fail(timed_out ? Cause::Timeout : Cause::Closed,
              (timed_out ? "did not answer in time in the " : "closed the connection in the ") +
                  std::string(to_string(was)) + " step",
              false);
}

DialogueAction MxDialogue::on_ehlo_after_tls(const smtp::Reply& reply) {
  if (reply.code == 250) {
    capabilities_ = parse_capabilities(reply);
    return ready();
  }
  // A server that took STARTTLS and then refuses EHLO is broken, not downgraded: try the next MX. HELO
  // is no way out (it would hide the extensions that ESMTP framing such as SIZE depends on, and a
  // server that speaks STARTTLS speaks EHLO).
  bool quit = (reply.klass() == 4 || reply.klass() == 5) && reply.code != 421;
  return fail(Cause::AfterTls, "answered EHLO after TLS with " + describe(reply), quit);
}

std::optional<DialogueAction> MxDialogue::decide_or_refuse(bool connection_usable) {
  verdict_ = policy::decide(policy_, observation_);
  if (verdict_->outcome != policy::Outcome::Refuse) return std::nullopt;
  state_ = DialogueState::Refused;
  // QUIT where the connection can still carry it (in the clear before STARTTLS, or over TLS after it);
  // after an injection or a failed handshake nothing more is said.
  return closing(connection_usable ? kQuit : "");
}

DialogueAction MxDialogue::tls_attempt_failed(bool connection_usable) {
  if (tls_attempt_ != TlsAttempt::Established) tls_attempt_ = TlsAttempt::Failed;
  if (auto refused = decide_or_refuse(connection_usable)) return *refused;
  // Delivery without TLS is allowed (level may, or a testing policy), but this connection cannot carry
  // it: it is dead, poisoned by an injection, or running a TLS session the policy does not accept.
  // Reconnect to the same address without STARTTLS (Postfix: RETRY_AS_PLAINTEXT). A plaintext retry
  // never gets here: it sends no STARTTLS.
  wants_plaintext_retry_ = !plaintext_retry_;
  state_ = DialogueState::Failed;
  cause_ = Cause::None;
  return closing(connection_usable ? kQuit : "");
}

DialogueAction MxDialogue::fail(Cause cause, std::string what, bool send_quit) {
  state_ = DialogueState::Failed;
  cause_ = cause;
  failure_ = mx_host_ + " " + what;
  return closing(send_quit ? kQuit : "");
}

DialogueAction MxDialogue::ready() {
  // Never Ready with a policy that is not satisfied: a verdict that lets mail go, and over TLS only if
  // the TLS session exists. (Every path here has decided already; this holds whatever changes later.)
  bool allowed = verdict_ && verdict_->outcome != policy::Outcome::Refuse &&
                 (verdict_->outcome != policy::Outcome::DeliverTls || tls_active_) &&
                 (tls_active_ || !policy::requires_tls(policy_.level) || policy_.testing);
  if (!allowed) return fail(Cause::Driver, "reached no usable verdict", true);
  state_ = DialogueState::Ready;
  return {};
}

void MxDialogue::record_tls(const TlsFacts& facts, Handshake handshake) {
  tls_ = facts;
  observation_.handshake = handshake;
  observation_.tls_version = facts.version;
  const tls::CertVerification& v = facts.verification;
  observation_.chain_trusted = v.chain_trusted();
  // The verifier checked the name the driver gave new_ssl; it only counts if that is this MX.
  observation_.host_matches = v.host_matches() && same_host(v.expected_host, mx_host_);
  observation_.cert_problem = observed_problem(v);
  observation_.dane_match = dane_match(v);
}

std::string MxDialogue::failure_text() const {
  auto policy_text = [this] {
    std::string text = policy::reply_text(policy_, *verdict_);
    if (!specifics_.empty()) text += " (" + specifics_ + ")";
    return log_text::sanitize(text, 400);
  };
  switch (state_) {
    case DialogueState::Refused: return policy_text();
    case DialogueState::Failed:
      if (wants_plaintext_retry_) {
        return policy_text() + "; retrying " + log_text::sanitize(mx_host_) + " without STARTTLS";
      }
      if (cause_ == Cause::None && verdict_) return policy_text();
      return log_text::sanitize(failure_, 400);
    default:
      // Delivering anyway (may, testing): what enforcement would have said, for the log and the audit.
      if (verdict_ && verdict_->reason != policy::ResultType::None) return policy_text();
      return "";
  }
}

}  // namespace mxguard::outbound
