// MxDialogue under the DANE levels (RFC 7672): the start_tls action asks for the DANE check when the
// host's TLSA records are usable, the verdict follows the check's match, and a `dane` host DANE does not
// cover is its other policy for the whole connection.
#include <gtest/gtest.h>

#include <string>

#include "proxy/outbound/mx_dialogue.h"
#include "proxy/outbound/tests/dialogue_script.h"

namespace mxguard::outbound {
namespace {

using namespace testing;
using policy::DaneStatus;
using policy::Outcome;
using policy::ResultType;
using policy::TlsLevel;

policy::EffectivePolicy host_policy(TlsLevel level, DaneStatus status) {
  policy::EffectivePolicy p = make_policy(level);
  p.source = status == DaneStatus::Usable || status == DaneStatus::Unusable ? policy::PolicySource::Dane
                                                                             : policy::PolicySource::Config;
  p.dane.status = status;
  p.dane.mx_secure = true;
  if (status == DaneStatus::Usable) p.dane.records = {policy::TlsaRecord{3, 1, 1, std::vector<std::uint8_t>(32, 7)}};
  return p;
}

MxDialogue dialogue(policy::EffectivePolicy p) { return MxDialogue(std::move(p), std::string(kMx), std::string(kHelo)); }

DialogueAction dane_start_tls() {
  DialogueAction a = start_tls(true);
  a.dane = true;
  return a;
}

TlsFacts dane_tls(tls::DaneResult::Match match) {
  TlsFacts f = good_tls();
  f.verification.dane = tls::DaneExpectation{};
  f.verification.dane_match = match;
  if (match == tls::DaneResult::Match::None) {
    f.verification.problem = tls::CertProblem::NotTrusted;
    f.verification.problems = 1u << static_cast<unsigned>(tls::CertProblem::NotTrusted);
    f.verification.x509_text = "no TLSA record matches the certificate chain";
  }
  return f;
}

void up_to_starttls_reply(MxDialogue& d) {
  ASSERT_EQ(d.on_bytes(kGreeting), send(kEhloCommand));
  ASSERT_EQ(d.on_bytes(kEhloWithStarttls), send(kStarttlsCommand));
}

TEST(MxDialogueDane, UsableRecordsAskForTheDaneCheck) {
  MxDialogue d = dialogue(host_policy(TlsLevel::Dane, DaneStatus::Usable));
  up_to_starttls_reply(d);
  EXPECT_EQ(d.on_bytes(kStarttlsGo), dane_start_tls());
  EXPECT_EQ(d.on_tls_ready(dane_tls(tls::DaneResult::Match::EndEntity)), send(kEhloCommand));
  EXPECT_EQ(d.observation().dane_match, policy::Observation::DaneMatch::EndEntity);
  EXPECT_EQ(d.on_bytes(kEhloAfterTls), DialogueAction{});
  EXPECT_EQ(d.state(), DialogueState::Ready);
  EXPECT_EQ(d.verdict()->outcome, Outcome::DeliverTls);
}

TEST(MxDialogueDane, NoMatchingRecordAbortsAndIsTlsaInvalid) {
  MxDialogue d = dialogue(host_policy(TlsLevel::DaneOnly, DaneStatus::Usable));
  up_to_starttls_reply(d);
  EXPECT_EQ(d.on_bytes(kStarttlsGo), dane_start_tls());
  TlsFacts failed = dane_tls(tls::DaneResult::Match::None);
  failed.failure = tls::FailureKind::CertificateVerify;
  failed.version.clear();
  EXPECT_EQ(d.on_tls_failed(failed), close_with(""));
  EXPECT_EQ(d.state(), DialogueState::Refused);
  EXPECT_FALSE(d.wants_plaintext_retry());   // DANE never retries in plaintext
  EXPECT_EQ(d.verdict()->reason, ResultType::TlsaInvalid);
  EXPECT_EQ(d.verdict()->enhanced, "4.7.5");
  EXPECT_EQ(d.failure_text(),
            "TLS policy of example.org (dane-only, dane): no TLSA record of mx1.example.org matches its certificate: "
            "TLS handshake aborted (certificate: no TLSA record matches the certificate chain)");
}

TEST(MxDialogueDane, DaneNeedsStarttlsAndNeverFallsBackToPlaintext) {
  MxDialogue d = dialogue(host_policy(TlsLevel::Dane, DaneStatus::Usable));
  EXPECT_EQ(d.on_bytes(kGreeting), send(kEhloCommand));
  EXPECT_EQ(d.on_bytes(kEhloWithoutStarttls), close_with(kQuitCommand));
  EXPECT_EQ(d.state(), DialogueState::Refused);
  EXPECT_EQ(d.verdict()->reason, ResultType::StarttlsNotSupported);
  EXPECT_EQ(d.verdict()->enhanced, "4.7.4");
}

TEST(MxDialogueDane, UnusableRecordsMeanTlsWithoutACertificateCheck) {
  MxDialogue d = dialogue(host_policy(TlsLevel::Dane, DaneStatus::Unusable));
  up_to_starttls_reply(d);
  EXPECT_EQ(d.on_bytes(kStarttlsGo), start_tls(false));
  EXPECT_EQ(d.on_tls_ready(cert_problem_tls(tls::CertProblem::NotTrusted, false)), send(kEhloCommand));
  EXPECT_EQ(d.on_bytes(kEhloAfterTls), DialogueAction{});
  EXPECT_EQ(d.state(), DialogueState::Ready);
  // ... but TLS it must be: a failed handshake is not retried in plaintext.
  MxDialogue e = dialogue(host_policy(TlsLevel::Dane, DaneStatus::Unusable));
  up_to_starttls_reply(e);
  e.on_bytes(kStarttlsGo);
  e.on_tls_failed(failed_tls(tls::FailureKind::Protocol));
  EXPECT_EQ(e.state(), DialogueState::Refused);
  EXPECT_FALSE(e.wants_plaintext_retry());
}

TEST(MxDialogueDane, DaneWithoutDaneForTheHostIsMayForTheWholeConnection) {
  MxDialogue d = dialogue(host_policy(TlsLevel::Dane, DaneStatus::Insecure));
  EXPECT_EQ(d.policy().level, TlsLevel::May);
  EXPECT_EQ(d.on_bytes(kGreeting), send(kEhloCommand));
  EXPECT_EQ(d.on_bytes(kEhloWithoutStarttls), DialogueAction{});
  EXPECT_EQ(d.state(), DialogueState::Ready);
  EXPECT_EQ(d.verdict()->outcome, Outcome::DeliverPlaintext);
  // A failed TLS attempt is retried in plaintext, as at `may`.
  MxDialogue e = dialogue(host_policy(TlsLevel::Dane, DaneStatus::NoRecords));
  up_to_starttls_reply(e);
  EXPECT_EQ(e.on_bytes(kStarttlsGo), start_tls(false));
  e.on_tls_failed(failed_tls(tls::FailureKind::Protocol));
  EXPECT_TRUE(e.wants_plaintext_retry());
}

TEST(MxDialogueDane, DnsFactsThatRefuseAreRefusedBeforeEhlo) {
  for (auto [level, status, reason] : {std::tuple{TlsLevel::Dane, DaneStatus::Failed, ResultType::DnssecInvalid},
                                       std::tuple{TlsLevel::DaneOnly, DaneStatus::NoRecords, ResultType::DaneRequired},
                                       std::tuple{TlsLevel::DaneOnly, DaneStatus::Unusable, ResultType::DaneRequired}}) {
    MxDialogue d = dialogue(host_policy(level, status));
    EXPECT_EQ(d.on_bytes(kGreeting), close_with(kQuitCommand)) << to_string(status);
    EXPECT_EQ(d.state(), DialogueState::Refused);
    EXPECT_EQ(d.verdict()->reason, reason);
  }
}

}  // namespace
}  // namespace mxguard::outbound
