#pragma once
// What the tests of handshakes between two Engines share (no sockets): pump() moves the records between
// them, TestCaFixture gives each test a CA of its own, a client context that trusts it, and servers
// presenting leaves; the TLS 1.1-only SSLs stand for the old peers version tests need.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <memory>

#include "proxy/tls/client_context.h"
#include "proxy/tls/server_context.h"
#include "proxy/tls/tests/test_pki.h"
#include "proxy/tls/tls_engine.h"

namespace mxguard::tls::testing {

// Runs both handshakes, passing each side's records to the other, until both are done or one fails;
// after a failure the last records (the alert) still reach the other side, as they would on a socket.
void pump(Engine& client, Engine& server);

// Peers that speak nothing newer than TLS 1.1: a server presenting `leaf`, and a client that checks nothing.
bssl::UniquePtr<SSL> tls11_server_ssl(const Issued& leaf);
bssl::UniquePtr<SSL> tls11_client_ssl();

class TestCaFixture : public ::testing::Test {
 protected:
  // Issues the test CA ("mxguard test CA") and writes it as ca.crt, the client contexts' CA file.
  void SetUp() override;

  // A client context whose CA file is the test CA.
  std::shared_ptr<const ClientContext> client_context() const;
  // A server presenting `leaf`, followed by `chain`'s certificate when given (leaf first, as in a
  // chain file).
  std::shared_ptr<const ServerContext> server_context(const Issued& leaf, const Issued* chain = nullptr) const;
  // A server presenting a new leaf made from `spec` and signed by the test CA.
  std::shared_ptr<const ServerContext> server_context(const CertSpec& spec) const;

  TempDir dir_;
  Issued ca_;
};

}  // namespace mxguard::tls::testing
