// net::Connection with TLS over loopback TCP: the server and client roles, STARTTLS ordering, corked TLS
// writes, and what a client learns about the server's certificate (made here with BoringSSL's X509 API).
#include <gtest/gtest.h>

#include "proxy/net/tests/loopback.h"
#include "proxy/tls/client_context.h"
#include "proxy/tls/server_context.h"
#include "proxy/tls/tests/test_pki.h"

namespace mxguard::net {
namespace {

using testing::Loopback;
using tls::CertProblem;
using tls::FailureKind;
using tls::testing::CertSpec;
using tls::testing::Issued;
using tls::testing::TempDir;

constexpr const char* kHost = "mx.example.test";

class ConnectionTls : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = tls::testing::issue({.cn = "mxguard test CA", .ca = true});
    tls::testing::write_cert(dir_.path() / "ca.crt", ca_.cert.get());
    auto client = tls::ClientContext::create(dir_.file("ca.crt"));
    ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const tls::ClientContext>>(client));
    client_ctx_ = std::get<std::shared_ptr<const tls::ClientContext>>(client);
    use_server_certificate({.cn = kHost, .dns_names = {kHost}});
  }

  // The server presents this certificate, issued by `issuer` (the test CA by default; null = self-signed).
  void use_server_certificate(const CertSpec& spec, const Issued* issuer = nullptr, bool self_signed = false) {
    Issued leaf = tls::testing::issue(spec, self_signed ? nullptr : (issuer ? issuer : &ca_));
    std::string name = "leaf" + std::to_string(++leaves_);
    tls::testing::write_cert(dir_.path() / (name + ".crt"), leaf.cert.get());
    tls::testing::write_key(dir_.path() / (name + ".key"), leaf.key.get());
    auto server = tls::ServerContext::create({{dir_.file(name + ".crt"), dir_.file(name + ".key"), "test"}});
    ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const tls::ServerContext>>(server))
        << std::get<std::string>(server);
    server_ctx_ = std::get<std::shared_ptr<const tls::ServerContext>>(server);
  }

  // Both sides start TLS as soon as the TCP connection is up; the client checks `host`.
  void handshake(Loopback& net, const std::string& host, bool verify) {
    ASSERT_TRUE(net.listening());
    net.when_accepted = [this](Connection& c) { EXPECT_TRUE(c.start_tls(server_ctx_->new_ssl())); };
    net.client_events.when_connected = [this, host, verify](Connection& c) {
      EXPECT_TRUE(c.start_tls(client_ctx_->new_ssl(host, host, verify)));
    };
    net.connect();
    ASSERT_TRUE(net.run_until([&] {
      bool client_done = net.client_events.tls_ready || net.client_events.tls_failed;
      bool server_done = net.server_events.tls_ready || net.server_events.tls_failed || net.server_events.eof ||
                         !net.server_events.errors.empty();
      return client_done && server_done;
    }));
  }

  TempDir dir_;
  Issued ca_;
  int leaves_ = 0;
  std::shared_ptr<const tls::ClientContext> client_ctx_;
  std::shared_ptr<const tls::ServerContext> server_ctx_;
};

TEST_F(ConnectionTls, ClientRoleSendsItsClientHelloAndBothSidesBecomeReady) {
  Loopback net;
  handshake(net, kHost, true);
  ASSERT_TRUE(net.client_events.tls_ready) << net.client_events.tls_failed.value_or("");
  ASSERT_TRUE(net.server_events.tls_ready) << net.server_events.tls_failed.value_or("");
  EXPECT_TRUE(net.client().tls()->is_client());
  EXPECT_FALSE(net.server().tls()->is_client());
  EXPECT_EQ(net.client().tls()->info().version, "TLSv1.3");
  EXPECT_EQ(net.client().tls()->info().cipher, net.server().tls()->info().cipher);
  EXPECT_EQ(net.server().tls()->info().sni, kHost);
  const tls::CertVerification& v = net.client().tls()->verification();
  EXPECT_TRUE(v.ok());
  EXPECT_TRUE(v.chain_trusted());
  EXPECT_TRUE(v.host_matches());
  EXPECT_EQ(v.subject_cn, kHost);
  EXPECT_EQ(v.dns_names, std::vector<std::string>{kHost});

  net.server().write("220 mx.example.test ESMTP\r\n");
  net.client().write("EHLO client.example.test\r\n");
  ASSERT_TRUE(net.run_until([&] { return !net.client_events.data.empty() && !net.server_events.data.empty(); }));
  EXPECT_EQ(net.client_events.data, "220 mx.example.test ESMTP\r\n");
  EXPECT_EQ(net.server_events.data, "EHLO client.example.test\r\n");
}

