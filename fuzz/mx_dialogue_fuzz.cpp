// The outbound dialogue with one remote MX (proxy/outbound/mx_dialogue.h) under a hostile remote and a
// sloppy driver: random remote bytes, TLS successes and failures with random facts, closes, in any order.
// Checks, after every event: STARTTLS is started at most once and only in answer to our STARTTLS; the
// dialogue is never Ready with a policy that is not satisfied; every verdict is policy::decide over the
// observation; only our four commands are ever written; nothing happens after a close or a final state.
//
// Input: byte 0 the policy (level in the low 4 bits, 0x10 testing, 0x60 mx patterns, 0x80 MX records
// DNSSEC-validated), byte 1 the rest of the set-up (plaintext retry, HELO name, limits, MX name spelling,
// the DANE status in the top three bits), then events separated by 0x01.
// An event's first byte says what it is: 'B' bytes from the remote (the rest of the event), 'b' the same
// bytes one at a time, 'R' on_tls_ready / 'F' on_tls_failed with facts read from the next bytes, 'C'
// on_closed, 'T' on_timeout; any other first byte makes the whole event remote bytes. The seeds in
// seeds/mx_dialogue/ are whole dialogues in this form.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/check.h"
#include "policy/tls_level.h"
#include "policy/verdict.h"
#include "proxy/outbound/mx_dialogue.h"

using namespace mxguard;
using outbound::DialogueAction;
using outbound::DialogueState;
using outbound::MxDialogue;

