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
#include "proxy/tls/tests/test_pki.h"
#include "proxy/tls/tls_engine.h"

namespace mxguard::outbound {
namespace {

using namespace testing;
using policy::Outcome;
using policy::ResultType;
using policy::TlsLevel;
using tls::testing::CertSpec;
using tls::testing::Issued;

void pump(tls::Engine& client, tls::Engine& server) {
  for (int round = 0; round < 20; ++round) {
    tls::Progress c = client.handshake();
    server.feed(client.take_output());
    tls::Progress s = server.handshake();
    client.feed(server.take_output());
    if (c == tls::Progress::Failed || s == tls::Progress::Failed) {
      server.feed(client.take_output());
      if (s != tls::Progress::Failed) server.handshake();
      client.feed(server.take_output());
      if (c != tls::Progress::Failed) client.handshake();
      return;
    }
    if (c == tls::Progress::Ok && s == tls::Progress::Ok) return;
  }
}

class MxDialogueTls : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = tls::testing::issue({.cn = "mxguard test CA", .ca = true});
    tls::testing::write_cert(dir_.path() / "ca.crt", ca_.cert.get());
    auto ctx = tls::ClientContext::create(dir_.file("ca.crt"));
    ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const tls::ClientContext>>(ctx));
    client_ = std::get<std::shared_ptr<const tls::ClientContext>>(ctx);
  }

  // A server SSL presenting a leaf made from `spec`, signed by the test CA (or by itself).
  bssl::UniquePtr<SSL> server_ssl(const CertSpec& spec, bool signed_by_ca = true) {
    Issued leaf = tls::testing::issue(spec, signed_by_ca ? &ca_ : nullptr);
    tls::testing::write_cert(dir_.path() / "leaf.crt", leaf.cert.get());
    tls::testing::write_key(dir_.path() / "leaf.key", leaf.key.get());
    auto ctx = tls::ServerContext::create({{dir_.file("leaf.crt"), dir_.file("leaf.key"), "test"}});
    EXPECT_TRUE(std::holds_alternative<std::shared_ptr<const tls::ServerContext>>(ctx));
    servers_.push_back(std::get<std::shared_ptr<const tls::ServerContext>>(ctx));
    return servers_.back()->new_ssl();
  }

  // A server that speaks nothing newer than TLS 1.1.
  bssl::UniquePtr<SSL> tls11_server_ssl() {
    Issued leaf = tls::testing::issue({.cn = std::string(kMx), .dns_names = {std::string(kMx)}}, &ca_);
    old_.reset(SSL_CTX_new(TLS_method()));
    SSL_CTX_set_min_proto_version(old_.get(), TLS1_VERSION);
    SSL_CTX_set_max_proto_version(old_.get(), TLS1_1_VERSION);
    SSL_CTX_use_certificate(old_.get(), leaf.cert.get());
    SSL_CTX_use_PrivateKey(old_.get(), leaf.key.get());
    bssl::UniquePtr<SSL> ssl(SSL_new(old_.get()));
    SSL_set_accept_state(ssl.get());
    return ssl;
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
    pump(client, srv);
    return client.handshake_done() ? d.on_tls_ready(tls_facts(client)) : d.on_tls_failed(tls_facts(client));
  }

  CertSpec for_mx() { return {.cn = std::string(kMx), .dns_names = {std::string(kMx)}}; }

  tls::testing::TempDir dir_;
  Issued ca_;
  std::shared_ptr<const tls::ClientContext> client_;
  std::vector<std::shared_ptr<const tls::ServerContext>> servers_;
  bssl::UniquePtr<SSL_CTX> old_;
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
