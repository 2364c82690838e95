// Every level against every way a remote MX can behave around STARTTLS: one row each, with the state the
// dialogue ends in, the verdict, whether the mail may go over TLS, in plaintext, or after a plaintext
// retry, and the commands it sent on the way.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "proxy/outbound/mx_dialogue.h"
#include "proxy/outbound/tests/dialogue_script.h"

namespace mxguard::outbound {
namespace {

using namespace testing;
using policy::Outcome;
using policy::ResultType;
using policy::TlsLevel;

enum class Remote {
  Good,              // STARTTLS, TLS 1.3, a trusted certificate for the MX
  NotOffered,        // no STARTTLS in the EHLO reply
  Refused454,        // STARTTLS answered with 454
  HandshakeFails,    // no cipher in common, say
  CertExpired,       // the certificate expired: recorded, or fails the handshake when verification is required
  WrongHost,         // a certificate for another name
  Untrusted,         // self-signed
  Tls11Negotiated,   // a TLS layer without our minimum let TLS 1.1 through
  Tls11Refused,      // the usual case: the handshake fails with "protocol version too low"
  Injection,         // plaintext after the 220 to STARTTLS
};

const char* name(Remote r) {
  switch (r) {
    case Remote::Good: return "Good";
    case Remote::NotOffered: return "NotOffered";
    case Remote::Refused454: return "Refused454";
    case Remote::HandshakeFails: return "HandshakeFails";
    case Remote::CertExpired: return "CertExpired";
    case Remote::WrongHost: return "WrongHost";
    case Remote::Untrusted: return "Untrusted";
    case Remote::Tls11Negotiated: return "Tls11Negotiated";
    case Remote::Tls11Refused: return "Tls11Refused";
    case Remote::Injection: return "Injection";
  }
  return "?";
}

// How the mail may leave, as the driver sees it at the end.
enum class End {
  Tls,         // Ready over TLS
  Plaintext,   // Ready in plaintext on this connection
  Retry,       // Failed + wants_plaintext_retry: reconnect without STARTTLS
  Refused,     // Refused: next MX, or the 451
};

struct Row {
  TlsLevel level;
  bool testing;
  Remote remote;
  End end;
  Outcome outcome;
  ResultType reason;
  bool quit;   // the dialogue's last write is QUIT
};

std::string row_name(const Row& r) {
  std::string level(policy::to_string(r.level));
  for (char& c : level) {
    if (c == '-') c = '_';
  }
  return level + (r.testing ? "_testing_" : "_") + name(r.remote);
}

void PrintTo(const Row& r, std::ostream* os) { *os << row_name(r); }

constexpr auto N = TlsLevel::None;
constexpr auto M = TlsLevel::May;
constexpr auto E = TlsLevel::Encrypt;
constexpr auto V = TlsLevel::Verify;
constexpr auto S = TlsLevel::MtaSts;

constexpr auto Tls = End::Tls;
constexpr auto Plain = End::Plaintext;
constexpr auto Retry = End::Retry;
constexpr auto Refused = End::Refused;

constexpr auto DeliverTls = Outcome::DeliverTls;
constexpr auto DeliverPlaintext = Outcome::DeliverPlaintext;
constexpr auto Testing = Outcome::AllowedTesting;
constexpr auto Refuse = Outcome::Refuse;

constexpr auto NoReason = ResultType::None;
constexpr auto NoStarttls = ResultType::StarttlsNotSupported;
constexpr auto Invalid = ResultType::ValidationFailure;
constexpr auto Expired = ResultType::CertificateExpired;
constexpr auto Mismatch = ResultType::CertificateHostMismatch;
constexpr auto NotTrusted = ResultType::CertificateNotTrusted;

// clang-format off
const Row kRows[] = {
    // none: never STARTTLS, whatever the remote would have done next.
    {N, false, Remote::Good,            Plain,   DeliverPlaintext, NoReason,   false},
    {N, false, Remote::NotOffered,      Plain,   DeliverPlaintext, NoReason,   false},
    {N, false, Remote::Refused454,      Plain,   DeliverPlaintext, NoReason,   false},
    {N, false, Remote::HandshakeFails,  Plain,   DeliverPlaintext, NoReason,   false},
    {N, false, Remote::CertExpired,     Plain,   DeliverPlaintext, NoReason,   false},
    {N, false, Remote::WrongHost,       Plain,   DeliverPlaintext, NoReason,   false},
    {N, false, Remote::Untrusted,       Plain,   DeliverPlaintext, NoReason,   false},
    {N, false, Remote::Tls11Negotiated, Plain,   DeliverPlaintext, NoReason,   false},
    {N, false, Remote::Tls11Refused,    Plain,   DeliverPlaintext, NoReason,   false},
    {N, false, Remote::Injection,       Plain,   DeliverPlaintext, NoReason,   false},
    // may: TLS when it works, any certificate; plaintext on this connection or on a retry otherwise.
    {M, false, Remote::Good,            Tls,     DeliverTls,       NoReason,   false},
    {M, false, Remote::NotOffered,      Plain,   DeliverPlaintext, NoStarttls, false},
    {M, false, Remote::Refused454,      Plain,   DeliverPlaintext, NoStarttls, false},
    {M, false, Remote::HandshakeFails,  Retry,   DeliverPlaintext, Invalid,    false},
    {M, false, Remote::CertExpired,     Tls,     DeliverTls,       NoReason,   false},
    {M, false, Remote::WrongHost,       Tls,     DeliverTls,       NoReason,   false},
    {M, false, Remote::Untrusted,       Tls,     DeliverTls,       NoReason,   false},
    {M, false, Remote::Tls11Negotiated, Retry,   DeliverPlaintext, Invalid,    true},
    {M, false, Remote::Tls11Refused,    Retry,   DeliverPlaintext, Invalid,    false},
    {M, false, Remote::Injection,       Retry,   DeliverPlaintext, Invalid,    false},
    // encrypt: TLS 1.2+ with any certificate, or nothing.
    {E, false, Remote::Good,            Tls,     DeliverTls,       NoReason,   false},
    {E, false, Remote::NotOffered,      Refused, Refuse,           NoStarttls, true},
    {E, false, Remote::Refused454,      Refused, Refuse,           NoStarttls, true},
    {E, false, Remote::HandshakeFails,  Refused, Refuse,           Invalid,    false},
    {E, false, Remote::CertExpired,     Tls,     DeliverTls,       NoReason,   false},
    {E, false, Remote::WrongHost,       Tls,     DeliverTls,       NoReason,   false},
    {E, false, Remote::Untrusted,       Tls,     DeliverTls,       NoReason,   false},
    {E, false, Remote::Tls11Negotiated, Refused, Refuse,           Invalid,    true},
    {E, false, Remote::Tls11Refused,    Refused, Refuse,           Invalid,    false},
    {E, false, Remote::Injection,       Refused, Refuse,           Invalid,    false},
    // verify: and a trusted certificate for the MX name; the verifier fails the handshake on a problem.
    {V, false, Remote::Good,            Tls,     DeliverTls,       NoReason,   false},
    {V, false, Remote::NotOffered,      Refused, Refuse,           NoStarttls, true},
    {V, false, Remote::Refused454,      Refused, Refuse,           NoStarttls, true},
    {V, false, Remote::HandshakeFails,  Refused, Refuse,           Invalid,    false},
    {V, false, Remote::CertExpired,     Refused, Refuse,           Expired,    false},
    {V, false, Remote::WrongHost,       Refused, Refuse,           Mismatch,   false},
    {V, false, Remote::Untrusted,       Refused, Refuse,           NotTrusted, false},
    {V, false, Remote::Tls11Negotiated, Refused, Refuse,           Invalid,    true},
    {V, false, Remote::Tls11Refused,    Refused, Refuse,           Invalid,    false},
    {V, false, Remote::Injection,       Refused, Refuse,           Invalid,    false},
    // mta-sts in enforce mode: as verify (the MX matches the policy's pattern).
    {S, false, Remote::Good,            Tls,     DeliverTls,       NoReason,   false},
    {S, false, Remote::NotOffered,      Refused, Refuse,           NoStarttls, true},
    {S, false, Remote::Refused454,      Refused, Refuse,           NoStarttls, true},
    {S, false, Remote::HandshakeFails,  Refused, Refuse,           Invalid,    false},
    {S, false, Remote::CertExpired,     Refused, Refuse,           Expired,    false},
    {S, false, Remote::WrongHost,       Refused, Refuse,           Mismatch,   false},
    {S, false, Remote::Untrusted,       Refused, Refuse,           NotTrusted, false},
    {S, false, Remote::Tls11Negotiated, Refused, Refuse,           Invalid,    true},
    {S, false, Remote::Tls11Refused,    Refused, Refuse,           Invalid,    false},
    {S, false, Remote::Injection,       Refused, Refuse,           Invalid,    false},
    // mta-sts in testing mode: deliver, over TLS whenever a handshake completes (verification is only
    // recorded), and report what enforcement would have refused.
    {S, true,  Remote::Good,            Tls,     DeliverTls,       NoReason,   false},
    {S, true,  Remote::NotOffered,      Plain,   Testing,          NoStarttls, false},
    {S, true,  Remote::Refused454,      Plain,   Testing,          NoStarttls, false},
    {S, true,  Remote::HandshakeFails,  Retry,   Testing,          Invalid,    false},
    {S, true,  Remote::CertExpired,     Tls,     Testing,          Expired,    false},
    {S, true,  Remote::WrongHost,       Tls,     Testing,          Mismatch,   false},
    {S, true,  Remote::Untrusted,       Tls,     Testing,          NotTrusted, false},
    {S, true,  Remote::Tls11Negotiated, Tls,     Testing,          Invalid,    false},
    {S, true,  Remote::Tls11Refused,    Retry,   Testing,          Invalid,    false},
    {S, true,  Remote::Injection,       Retry,   Testing,          Invalid,    false},
};
// clang-format on

// The facts the TLS layer reports for this remote: a verifier that must fail the handshake does so,
// one that only records lets it complete.
TlsFacts facts_for(Remote remote, bool verify, bool* failed) {
  *failed = false;
  tls::CertProblem problem = tls::CertProblem::None;
  switch (remote) {
    case Remote::HandshakeFails:
      *failed = true;
      return failed_tls(tls::FailureKind::Protocol, "handshake: NO_SHARED_CIPHER");
    case Remote::Tls11Refused:
      *failed = true;
      return failed_tls(tls::FailureKind::VersionTooLow, "handshake: UNSUPPORTED_PROTOCOL");
    case Remote::Tls11Negotiated: {
      TlsFacts f = good_tls(verify);
      f.version = "TLSv1.1";
      return f;
    }
    case Remote::CertExpired: problem = tls::CertProblem::Expired; break;
    case Remote::WrongHost: problem = tls::CertProblem::HostMismatch; break;
    case Remote::Untrusted: problem = tls::CertProblem::NotTrusted; break;
    default: return good_tls(verify);
  }
  *failed = verify;
  return cert_problem_tls(problem, verify);
}

class LevelMatrix : public ::testing::TestWithParam<Row> {};

TEST_P(LevelMatrix, EndsAsThePolicyDemands) {
  const Row& row = GetParam();
  MxDialogue d(make_policy(row.level, row.testing), std::string(kMx), std::string(kHelo));
  Recorder r;
  std::string expected_writes(kEhloCommand);

  r.add(d.on_bytes(kGreeting));
  r.add(d.on_bytes(row.remote == Remote::NotOffered ? kEhloWithoutStarttls : kEhloWithStarttls));
  if (d.state() == DialogueState::StarttlsReply) {
    expected_writes += kStarttlsCommand;
    if (row.remote == Remote::Refused454) {
      r.add(d.on_bytes(kStarttls454));
    } else if (row.remote == Remote::Injection) {
      r.add(d.on_bytes("220 2.0.0 Ready to start TLS\r\n250-mx1.example.org\r\n250 AUTH PLAIN LOGIN\r\n"));
    } else {
      r.add(d.on_bytes(kStarttlsGo));
      ASSERT_EQ(d.state(), DialogueState::Handshake);
      ASSERT_EQ(r.start_tls, 1);
      // Verification is required exactly where the policy checks certificates and is enforced.
      EXPECT_EQ(r.verify_certificate, policy::requires_authentication(row.level) && !row.testing);
      bool failed = false;
      TlsFacts facts = facts_for(row.remote, r.verify_certificate, &failed);
      r.add(failed ? d.on_tls_failed(facts) : d.on_tls_ready(facts));
      if (d.state() == DialogueState::EhloAfterTls) {
        expected_writes += kEhloCommand;
        r.add(d.on_bytes(kEhloAfterTls));
      }
    }
  }

  switch (row.end) {
    case End::Tls:
      EXPECT_EQ(d.state(), DialogueState::Ready);
      EXPECT_TRUE(d.tls_active());
      EXPECT_EQ(d.observation().handshake, policy::Observation::Handshake::Succeeded);
      EXPECT_EQ(d.capabilities().max_size, 20480000u);   // the second EHLO's
      break;
    case End::Plaintext:
      EXPECT_EQ(d.state(), DialogueState::Ready);
      EXPECT_FALSE(d.tls_active());
      EXPECT_EQ(r.start_tls, 0);
      break;
    case End::Retry:
      EXPECT_EQ(d.state(), DialogueState::Failed);
      EXPECT_TRUE(d.wants_plaintext_retry());
      EXPECT_TRUE(r.closed);
      break;
    case End::Refused:
      EXPECT_EQ(d.state(), DialogueState::Refused);
      EXPECT_TRUE(r.closed);
      break;
  }
  if (row.end != End::Retry) {
    EXPECT_FALSE(d.wants_plaintext_retry());
  }
  if (row.quit) expected_writes += kQuitCommand;
  EXPECT_EQ(r.written, expected_writes);
  EXPECT_LE(r.start_tls, 1);
  EXPECT_EQ(d.observation().injected_after_starttls, row.remote == Remote::Injection && row.level != TlsLevel::None);

  ASSERT_TRUE(d.verdict().has_value());
  EXPECT_EQ(*d.verdict(), policy::decide(d.policy(), d.observation()));
  EXPECT_EQ(d.verdict()->outcome, row.outcome);
  EXPECT_EQ(d.verdict()->reason, row.reason);
  if (row.outcome == Outcome::Refuse) {
    EXPECT_EQ(d.verdict()->smtp_code, 451);
    EXPECT_EQ(d.verdict()->enhanced, row.reason == ResultType::StarttlsNotSupported ? "4.7.4" : "4.7.5");
  }
  // Whatever went wrong is said in one printable line that names the domain and the MX.
  if (row.reason == ResultType::None) {
    EXPECT_EQ(d.failure_text(), "");
  } else {
    std::string text = d.failure_text();
    EXPECT_TRUE(text.starts_with("TLS policy of example.org (")) << text;
    EXPECT_NE(text.find(kMx), std::string::npos) << text;
    for (char c : text) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << text;
    EXPECT_EQ(text.find("without STARTTLS") != std::string::npos, row.end == End::Retry) << text;
  }
  EXPECT_EQ(d.leftover(), "");
}

INSTANTIATE_TEST_SUITE_P(Outbound, LevelMatrix, ::testing::ValuesIn(kRows),
                         [](const ::testing::TestParamInfo<Row>& info) { return row_name(info.param); });

// The retry a Retry row asks for: the same remote, plaintext_retry = true. It never sends STARTTLS and
// delivers in plaintext, saying why.
TEST(LevelMatrixRetry, EveryRetryEndsInPlaintextWithoutStarttls) {
  for (const Row& row : kRows) {
    if (row.end != End::Retry) continue;
    MxDialogue d(make_policy(row.level, row.testing), std::string(kMx), std::string(kHelo), true);
    Recorder r;
    r.add(d.on_bytes(kGreeting));
    r.add(d.on_bytes(kEhloWithStarttls));
    EXPECT_EQ(d.state(), DialogueState::Ready) << row_name(row);
    EXPECT_EQ(r.written, kEhloCommand) << row_name(row);
    EXPECT_EQ(r.start_tls, 0);
    EXPECT_EQ(d.verdict()->outcome, row.outcome) << row_name(row);
    EXPECT_NE(d.failure_text().find("plaintext retry"), std::string::npos) << d.failure_text();
  }
}

}  // namespace
}  // namespace mxguard::outbound
