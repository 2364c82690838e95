// The client side of the TLS layer without sockets: ClientContext, failure kinds, the verification record.
// (Certificate verification over real connections is in proxy/net/tests.)
#include <gtest/gtest.h>
#include <openssl/err.h>

#include "proxy/tls/client_context.h"
#include "proxy/tls/server_context.h"
#include "proxy/tls/tests/test_ca_fixture.h"
#include "proxy/tls/tls_engine.h"
#include "proxy/tls/verification.h"

namespace mxguard::tls {
namespace {

using testing::Issued;
using testing::pump;

using TlsClientTest = testing::TestCaFixture;

TEST(TlsFailure, BoringSslErrorsMapToKinds) {
  EXPECT_EQ(classify_failure(ERR_PACK(ERR_LIB_SSL, SSL_R_CERTIFICATE_VERIFY_FAILED), false),
            FailureKind::CertificateVerify);
  EXPECT_EQ(classify_failure(ERR_PACK(ERR_LIB_SSL, SSL_R_UNSUPPORTED_PROTOCOL), false), FailureKind::VersionTooLow);
  EXPECT_EQ(classify_failure(ERR_PACK(ERR_LIB_SSL, SSL_R_TLSV1_ALERT_PROTOCOL_VERSION), false),
            FailureKind::VersionTooLow);
  EXPECT_EQ(classify_failure(ERR_PACK(ERR_LIB_SSL, SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE), false),
            FailureKind::PeerAlert);
  EXPECT_EQ(classify_failure(ERR_PACK(ERR_LIB_SSL, SSL_R_NO_SHARED_CIPHER), false), FailureKind::Protocol);
  EXPECT_EQ(classify_failure(ERR_PACK(ERR_LIB_SSL, SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC), true),
            FailureKind::Record);
  EXPECT_EQ(classify_failure(0, false), FailureKind::UnexpectedEof);
}

TEST(TlsVerification, X509ErrorsMapToProblems) {
  EXPECT_EQ(classify_x509_error(X509_V_OK), CertProblem::None);
  EXPECT_EQ(classify_x509_error(X509_V_ERR_CERT_HAS_EXPIRED), CertProblem::Expired);
  EXPECT_EQ(classify_x509_error(X509_V_ERR_CERT_NOT_YET_VALID), CertProblem::NotYetValid);
  EXPECT_EQ(classify_x509_error(X509_V_ERR_HOSTNAME_MISMATCH), CertProblem::HostMismatch);
  EXPECT_EQ(classify_x509_error(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT), CertProblem::NotTrusted);
  EXPECT_EQ(classify_x509_error(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY), CertProblem::NotTrusted);
  EXPECT_EQ(classify_x509_error(X509_V_ERR_CERT_SIGNATURE_FAILURE), CertProblem::Other);
  EXPECT_EQ(tlsrpt_result_type(CertProblem::Expired), "certificate-expired");
  EXPECT_EQ(tlsrpt_result_type(CertProblem::HostMismatch), "certificate-host-mismatch");
  EXPECT_EQ(tlsrpt_result_type(CertProblem::NotTrusted), "certificate-not-trusted");
  EXPECT_EQ(tlsrpt_result_type(CertProblem::NotYetValid), "validation-failure");
}

TEST_F(TlsClientTest, CaFileProblemsNameTheFile) {
  auto missing = ClientContext::create(dir_.file("nope.pem"));
  ASSERT_TRUE(std::holds_alternative<std::string>(missing));
  EXPECT_NE(std::get<std::string>(missing).find("nope.pem"), std::string::npos);
  auto empty = ClientContext::create("");
  ASSERT_TRUE(std::holds_alternative<std::string>(empty));
}

TEST_F(TlsClientTest, NamesWithNulBytesAreRefused) {
  auto ctx = client_context();
  EXPECT_EQ(ctx->new_ssl(std::string_view("mx.example\0.evil", 16), "mx.example", true), nullptr);
  EXPECT_EQ(ctx->new_ssl("mx.example", std::string_view("mx.example\0.evil", 16), true), nullptr);
  EXPECT_NE(ctx->new_ssl("mx.example", "mx.example", true), nullptr);
}

TEST_F(TlsClientTest, VerifiedHandshakeReportsNamesVersionAndCipher) {
  auto server = server_context({.cn = "mx.example.test", .dns_names = {"mx.example.test", "mx2.example.test"}});
  // MX names from DNS may carry the root's dot.
  Engine client(client_context()->new_ssl("mx.example.test.", "mx.example.test.", true));
  Engine srv(server->new_ssl());
  EXPECT_TRUE(client.is_client());
  EXPECT_FALSE(srv.is_client());
  pump(client, srv);
  ASSERT_TRUE(client.handshake_done()) << client.failure_reason();
  const CertVerification& v = client.verification();
  EXPECT_TRUE(v.performed);
  EXPECT_TRUE(v.ok());
  EXPECT_TRUE(v.chain_trusted());
  EXPECT_TRUE(v.host_matches());
  EXPECT_EQ(v.expected_host, "mx.example.test");
  EXPECT_EQ(v.subject_cn, "mx.example.test");
  EXPECT_EQ(v.dns_names, (std::vector<std::string>{"mx.example.test", "mx2.example.test"}));
  EXPECT_EQ(client.info().version, "TLSv1.3");
  EXPECT_FALSE(client.info().cipher.empty());
  EXPECT_EQ(srv.info().sni, "mx.example.test");
  EXPECT_FALSE(srv.verification().performed);   // the server side checks no certificate
}

TEST_F(TlsClientTest, EachWorkerVerifiesWithItsOwnContextAndAnotherIndexGetsNone) {
  auto made = ClientContext::create(dir_.file("ca.crt"), 2);
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const ClientContext>>(made)) << std::get<std::string>(made);
  const auto& ctx = std::get<std::shared_ptr<const ClientContext>>(made);
  EXPECT_EQ(ctx->workers(), 2u);
  auto server = server_context({.cn = "mx.example.test", .dns_names = {"mx.example.test"}});
  for (unsigned w : {0u, 1u}) {
    SCOPED_TRACE("worker " + std::to_string(w));
    Engine client(ctx->new_ssl("mx.example.test", "mx.example.test", true, w));
    Engine srv(server->new_ssl());
    pump(client, srv);
    ASSERT_TRUE(client.handshake_done()) << client.failure_reason();
    EXPECT_TRUE(client.verification().ok());
    // Each worker's store holds the CA: a certificate it did not issue still fails on either.
    auto stranger = testing::issue({.cn = "mx.example.test", .dns_names = {"mx.example.test"}});
    auto other = server_context(stranger);
    Engine refused(ctx->new_ssl("mx.example.test", "mx.example.test", true, w));
    Engine other_srv(other->new_ssl());
    pump(refused, other_srv);
    EXPECT_FALSE(refused.handshake_done());
    EXPECT_EQ(refused.verification().problem, CertProblem::NotTrusted);
  }
  EXPECT_EQ(ctx->new_ssl("mx.example.test", "mx.example.test", true, 2), nullptr);
  EXPECT_EQ(ctx->new_dane_ssl("mx.example.test", {}, 2), nullptr);
}

TEST_F(TlsClientTest, AnIpLiteralIsNotSentAsSniAndIsMatchedAgainstTheName) {
  auto server = server_context({.cn = "mx.example.test", .dns_names = {"mx.example.test"}});
  Engine client(client_context()->new_ssl("192.0.2.25", "192.0.2.25", false));
  Engine srv(server->new_ssl());
  pump(client, srv);
  ASSERT_TRUE(client.handshake_done()) << client.failure_reason();
  EXPECT_EQ(srv.info().sni, "");
  EXPECT_EQ(client.verification().problem, CertProblem::HostMismatch);
}

TEST_F(TlsClientTest, ProblemsAfterTheFirstAreRecordedToo) {
  // Expired and for another name: the first problem leads, the other is still known.
  auto server = server_context({.cn = "old.example.test", .dns_names = {"old.example.test"},
                                .valid_from = -7200, .valid_until = -3600});
  Engine client(client_context()->new_ssl("mx.example.test", "mx.example.test", false));
  Engine srv(server->new_ssl());
  pump(client, srv);
  ASSERT_TRUE(client.handshake_done()) << client.failure_reason();
  const CertVerification& v = client.verification();
  EXPECT_TRUE(v.has(CertProblem::HostMismatch));
  EXPECT_TRUE(v.has(CertProblem::Expired));
  EXPECT_FALSE(v.chain_trusted());
  EXPECT_FALSE(v.host_matches());
}

TEST_F(TlsClientTest, RequiredVerificationFailsTheHandshakeWithTheRealReason) {
  auto server = server_context({.cn = "mx.example.test", .dns_names = {"mx.example.test"},
                                .valid_from = -7200, .valid_until = -3600});
  Engine client(client_context()->new_ssl("mx.example.test", "mx.example.test", true));
  Engine srv(server->new_ssl());
  pump(client, srv);
  EXPECT_FALSE(client.handshake_done());
  const Failure& f = client.failure();
  EXPECT_EQ(f.kind, FailureKind::CertificateVerify) << f.reason;
  EXPECT_EQ(f.cert.problem, CertProblem::Expired);
  EXPECT_EQ(f.cert.x509_error, X509_V_ERR_CERT_HAS_EXPIRED);
  EXPECT_EQ(f.cert.error_depth, 0);
  EXPECT_NE(f.reason.find("expired"), std::string::npos) << f.reason;
  // The server learns of it through the alert the client sent.
  EXPECT_EQ(srv.failure().kind, FailureKind::PeerAlert) << srv.failure_reason();
  EXPECT_EQ(srv.failure().alert, SSL_AD_CERTIFICATE_EXPIRED);
}

TEST_F(TlsClientTest, ServerSpeakingOnlyTls11FailsTheClientWithVersionTooLow) {
  Issued leaf = testing::issue({.cn = "old.example.test", .dns_names = {"old.example.test"}}, &ca_);
  Engine srv(testing::tls11_server_ssl(leaf));
  Engine client(client_context()->new_ssl("old.example.test", "old.example.test", false));
  pump(client, srv);
  EXPECT_FALSE(client.handshake_done());
  EXPECT_EQ(client.failure().kind, FailureKind::VersionTooLow) << client.failure_reason();
}

TEST_F(TlsClientTest, ClientSpeakingOnlyTls11FailsTheServerWithVersionTooLow) {
  auto server = server_context({.cn = "mx.example.test", .dns_names = {"mx.example.test"}});
  Engine client(testing::tls11_client_ssl());
  Engine srv(server->new_ssl());
  pump(client, srv);
  EXPECT_FALSE(srv.handshake_done());
  EXPECT_EQ(srv.failure().kind, FailureKind::VersionTooLow) << srv.failure_reason();
}

}  // namespace
}  // namespace mxguard::tls
