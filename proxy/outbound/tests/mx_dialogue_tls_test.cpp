// MxDialogue with real TLS engines back to back (no sockets): the start_tls action builds the SSL as the
// driver will, tls_facts() reads the engine as the driver will, and the verdict follows from what
// BoringSSL and the verification record really report, not from hand-made facts.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <variant>

#include "proxy/outbound/mx_dialogue.h"
#include "proxy/outbound/tests/dialogue_script.h"
#include "proxy/tls/client_context.h"
#include "proxy/tls/server_context.h"
#include "proxy/tls/tests/test_ca_fixture.h"
#include "proxy/tls/tls_engine.h"

namespace mxguard::outbound {
namespace {

using namespace testing;
using policy::Outcome;
using policy::ResultType;
using policy::TlsLevel;
using tls::testing::CertSpec;

class MxDialogueTls : public tls::testing::TestCaFixture {
 protected:
  void SetUp() override {
    TestCaFixture::SetUp();
    client_ = client_context();
  }

  // A server SSL presenting a leaf made from `spec`, signed by the test CA (or by itself).
  bssl::UniquePtr<SSL> server_ssl(const CertSpec& spec, bool signed_by_ca = true) {
    servers_.push_back(server_context(tls::testing::issue(spec, signed_by_ca ? &ca_ : nullptr)));
    return servers_.back()->new_ssl();
  }

  // A server that speaks nothing newer than TLS 1.1.
  bssl::UniquePtr<SSL> tls11_server_ssl() {
    return tls::testing::tls11_server_ssl(
        tls::testing::issue({.cn = std::string(kMx), .dns_names = {std::string(kMx)}}, &ca_));
  }

  // Greeting and EHLO up to the start_tls action, then the handshake exactly as the driver runs it:
  // new_ssl(mx_host, mx_host, verify_certificate), and on_tls_ready / on_tls_failed with tls_facts().
  DialogueAction handshake(MxDialogue& d, bssl::UniquePtr<SSL> server) {
    d.on_bytes(kGreeting);
    d.on_bytes(kEhloWithStarttls);
    DialogueAction go = d.on_bytes(kStarttlsGo);
    EXPECT_TRUE(go.start_tls);
    tls::Engine client(client_->new_ssl(d.mx_host(), d.mx_host(), go.verify_certificate));
    tls::Engine srv(std::move(server));
    tls::testing::pump(client, srv);
    return client.handshake_done() ? d.on_tls_ready(tls_facts(client)) : d.on_tls_failed(tls_facts(client));
  }

  CertSpec for_mx() { return {.cn = std::string(kMx), .dns_names = {std::string(kMx)}}; }