TEST_F(ConnectionTls, AServerWhoseClientSaysNothingAfterItsFinishedSendsItsTicketsAtOnce) {
  // A client that does not set TCP_NODELAY (Postfix's smtp) sends its EHLO only once its Finished is
  // acknowledged; with nothing to send the server's kernel waits 40 ms for a delayed ACK. The session
  // tickets are something to send.
  Loopback net;
  std::uint64_t first_flight = 0;
  net.server_events.when_ready = [&](Connection& c) { first_flight = c.write_calls(); };
  handshake(net, kHost, true);
  ASSERT_TRUE(net.server_events.tls_ready && net.client_events.tls_ready);
  net.settle();
  EXPECT_EQ(net.server().write_calls(), first_flight + 1) << "the tickets left when the handshake ended";
  EXPECT_EQ(net.server().queued_bytes(), 0u);
}

TEST_F(ConnectionTls, StarttlsReplyLeavesInPlaintextEvenWhenCorked) {
  Loopback net;
  ASSERT_TRUE(net.listening());
  // The server answers STARTTLS the way a session does: corked for the callback, reply, switch, uncork.
  net.server_events.when_data = [this](Connection& c, std::string_view line) {
    if (c.tls_active()) return;
    EXPECT_EQ(line, "STARTTLS\r\n");
    Corked hold(c);
    c.write("220 2.0.0 Ready to start TLS\r\n");
    EXPECT_TRUE(c.start_tls(server_ctx_->new_ssl()));
    c.write("250 sent inside TLS, after the handshake\r\n");
  };
  net.client_events.when_connected = [](Connection& c) { c.write("STARTTLS\r\n"); };
  net.client_events.when_data = [this](Connection& c, std::string_view reply) {
    if (c.tls_active()) return;
    EXPECT_EQ(reply, "220 2.0.0 Ready to start TLS\r\n");
    EXPECT_TRUE(c.start_tls(client_ctx_->new_ssl(kHost, kHost, true)));
  };
  net.connect();
  ASSERT_TRUE(net.run_until([&] { return net.client_events.tls_ready && net.server_events.tls_ready; }));
  ASSERT_TRUE(net.run_until([&] { return net.client_events.data.size() > 31; }));
  EXPECT_EQ(net.client_events.data_before_tls, "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_EQ(net.client_events.data, "220 2.0.0 Ready to start TLS\r\n250 sent inside TLS, after the handshake\r\n");
}

TEST_F(ConnectionTls, WritesBeforeTheHandshakeFinishesFollowIt) {
  Loopback net;
  ASSERT_TRUE(net.listening());
  net.when_accepted = [this](Connection& c) { EXPECT_TRUE(c.start_tls(server_ctx_->new_ssl())); };
  net.client_events.when_connected = [this](Connection& c) {
    EXPECT_TRUE(c.start_tls(client_ctx_->new_ssl(kHost, kHost, true)));
    c.write("EHLO client.example.test\r\n");   // held until the handshake is done
    EXPECT_GT(c.queued_bytes(), 0u);
  };
  net.connect();
  ASSERT_TRUE(net.run_until([&] { return !net.server_events.data.empty(); }));
  EXPECT_TRUE(net.server_events.tls_ready);
  EXPECT_EQ(net.server_events.data_before_tls, "");
  EXPECT_EQ(net.server_events.data, "EHLO client.example.test\r\n");
}

TEST_F(ConnectionTls, CorkedTlsWritesAreOneWriteAndArriveInOrder) {
  Loopback net;
  handshake(net, kHost, true);
  ASSERT_TRUE(net.client_events.tls_ready && net.server_events.tls_ready);
  net.settle();   // let the handshake's own writes finish
  std::string expected;
  std::uint64_t before = net.client().write_calls();
  {
    Corked hold(net.client());
    for (int i = 0; i < 100; ++i) {
      std::string line = "RCPT TO:<user" + std::to_string(i) + "@example.test>\r\n";
      net.client().write(line);
      expected += line;
    }
    std::string big(300000, 'z');   // spans many TLS records
    net.client().write(big);
    expected += big;
    EXPECT_EQ(net.client().queued_bytes(), expected.size());
  }
  EXPECT_EQ(net.client().write_calls(), before + 1);
  ASSERT_TRUE(net.run_until([&] { return net.server_events.data.size() >= expected.size(); }));
  EXPECT_TRUE(net.server_events.data == expected);
}

TEST_F(ConnectionTls, ServerSpeakingOnlyTls11FailsTheClientWithVersionTooLow) {
  Issued leaf = tls::testing::issue({.cn = kHost, .dns_names = {kHost}}, &ca_);
  bssl::UniquePtr<SSL_CTX> old(SSL_CTX_new(TLS_method()));
  ASSERT_EQ(SSL_CTX_set_min_proto_version(old.get(), TLS1_VERSION), 1);
  ASSERT_EQ(SSL_CTX_set_max_proto_version(old.get(), TLS1_1_VERSION), 1);
  ASSERT_EQ(SSL_CTX_use_certificate(old.get(), leaf.cert.get()), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(old.get(), leaf.key.get()), 1);
  Loopback net;
  ASSERT_TRUE(net.listening());
  net.when_accepted = [&](Connection& c) {
    bssl::UniquePtr<SSL> ssl(SSL_new(old.get()));
    SSL_set_accept_state(ssl.get());
    EXPECT_TRUE(c.start_tls(std::move(ssl)));
  };
  net.client_events.when_connected = [this](Connection& c) {
    EXPECT_TRUE(c.start_tls(client_ctx_->new_ssl(kHost, kHost, false)));
  };
  net.connect();
  ASSERT_TRUE(net.run_until([&] { return net.client_events.tls_failed.has_value(); }));
  EXPECT_FALSE(net.client_events.tls_ready);
  EXPECT_EQ(net.client().tls()->failure().kind, FailureKind::VersionTooLow) << *net.client_events.tls_failed;
  // The client's alert reaches the old server.
  ASSERT_TRUE(net.run_until([&] { return net.server_events.tls_failed.has_value(); }));
}

// One row per way a certificate can be wrong, each run with verification required and not.
struct BadCertificate {
  const char* name;
  CertSpec spec;
  enum { ByTestCa, ByUnknownCa, SelfSigned } issuer;
  std::string check_host;
  CertProblem expected;
};

class ConnectionTlsVerify : public ConnectionTls,
                            public ::testing::WithParamInterface<std::tuple<BadCertificate, bool>> {};

TEST_P(ConnectionTlsVerify, ProblemIsReportedAndFailsTheHandshakeOnlyWhenRequired) {
  const auto& [row, verify] = GetParam();
  Issued unknown_ca = tls::testing::issue({.cn = "some other CA", .ca = true});
  use_server_certificate(row.spec, row.issuer == BadCertificate::ByUnknownCa ? &unknown_ca : nullptr,
                         row.issuer == BadCertificate::SelfSigned);
  Loopback net;
  handshake(net, row.check_host, verify);

  const tls::CertVerification& seen = net.client().tls()->verification();
  EXPECT_TRUE(seen.performed);
  EXPECT_EQ(seen.problem, row.expected) << seen.describe();
  EXPECT_EQ(seen.ok(), row.expected == CertProblem::None);
  EXPECT_EQ(seen.subject_cn, row.spec.cn);
  if (row.expected == CertProblem::None) {
    EXPECT_TRUE(net.client_events.tls_ready);
    EXPECT_TRUE(seen.chain_trusted() && seen.host_matches());
    return;
  }
  EXPECT_NE(seen.x509_error, X509_V_OK);
  EXPECT_FALSE(seen.x509_text.empty());
  if (row.expected == CertProblem::HostMismatch) {
    EXPECT_TRUE(seen.chain_trusted());
    EXPECT_FALSE(seen.host_matches());
  } else {
    EXPECT_FALSE(seen.chain_trusted());
  }
  if (verify) {
    ASSERT_TRUE(net.client_events.tls_failed.has_value());
    EXPECT_FALSE(net.client_events.tls_ready);
    const tls::Failure& f = net.client().tls()->failure();
    EXPECT_EQ(f.kind, FailureKind::CertificateVerify) << f.reason;
    EXPECT_EQ(f.cert.problem, row.expected);
    EXPECT_NE(f.reason.find(seen.x509_text), std::string::npos) << f.reason;
    // The server hears of it through the client's alert.
    ASSERT_TRUE(net.run_until([&] { return net.server_events.tls_failed.has_value(); }));
    EXPECT_EQ(net.server().tls()->failure().kind, FailureKind::PeerAlert) << *net.server_events.tls_failed;
  } else {
    // Opportunistic and encrypt-only delivery go on, and still know what was wrong.
    ASSERT_TRUE(net.client_events.tls_ready) << net.client_events.tls_failed.value_or("");
    EXPECT_FALSE(net.client().tls()->failure().failed());
    net.client().write("EHLO client.example.test\r\n");
    ASSERT_TRUE(net.run_until([&] { return !net.server_events.data.empty(); }));
    EXPECT_EQ(net.server_events.data, "EHLO client.example.test\r\n");
  }
}

const BadCertificate kRows[] = {
    {"Good", {.cn = kHost, .dns_names = {kHost}}, BadCertificate::ByTestCa, kHost, CertProblem::None},
    {"WrongHost", {.cn = "mx.other.test", .dns_names = {"mx.other.test"}}, BadCertificate::ByTestCa, kHost,
     CertProblem::HostMismatch},
    {"Expired", {.cn = kHost, .dns_names = {kHost}, .valid_from = -7200, .valid_until = -60},
     BadCertificate::ByTestCa, kHost, CertProblem::Expired},
    {"NotYetValid", {.cn = kHost, .dns_names = {kHost}, .valid_from = 3600, .valid_until = 7200},
     BadCertificate::ByTestCa, kHost, CertProblem::NotYetValid},
    {"SelfSigned", {.cn = kHost, .dns_names = {kHost}}, BadCertificate::SelfSigned, kHost, CertProblem::NotTrusted},
    {"UnknownCa", {.cn = kHost, .dns_names = {kHost}}, BadCertificate::ByUnknownCa, kHost, CertProblem::NotTrusted},
};

INSTANTIATE_TEST_SUITE_P(Certificates, ConnectionTlsVerify,
                         ::testing::Combine(::testing::ValuesIn(kRows), ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).name) +
                                  (std::get<1>(info.param) ? "_Required" : "_Recorded");
                         });

}  // namespace
}  // namespace mxguard::net
