#include "proxy/tls/tests/test_ca_fixture.h"

#include <variant>

namespace mxguard::tls::testing {

void pump(Engine& client, Engine& server) {
  for (int round = 0; round < 20; ++round) {
    Progress c = client.handshake();
    server.feed(client.take_output());
    Progress s = server.handshake();
    client.feed(server.take_output());
    if (c == Progress::Failed || s == Progress::Failed) {
      server.feed(client.take_output());
      if (s != Progress::Failed) server.handshake();
      client.feed(server.take_output());
      if (c != Progress::Failed) client.handshake();
      return;
    }
    if (c == Progress::Ok && s == Progress::Ok) return;
  }
}

bssl::UniquePtr<SSL> tls11_server_ssl(const Issued& leaf) {
  bssl::UniquePtr<SSL_CTX> old(SSL_CTX_new(TLS_method()));
  EXPECT_EQ(SSL_CTX_set_min_proto_version(old.get(), TLS1_VERSION), 1);
  EXPECT_EQ(SSL_CTX_set_max_proto_version(old.get(), TLS1_1_VERSION), 1);
  EXPECT_EQ(SSL_CTX_use_certificate(old.get(), leaf.cert.get()), 1);
  EXPECT_EQ(SSL_CTX_use_PrivateKey(old.get(), leaf.key.get()), 1);
  bssl::UniquePtr<SSL> ssl(SSL_new(old.get()));   // holds its own reference to the SSL_CTX
  SSL_set_accept_state(ssl.get());
  return ssl;
}

bssl::UniquePtr<SSL> tls11_client_ssl() {
  bssl::UniquePtr<SSL_CTX> old(SSL_CTX_new(TLS_method()));
  EXPECT_EQ(SSL_CTX_set_min_proto_version(old.get(), TLS1_VERSION), 1);
  EXPECT_EQ(SSL_CTX_set_max_proto_version(old.get(), TLS1_1_VERSION), 1);
  bssl::UniquePtr<SSL> ssl(SSL_new(old.get()));
  SSL_set_connect_state(ssl.get());
  return ssl;
}

void TestCaFixture::SetUp() {
  ca_ = issue({.cn = "mxguard test CA", .ca = true});
  write_cert(dir_.path() / "ca.crt", ca_.cert.get());
}

std::shared_ptr<const ClientContext> TestCaFixture::client_context() const {
  auto ctx = ClientContext::create(dir_.file("ca.crt"));
  EXPECT_TRUE(std::holds_alternative<std::shared_ptr<const ClientContext>>(ctx)) << std::get<std::string>(ctx);
  return std::get<std::shared_ptr<const ClientContext>>(ctx);
}

std::shared_ptr<const ServerContext> TestCaFixture::server_context(const Issued& leaf, const Issued* chain) const {
  write_cert(dir_.path() / "leaf.crt", leaf.cert.get(), chain ? chain->cert.get() : nullptr);
  write_key(dir_.path() / "leaf.key", leaf.key.get());
  auto ctx = ServerContext::create({{dir_.file("leaf.crt"), dir_.file("leaf.key"), "test"}});
  EXPECT_TRUE(std::holds_alternative<std::shared_ptr<const ServerContext>>(ctx)) << std::get<std::string>(ctx);
  return std::get<std::shared_ptr<const ServerContext>>(ctx);
}

std::shared_ptr<const ServerContext> TestCaFixture::server_context(const CertSpec& spec) const {
  return server_context(issue(spec, &ca_));
}

}  // namespace mxguard::tls::testing