  std::shared_ptr<const tls::ClientContext> client_;
  std::vector<std::shared_ptr<const tls::ServerContext>> servers_;   // alive as long as their SSLs
};

TEST_F(MxDialogueTls, AVerifiedHandshakeReportsItsVersionCipherAndCertificate) {
  MxDialogue d(make_policy(TlsLevel::Verify), std::string(kMx), std::string(kHelo));
  EXPECT_EQ(handshake(d, server_ssl(for_mx())), send(kEhloCommand));
  d.on_bytes(kEhloAfterTls);
  EXPECT_EQ(d.state(), DialogueState::Ready);
  ASSERT_TRUE(d.tls().has_value());
  EXPECT_EQ(d.tls()->version, "TLSv1.3");
  EXPECT_FALSE(d.tls()->cipher.empty());
  EXPECT_EQ(d.tls()->failure, tls::FailureKind::None);
  EXPECT_EQ(d.tls()->verification.dns_names, std::vector<std::string>{std::string(kMx)});
  EXPECT_TRUE(d.observation().chain_trusted);
  EXPECT_TRUE(d.observation().host_matches);
  EXPECT_EQ(d.verdict()->outcome, Outcome::DeliverTls);
}

TEST_F(MxDialogueTls, AnExpiredCertificateFailsTheVerifiedHandshakeAndIsNamed) {
  MxDialogue d(make_policy(TlsLevel::Verify), std::string(kMx), std::string(kHelo));
  CertSpec expired = for_mx();
  expired.valid_from = -7200;
  expired.valid_until = -3600;
  EXPECT_EQ(handshake(d, server_ssl(expired)), close_with(""));
  EXPECT_EQ(d.state(), DialogueState::Refused);
  EXPECT_EQ(d.tls()->failure, tls::FailureKind::CertificateVerify);
  EXPECT_EQ(d.tls()->version, "");   // not negotiated as far as the facts go
  EXPECT_EQ(d.verdict()->reason, ResultType::CertificateExpired);
  EXPECT_EQ(d.failure_text(),
            "TLS policy of example.org (verify, config): TLS handshake with mx1.example.org failed (certificate: "
            "certificate has expired)");
}

TEST_F(MxDialogueTls, ACertificateForAnotherNameIsAHostMismatch) {
  MxDialogue d(make_policy(TlsLevel::Verify), std::string(kMx), std::string(kHelo));
  handshake(d, server_ssl({.cn = "mx.other.test", .dns_names = {"mx.other.test"}}));
  EXPECT_EQ(d.state(), DialogueState::Refused);
  EXPECT_EQ(d.verdict()->reason, ResultType::CertificateHostMismatch);
}

TEST_F(MxDialogueTls, ASelfSignedCertificateIsNotTrusted) {
  MxDialogue d(make_policy(TlsLevel::Verify), std::string(kMx), std::string(kHelo));
  handshake(d, server_ssl(for_mx(), /*signed_by_ca=*/false));
  EXPECT_EQ(d.state(), DialogueState::Refused);
  EXPECT_EQ(d.verdict()->reason, ResultType::CertificateNotTrusted);
}

TEST_F(MxDialogueTls, MayDeliversOverTlsWithABadCertificateAndRecordsTheProblem) {
  MxDialogue d(make_policy(TlsLevel::May), std::string(kMx), std::string(kHelo));
  CertSpec expired = {.cn = "old.example.test", .dns_names = {"old.example.test"}, .valid_from = -7200,
                      .valid_until = -3600};
  EXPECT_EQ(handshake(d, server_ssl(expired)), send(kEhloCommand));
  d.on_bytes(kEhloAfterTls);
  EXPECT_EQ(d.state(), DialogueState::Ready);
  EXPECT_TRUE(d.tls_active());
  EXPECT_EQ(d.verdict()->outcome, Outcome::DeliverTls);
  // Expired and misnamed: the observation carries the chain problem, whichever the verifier met first.
  EXPECT_EQ(d.observation().cert_problem, policy::Observation::CertProblem::Expired);
  EXPECT_FALSE(d.observation().host_matches);
}

TEST_F(MxDialogueTls, ATestingPolicyDeliversOverTlsAndReportsWhatEnforcementWouldRefuse) {
  MxDialogue d(make_policy(TlsLevel::MtaSts, /*testing=*/true), std::string(kMx), std::string(kHelo));
  EXPECT_EQ(handshake(d, server_ssl({.cn = "mx.other.test", .dns_names = {"mx.other.test"}})), send(kEhloCommand));
  d.on_bytes(kEhloAfterTls);
  EXPECT_EQ(d.state(), DialogueState::Ready);
  EXPECT_EQ(d.verdict()->outcome, Outcome::AllowedTesting);
  EXPECT_EQ(d.verdict()->reason, ResultType::CertificateHostMismatch);
}

TEST_F(MxDialogueTls, AServerSpeakingOnlyTls11IsRefusedAtEncryptAndRetriedInPlaintextAtMay) {
  MxDialogue encrypt(make_policy(TlsLevel::Encrypt), std::string(kMx), std::string(kHelo));
  EXPECT_EQ(handshake(encrypt, tls11_server_ssl()), close_with(""));
  EXPECT_EQ(encrypt.state(), DialogueState::Refused);
  EXPECT_EQ(encrypt.tls()->failure, tls::FailureKind::VersionTooLow);
  EXPECT_EQ(encrypt.failure_text(),
            "TLS policy of example.org (encrypt, config): TLS handshake with mx1.example.org failed (protocol version "
            "too low)");

  MxDialogue may(make_policy(TlsLevel::May), std::string(kMx), std::string(kHelo));
  EXPECT_EQ(handshake(may, tls11_server_ssl()), close_with(""));
  EXPECT_EQ(may.state(), DialogueState::Failed);
  EXPECT_TRUE(may.wants_plaintext_retry());
}

}  // namespace
}  // namespace mxguard::outbound
