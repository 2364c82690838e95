// DANE in a real handshake between two engines: new_dane_ssl sends the MX name as SNI, checks the chain
// against the TLSA records only (never the CA file), and fails the handshake when nothing matches.
#include <gtest/gtest.h>

#include "proxy/tls/client_context.h"
#include "proxy/tls/server_context.h"
#include "proxy/tls/tests/test_ca_fixture.h"
#include "proxy/tls/tls_engine.h"

namespace mxguard::tls {
namespace {

using policy::TlsaRecord;
using testing::Issued;
using testing::pump;
using testing::tlsa_record_for;

constexpr const char* kHost = "mx.example.test";

// ca_, the test CA, is the CA file's: DANE must never consult it. dane_ca_ is the domain's own CA, which
// only the TLSA records name.
class TlsDane : public testing::TestCaFixture {
 protected:
  void SetUp() override {
    TestCaFixture::SetUp();
    client_ctx_ = client_context();
    dane_ca_ = testing::issue({.cn = "the domain's own CA", .ca = true});
  }

  Issued dane_ca_;
  std::shared_ptr<const ClientContext> client_ctx_;
};

TEST_F(TlsDane, EndEntityMatchCompletesTheHandshakeWithoutTheCaFile) {
  // Issued by a CA the CA file does not have, for another name, and expired: DANE-EE does not care.
  Issued leaf = testing::issue({.cn = "other.example", .dns_names = {"other.example"}, .valid_from = -7200, .valid_until = -3600},
                               &dane_ca_);
  auto srv_ctx = server_context(leaf, &dane_ca_);
  Engine client(client_ctx_->new_dane_ssl(kHost, DaneExpectation{{tlsa_record_for(leaf, 3, 1, 1)}, {kHost}}));
  Engine srv(srv_ctx->new_ssl());
  pump(client, srv);
  ASSERT_TRUE(client.handshake_done()) << client.failure_reason();
  const CertVerification& v = client.verification();
  EXPECT_TRUE(v.performed);
  EXPECT_TRUE(v.ok());
  EXPECT_TRUE(v.host_matches());
  EXPECT_EQ(v.dane_match, DaneResult::Match::EndEntity);
  EXPECT_EQ(v.dane_record, policy::to_string(tlsa_record_for(leaf, 3, 1, 1)));
  EXPECT_EQ(srv.info().sni, kHost);   // SNI is the MX name (RFC 7672 §8.1)
}

TEST_F(TlsDane, NoMatchingRecordFailsTheHandshake) {
  // Trusted by the CA file and for the right name: DANE does not look at that.
  Issued leaf = testing::issue({.cn = kHost, .dns_names = {kHost}}, &ca_);
  Issued elsewhere = testing::issue({.cn = kHost, .dns_names = {kHost}}, &dane_ca_);
  auto srv_ctx = server_context(leaf, &ca_);
  Engine client(client_ctx_->new_dane_ssl(kHost, DaneExpectation{{tlsa_record_for(elsewhere, 3, 1, 1)}, {kHost}}));
  Engine srv(srv_ctx->new_ssl());
  pump(client, srv);
  EXPECT_FALSE(client.handshake_done());
  EXPECT_EQ(client.failure().kind, FailureKind::CertificateVerify);
  EXPECT_EQ(client.failure().cert.dane_match, DaneResult::Match::None);
  EXPECT_EQ(client.failure().cert.problem, CertProblem::NotTrusted);
  EXPECT_NE(client.failure_reason().find("no TLSA record matches the certificate chain"), std::string::npos)
      << client.failure_reason();
}

TEST_F(TlsDane, TrustAnchorChecksTheNameInTheHandshake) {
  Issued leaf = testing::issue({.cn = "wrong.example", .dns_names = {"wrong.example"}}, &dane_ca_);
  auto srv_ctx = server_context(leaf, &dane_ca_);
  Engine client(client_ctx_->new_dane_ssl(kHost, DaneExpectation{{tlsa_record_for(dane_ca_, 2, 0, 1)}, {kHost}}));
  Engine srv(srv_ctx->new_ssl());
  pump(client, srv);
  EXPECT_FALSE(client.handshake_done());
  EXPECT_EQ(client.failure().cert.dane_match, DaneResult::Match::TrustAnchor);
  EXPECT_EQ(client.failure().cert.problem, CertProblem::HostMismatch);
}

TEST_F(TlsDane, TrustAnchorWithTheRightName) {
  Issued leaf = testing::issue({.cn = kHost, .dns_names = {kHost}}, &dane_ca_);
  auto srv_ctx = server_context(leaf, &dane_ca_);
  Engine client(
      client_ctx_->new_dane_ssl(kHost, DaneExpectation{{tlsa_record_for(dane_ca_, 2, 1, 1)}, {kHost, "example.test"}}));
  Engine srv(srv_ctx->new_ssl());
  pump(client, srv);
  ASSERT_TRUE(client.handshake_done()) << client.failure_reason();
  EXPECT_EQ(client.verification().dane_match, DaneResult::Match::TrustAnchor);
  EXPECT_EQ(client.verification().dane_depth, 1);
  EXPECT_TRUE(client.verification().chain_trusted());
  EXPECT_TRUE(client.verification().host_matches());
}

TEST_F(TlsDane, UnusableNamesAreRefused) {
  EXPECT_EQ(client_ctx_->new_dane_ssl(kHost, DaneExpectation{{}, {std::string("a\0b", 3)}}), nullptr);
  EXPECT_EQ(client_ctx_->new_dane_ssl(std::string_view("mx\0x", 4), DaneExpectation{{}, {kHost}}), nullptr);
  EXPECT_NE(client_ctx_->new_dane_ssl("mx.example.test.", DaneExpectation{{}, {}}), nullptr);
}

}  // namespace
}  // namespace mxguard::tls