namespace {

constexpr std::string_view kMx = "mx1.example.org";
constexpr std::string_view kHelo = "relay.mxguard.test";

unsigned char at(std::string_view s, std::size_t i) { return i < s.size() ? static_cast<unsigned char>(s[i]) : 0; }

outbound::TlsFacts facts_from(std::string_view b, std::string_view mx_host, bool verify) {
  static const char* const kVersions[] = {"TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1", "", "SSLv3", "TLSv1.4", "TLSv1.2x"};
  outbound::TlsFacts f;
  f.version = kVersions[at(b, 0) % 8];
  f.cipher = "TLS_AES_128_GCM_SHA256";
  tls::CertVerification& v = f.verification;
  unsigned char mask = at(b, 1);
  v.performed = (mask & 0x40) == 0;
  v.required = (mask & 0x80) ? !verify : verify;
  v.problems = (mask & 0x3e);   // bits 1..5: Expired .. Other
  int first = at(b, 2) % 6;
  if (v.problems & (1u << first)) {
    v.problem = static_cast<tls::CertProblem>(first);
  } else {
    for (int p = 1; p <= 5; ++p) {
      if (v.problems & (1u << p)) {
        v.problem = static_cast<tls::CertProblem>(p);
        break;
      }
    }
  }
  if (v.problem != tls::CertProblem::None) v.x509_text = "problem\r\nwith\x1b[31m control bytes";
  switch (at(b, 3) % 4) {
    case 0: v.expected_host = std::string(mx_host); break;
    case 1: v.expected_host = "mx.other.test"; break;
    case 2: v.expected_host = ""; break;
    default: v.expected_host = "MX1.EXAMPLE.ORG."; break;
  }
  f.failure = static_cast<tls::FailureKind>(at(b, 4) % 8);
  f.failure_reason = "handshake: something";
  if (at(b, 5) & 1) {   // checked against TLSA records, with some outcome
    v.dane = tls::DaneExpectation{};
    v.dane_match = static_cast<tls::DaneResult::Match>((at(b, 5) >> 1) % 3);
  }
  return f;
}

// What the driver has seen, to hold the dialogue to its word.
struct Model {
  policy::EffectivePolicy policy;
  bool plaintext_retry = false;
  std::string helo;
  std::size_t max_reply_line = 0;
  std::vector<std::string> commands;   // every command written, in order
  int start_tls = 0;
  bool verify = false;
  bool tls_reported_ready = false;     // an on_tls_ready reached the dialogue while it was in Handshake
  bool ehlo_after_tls = false;         // an EHLO was written after TLS came up
  bool closed = false;                 // an action said close
  bool finished = false;
  DialogueState final_state = DialogueState::Greeting;
  std::optional<policy::Verdict> final_verdict;
};

void check_action(Model& m, const MxDialogue& d, DialogueState before, const DialogueAction& a) {
  if (m.closed || m.finished) FUZZ_CHECK(a.empty());   // nothing after a close or a final state
  if (!a.write.empty()) {
    // Only whole commands of ours, each one line: never a peer byte, never the HELO name's own CR/LF.
    const std::string ehlo = "EHLO " + m.helo + "\r\n";
    const std::string helo = "HELO " + m.helo + "\r\n";
    FUZZ_CHECK(a.write == ehlo || a.write == helo || a.write == "STARTTLS\r\n" || a.write == "QUIT\r\n");
    if (a.write == "QUIT\r\n") FUZZ_CHECK(a.close);
    if (a.write == "STARTTLS\r\n") {
      FUZZ_CHECK(!m.plaintext_retry && m.policy.level != policy::TlsLevel::None);
      FUZZ_CHECK(std::find(m.commands.begin(), m.commands.end(), "STARTTLS\r\n") == m.commands.end());
    }
    if (a.write == ehlo && m.tls_reported_ready) m.ehlo_after_tls = true;
    m.commands.push_back(a.write);
  }
  if (a.start_tls) {
    ++m.start_tls;
    FUZZ_CHECK(m.start_tls == 1);   // never twice
    FUZZ_CHECK(before == DialogueState::StarttlsReply && d.state() == DialogueState::Handshake);
    FUZZ_CHECK(!m.commands.empty() && m.commands.back() == "STARTTLS\r\n");
    FUZZ_CHECK(a.write.empty() && !a.close);
    const policy::CertificateCheck check = policy::certificate_check(m.policy);
    FUZZ_CHECK(a.verify_certificate == (check != policy::CertificateCheck::Recorded));
    FUZZ_CHECK(a.dane == (check == policy::CertificateCheck::Dane));
    m.verify = a.verify_certificate;
  } else {
    FUZZ_CHECK(!a.verify_certificate && !a.dane);
  }
  if (a.close) m.closed = true;
}

void check_state(Model& m, const MxDialogue& d) {
  const policy::Observation& o = d.observation();
  FUZZ_CHECK(o.mx_host == d.mx_host());
  FUZZ_CHECK(printable_ascii(d.failure_text()));
  if (d.verdict()) FUZZ_CHECK(*d.verdict() == policy::decide(m.policy, o));
  if (o.injected_after_starttls || o.handshake != policy::Observation::Handshake::NotAttempted) {
    FUZZ_CHECK(m.plaintext_retry ||
               std::find(m.commands.begin(), m.commands.end(), "STARTTLS\r\n") != m.commands.end());
  }
  if (!d.leftover().empty()) FUZZ_CHECK(d.state() == DialogueState::Ready);
  FUZZ_CHECK(d.leftover().size() <= 2 * m.max_reply_line);
  if (d.wants_plaintext_retry()) {
    FUZZ_CHECK(d.state() == DialogueState::Failed && !m.plaintext_retry && m.closed);
    FUZZ_CHECK(d.verdict() && (d.verdict()->outcome == policy::Outcome::DeliverPlaintext ||
                               d.verdict()->outcome == policy::Outcome::AllowedTesting));
  }
  if (d.tls_active()) FUZZ_CHECK(m.start_tls == 1 && m.tls_reported_ready);

  switch (d.state()) {
    case DialogueState::Ready: {
      // Never Ready with an unsatisfied policy.
      FUZZ_CHECK(d.verdict().has_value());
      const policy::Verdict& v = *d.verdict();
      FUZZ_CHECK(v.outcome != policy::Outcome::Refuse);
      FUZZ_CHECK(!m.closed);
      if (v.outcome == policy::Outcome::DeliverTls) FUZZ_CHECK(d.tls_active());
      if (d.tls_active()) {
        FUZZ_CHECK(o.handshake == policy::Observation::Handshake::Succeeded && m.ehlo_after_tls);
      }
      // The policy the connection is held to: `dane` where DANE does not cover the host is the other one.
      const policy::EffectivePolicy held = policy::applicable_policy(m.policy);
      FUZZ_CHECK(!policy::decide_without_connecting(m.policy, d.mx_host()) || (held.testing && held.level < policy::TlsLevel::Dane));
      // Testing mode lets refusals through, but DANE has none.
      if (!(held.testing && held.level < policy::TlsLevel::Dane)) {
        FUZZ_CHECK(policy::mx_allowed(held, d.mx_host()));
        if (policy::requires_tls(held.level)) {
          FUZZ_CHECK(d.tls_active() && v.outcome == policy::Outcome::DeliverTls);
          FUZZ_CHECK(policy::meets_minimum_tls_version(o.tls_version) && !o.injected_after_starttls);
        }
        const bool chain_and_name_ok =
            o.chain_trusted && o.host_matches && o.cert_problem == policy::Observation::CertProblem::None;
        switch (policy::certificate_check(held)) {
          case policy::CertificateCheck::WebPki: FUZZ_CHECK(chain_and_name_ok); break;
          case policy::CertificateCheck::Dane:
            FUZZ_CHECK(o.dane_match == policy::Observation::DaneMatch::EndEntity ||
                       (o.dane_match == policy::Observation::DaneMatch::TrustAnchor && chain_and_name_ok));
            break;
          case policy::CertificateCheck::Recorded: break;
        }
      }
      break;
    }
    case DialogueState::Refused:
      FUZZ_CHECK(d.verdict() && d.verdict()->outcome == policy::Outcome::Refuse && m.closed);
      FUZZ_CHECK(!d.failure_text().empty());
      break;
    case DialogueState::Failed:
      FUZZ_CHECK(m.closed && !d.failure_text().empty());
      break;
    case DialogueState::Handshake: FUZZ_CHECK(m.start_tls == 1); break;
    default: FUZZ_CHECK(!m.closed); break;
  }

  // Final states stay as they are, verdict and all.
  if (m.finished) {
    FUZZ_CHECK(d.state() == m.final_state && d.verdict() == m.final_verdict);
  } else if (d.finished()) {
    m.finished = true;
    m.final_state = d.state();
    m.final_verdict = d.verdict();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  unsigned char p0 = at(input, 0);
  unsigned char p1 = at(input, 1);
  input.remove_prefix(std::min<std::size_t>(2, input.size()));

  Model m;
  m.policy.domain = "example.org";
  m.policy.level = static_cast<policy::TlsLevel>((p0 & 0x0f) % 7);
  m.policy.source = policy::PolicySource::Config;
  m.policy.testing = (p0 & 0x10) != 0;
  m.policy.dane.mx_secure = (p0 & 0x80) != 0;
  m.policy.dane.status = static_cast<policy::DaneStatus>((p1 >> 5) % 6);
  switch ((p0 >> 5) & 3) {
    case 1: m.policy.mx_patterns = {"*.example.org"}; break;
    case 2: m.policy.mx_patterns = {"mx.other.test"}; break;
    case 3: m.policy.mx_patterns = {"mx.other.test", "MX1.example.org"}; break;
    default: break;
  }
  m.plaintext_retry = (p1 & 1) != 0;
  m.helo = (p1 & 2) ? "bad name\r\nRSET" : std::string(kHelo);
  static const outbound::DialogueLimits kLimits[] = {{4096, 100}, {512, 5}, {64, 3}, {8, 1}};
  outbound::DialogueLimits limits = kLimits[(p1 >> 2) & 3];
  m.max_reply_line = limits.max_reply_line;
  std::string mx = (p1 & 0x10) ? "MX1.Example.ORG." : std::string(kMx);

  MxDialogue d(m.policy, mx, m.helo, m.plaintext_retry, limits);
  check_state(m, d);

  auto apply = [&](auto&& event) {
    DialogueState before = d.state();
    DialogueAction a = event();
    check_action(m, d, before, a);
    check_state(m, d);
  };

  while (!input.empty()) {
    std::size_t end = input.find('\x01');
    std::string_view ev = input.substr(0, end);
    input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
    char kind = ev.empty() ? 'B' : ev[0];
    std::string_view rest = ev.empty() ? ev : ev.substr(1);
    switch (kind) {
      case 'B': apply([&] { return d.on_bytes(rest); }); break;
      case 'b':
        for (std::size_t i = 0; i < rest.size(); ++i) apply([&] { return d.on_bytes(rest.substr(i, 1)); });
        break;
      case 'R':
        apply([&] {
          bool in_handshake = d.state() == DialogueState::Handshake;
          DialogueAction a = d.on_tls_ready(facts_from(rest, mx, m.verify));
          if (in_handshake && d.tls_active()) m.tls_reported_ready = true;
          return a;
        });
        break;
      case 'F': apply([&] { return d.on_tls_failed(facts_from(rest, mx, m.verify)); }); break;
      case 'C': apply([&] { return d.on_closed(); }); break;
      case 'T': apply([&] { return d.on_timeout(); }); break;
      default: apply([&] { return d.on_bytes(ev); }); break;
    }
  }
  return 0;
}
