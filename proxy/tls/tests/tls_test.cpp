// The TLS layer without sockets: two Engines talk through strings, so every handshake is deterministic.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/nid.h>

#include <filesystem>

#include "proxy/tls/client_hello.h"
#include "proxy/tls/self_signed.h"
#include "proxy/tls/server_context.h"
#include "proxy/tls/tests/test_ca_fixture.h"
#include "proxy/tls/tls_engine.h"

namespace mxguard::tls {
namespace {

namespace fs = std::filesystem;

// A self-signed certificate for `name` with the given SANs and key type, written to the test's directory;
// returns {cert, key} paths.
std::pair<std::string, std::string> make_cert(const testing::TempDir& dir, const std::string& name, bool ecdsa,
                                              const std::vector<std::string>& sans) {
  testing::Issued issued = testing::issue({.cn = name, .dns_names = sans, .ecdsa = ecdsa});
  std::string stem = name + (ecdsa ? "-ec" : "-rsa");
  testing::write_cert(dir.path() / (stem + ".crt"), issued.cert.get());
  testing::write_key(dir.path() / (stem + ".key"), issued.key.get());
  return {dir.file(stem + ".crt"), dir.file(stem + ".key")};
}

class TlsTest : public ::testing::Test {
 protected:
  // Two workers' contexts: the selection tests run through each.
  std::shared_ptr<const ServerContext> context(const std::vector<CertificateFiles>& files) {
    auto ctx = ServerContext::create(files, {.workers = 2});
    EXPECT_TRUE(std::holds_alternative<std::shared_ptr<const ServerContext>>(ctx))
        << std::get<std::string>(ctx);
    return std::get<std::shared_ptr<const ServerContext>>(ctx);
  }

  // Runs a handshake between a client with the given SNI / signature algorithms and the server.
  // Returns the leaf certificate's first name as the client saw it ("" on failure).
  struct Outcome {
    bool ok = false;
    std::string subject_cn;
    int key_type = 0;
    SessionInfo server_info;
    std::string server_failure;
  };
  Outcome handshake(const ServerContext& server, const char* sni, const char* sigalgs, uint16_t max_version,
                    const char* alpn = nullptr, unsigned worker = 0) {
    bssl::UniquePtr<SSL_CTX> client_ctx(SSL_CTX_new(TLS_method()));
    SSL_CTX_set_max_proto_version(client_ctx.get(), max_version);
    if (sigalgs) {
      EXPECT_EQ(SSL_CTX_set1_sigalgs_list(client_ctx.get(), sigalgs), 1);
    }
    bssl::UniquePtr<SSL> client_ssl(SSL_new(client_ctx.get()));
    SSL_set_connect_state(client_ssl.get());
    if (sni) SSL_set_tlsext_host_name(client_ssl.get(), sni);
    if (alpn) {
      std::string wire(1, static_cast<char>(strlen(alpn)));
      wire += alpn;
      SSL_set_alpn_protos(client_ssl.get(), reinterpret_cast<const uint8_t*>(wire.data()), wire.size());
    }
    SSL* client_raw = client_ssl.get();
    Engine client(std::move(client_ssl));
    Engine srv(server.new_ssl(worker));
    Outcome out;
    testing::pump(client, srv);
    if (srv.failure().failed()) {
      out.server_failure = srv.failure_reason();
      return out;
    }
    if (client.failure().failed()) return out;
    out.ok = client.handshake_done() && srv.handshake_done();
    bssl::UniquePtr<X509> leaf(SSL_get_peer_certificate(client_raw));
    if (leaf) {
      char cn[256] = {};
      X509_NAME_get_text_by_NID(X509_get_subject_name(leaf.get()), NID_commonName, cn, sizeof cn);
      out.subject_cn = cn;
      bssl::UniquePtr<EVP_PKEY> pk(X509_get_pubkey(leaf.get()));
      out.key_type = EVP_PKEY_id(pk.get());
    }
    out.server_info = srv.info();
    // Application data flows both ways once the handshake is done.
    EXPECT_EQ(client.write("EHLO client.example\r\n"), Progress::Ok);
    srv.feed(client.take_output());
    std::string got;
    EXPECT_EQ(srv.read(got, 1 << 20), Progress::Ok);
    EXPECT_EQ(got, "EHLO client.example\r\n");
    return out;
  }

  testing::TempDir dir_;
};

TEST_F(TlsTest, SniPicksTheMatchingCertificate) {
  auto [c1, k1] = make_cert(dir_, "mx1", true, {"mx1.example.com"});
  auto [c2, k2] = make_cert(dir_, "mx2", true, {"mx2.example.net", "*.example.net"});
  auto ctx = context({{c1, k1, "a"}, {c2, k2, "b"}});
  for (unsigned w : {0u, 1u}) {
    SCOPED_TRACE("worker " + std::to_string(w));
    EXPECT_EQ(handshake(*ctx, "mx2.example.net", nullptr, TLS1_3_VERSION, nullptr, w).subject_cn, "mx2");
    EXPECT_EQ(handshake(*ctx, "other.example.net", nullptr, TLS1_3_VERSION, nullptr, w).subject_cn, "mx2");
    EXPECT_EQ(handshake(*ctx, "mx1.example.com", nullptr, TLS1_3_VERSION, nullptr, w).subject_cn, "mx1");
  }
}

TEST_F(TlsTest, NoSniOrUnknownSniGetsTheFirstCertificate) {
  auto [c1, k1] = make_cert(dir_, "first", true, {"first.example"});
  auto [c2, k2] = make_cert(dir_, "second", true, {"second.example"});
  auto ctx = context({{c1, k1, "a"}, {c2, k2, "b"}});
  for (unsigned w : {0u, 1u}) {
    SCOPED_TRACE("worker " + std::to_string(w));
    EXPECT_EQ(handshake(*ctx, nullptr, nullptr, TLS1_3_VERSION, nullptr, w).subject_cn, "first");
    EXPECT_EQ(handshake(*ctx, "unknown.example", nullptr, TLS1_3_VERSION, nullptr, w).subject_cn, "first");
  }
}

TEST_F(TlsTest, KeyTypeFollowsTheClientsSignatureAlgorithms) {
  auto [rc, rk] = make_cert(dir_, "mx", false, {"mx.example.com"});
  auto [ec, ek] = make_cert(dir_, "mx", true, {"mx.example.com"});
  auto ctx = context({{ec, ek, "ec"}, {rc, rk, "rsa"}});
  for (unsigned w : {0u, 1u}) {
    SCOPED_TRACE("worker " + std::to_string(w));
    EXPECT_EQ(handshake(*ctx, "mx.example.com", "ECDSA+SHA256", TLS1_3_VERSION, nullptr, w).key_type, EVP_PKEY_EC);
    EXPECT_EQ(handshake(*ctx, "mx.example.com", "RSA-PSS+SHA256:RSA+SHA256", TLS1_3_VERSION, nullptr, w).key_type,
              EVP_PKEY_RSA);
    EXPECT_EQ(handshake(*ctx, "mx.example.com", "ECDSA+SHA256", TLS1_2_VERSION, nullptr, w).key_type, EVP_PKEY_EC);
    EXPECT_EQ(handshake(*ctx, "mx.example.com", "RSA+SHA256", TLS1_2_VERSION, nullptr, w).key_type, EVP_PKEY_RSA);
  }
}

TEST_F(TlsTest, ConfigurationOrderIsThePreferenceAmongUsableKeyTypes) {
  auto [rc, rk] = make_cert(dir_, "mx", false, {"mx.example.com"});
  auto [ec, ek] = make_cert(dir_, "mx", true, {"mx.example.com"});
  auto ctx = context({{rc, rk, "rsa"}, {ec, ek, "ec"}});
  // A client that accepts both gets the first configured; an ECDSA-only client still gets ECDSA.
  EXPECT_EQ(handshake(*ctx, "mx.example.com", nullptr, TLS1_3_VERSION).key_type, EVP_PKEY_RSA);
  EXPECT_EQ(handshake(*ctx, "mx.example.com", "ECDSA+SHA256", TLS1_3_VERSION).key_type, EVP_PKEY_EC);
}

TEST_F(TlsTest, Tls12AndTls13BothNegotiate) {
  auto [c, k] = make_cert(dir_, "mx", true, {"mx.example.com"});
  auto ctx = context({{c, k, "a"}});
  Outcome v12 = handshake(*ctx, "mx.example.com", nullptr, TLS1_2_VERSION);
  Outcome v13 = handshake(*ctx, "mx.example.com", nullptr, TLS1_3_VERSION);
  ASSERT_TRUE(v12.ok);
  ASSERT_TRUE(v13.ok);
  EXPECT_EQ(v12.server_info.version, "TLSv1.2");
  EXPECT_EQ(v13.server_info.version, "TLSv1.3");
  EXPECT_EQ(v13.server_info.sni, "mx.example.com");
  EXPECT_FALSE(v13.server_info.cipher.empty());
}

TEST_F(TlsTest, AlpnOtherThanSmtpIsRefused) {
  auto [c, k] = make_cert(dir_, "mx", true, {"mx.example.com"});
  auto ctx = context({{c, k, "a"}});
  Outcome http = handshake(*ctx, "mx.example.com", nullptr, TLS1_3_VERSION, "http/1.1");
  EXPECT_FALSE(http.ok);
  EXPECT_FALSE(http.server_failure.empty());
  Outcome smtp = handshake(*ctx, "mx.example.com", nullptr, TLS1_3_VERSION, "smtp");
  EXPECT_TRUE(smtp.ok);
  EXPECT_EQ(smtp.server_info.alpn, "smtp");
}

TEST_F(TlsTest, MissingOrMismatchedFilesNameTheEntry) {
  auto [c1, k1] = make_cert(dir_, "one", true, {"one.example"});
  auto [c2, k2] = make_cert(dir_, "two", true, {"two.example"});
  auto missing = ServerContext::create({{dir_.file("nope.crt"), k1, "f.toml:3: inbound.certificate[0]"}});
  ASSERT_TRUE(std::holds_alternative<std::string>(missing));
  EXPECT_NE(std::get<std::string>(missing).find("f.toml:3: inbound.certificate[0].cert"), std::string::npos);
  auto mismatch = ServerContext::create({{c1, k2, "f.toml:9: inbound.certificate[1]"}});
  ASSERT_TRUE(std::holds_alternative<std::string>(mismatch));
  EXPECT_NE(std::get<std::string>(mismatch).find("does not match"), std::string::npos);
}

TEST_F(TlsTest, SelfSignedIsGeneratedOnceAndReused) {
  auto first = ensure_self_signed(dir_.file("state"), "mx.example.org");
  ASSERT_TRUE(std::holds_alternative<SelfSigned>(first)) << std::get<std::string>(first);
  EXPECT_TRUE(std::get<SelfSigned>(first).generated);
  EXPECT_EQ(fs::status(std::get<SelfSigned>(first).key_path).permissions() & fs::perms::group_read, fs::perms::none);
  auto second = ensure_self_signed(dir_.file("state"), "mx.example.org");
  ASSERT_TRUE(std::holds_alternative<SelfSigned>(second));
  EXPECT_FALSE(std::get<SelfSigned>(second).generated);
  const auto& made = std::get<SelfSigned>(second);
  auto ctx = context({{made.cert_path, made.key_path, "self-signed"}});
  Outcome o = handshake(*ctx, "mx.example.org", nullptr, TLS1_3_VERSION);
  EXPECT_TRUE(o.ok);
  EXPECT_EQ(o.subject_cn, "mx.example.org");
  EXPECT_EQ(ctx->certificates().front().names, std::vector<std::string>{"mx.example.org"});
}

// A TLS 1.2 client with the given cipher list against `server`; returns the suite both sides agreed on
// ("" when the handshake failed) and the server's failure.
std::pair<std::string, Failure> negotiate_tls12(const ServerContext& server, const char* ciphers) {
  bssl::UniquePtr<SSL_CTX> client_ctx(SSL_CTX_new(TLS_method()));
  SSL_CTX_set_max_proto_version(client_ctx.get(), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_set_strict_cipher_list(client_ctx.get(), ciphers), 1) << ciphers;
  bssl::UniquePtr<SSL> client_ssl(SSL_new(client_ctx.get()));
  SSL_set_connect_state(client_ssl.get());
  Engine client(std::move(client_ssl));
  Engine srv(server.new_ssl());
  testing::pump(client, srv);
  if (client.failure().failed() || srv.failure().failed()) return {"", srv.failure()};
  EXPECT_EQ(client.info().cipher, srv.info().cipher);
  return {srv.info().cipher, srv.failure()};
}

TEST_F(TlsTest, ServerCipherOrderWinsOverTheClients) {
  auto [ec, ek] = make_cert(dir_, "mx", true, {"mx.example.com"});
  auto [rc, rk] = make_cert(dir_, "mx", false, {"mx.example.com"});
  auto ecdsa = context({{ec, ek, "ec"}});
  auto rsa = context({{rc, rk, "rsa"}});
  // Weakest first, as a scanner does: the server still picks its own first choice.
  EXPECT_EQ(negotiate_tls12(*ecdsa, "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-CHACHA20-POLY1305:"
                                    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256").first,
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
  EXPECT_EQ(negotiate_tls12(*rsa, "AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-RSA-CHACHA20-POLY1305:"
                                  "ECDHE-RSA-AES256-GCM-SHA384").first,
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
  EXPECT_EQ(negotiate_tls12(*rsa, "ECDHE-RSA-CHACHA20-POLY1305").first, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
}

TEST_F(TlsTest, OldCbcOnlyClientsStillEncryptWithForwardSecrecy) {
  auto [rc, rk] = make_cert(dir_, "mx", false, {"mx.example.com"});
  auto rsa = context({{rc, rk, "rsa"}});
  EXPECT_EQ(negotiate_tls12(*rsa, "AES256-SHA:ECDHE-RSA-AES256-SHA:ECDHE-RSA-AES128-SHA").first,
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA");
}

TEST_F(TlsTest, RsaKeyExchangeOnlyClientsAreRefused) {
  auto [rc, rk] = make_cert(dir_, "mx", false, {"mx.example.com"});
  auto rsa = context({{rc, rk, "rsa"}});
  for (const char* ciphers : {"AES128-SHA:AES256-SHA", "AES128-GCM-SHA256:AES256-SHA"}) {
    auto [cipher, failure] = negotiate_tls12(*rsa, ciphers);
    EXPECT_EQ(cipher, "") << ciphers;
    EXPECT_EQ(failure.kind, FailureKind::Protocol) << ciphers << ": " << failure.reason;
    EXPECT_NE(failure.reason.find("NO_SHARED_CIPHER"), std::string::npos) << failure.reason;
  }
}

TEST(ClientHello, ServerNameIsParsedAndLowerCased) {
  const uint8_t ext[] = {0x00, 0x0f, 0x00, 0x00, 0x0b, 'M', 'X', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.'};
  // the list claims 15 bytes, only 14 follow: malformed
  EXPECT_FALSE(parse_server_name(ext).has_value());
  const uint8_t good[] = {0x00, 0x0d, 0x00, 0x00, 0x0a, 'M', 'X', '.', 'E', 'x', 'a', 'm', 'p', 'l', 'e'};
  ASSERT_TRUE(parse_server_name(good).has_value());
  EXPECT_EQ(*parse_server_name(good), "mx.example");
  EXPECT_FALSE(parse_server_name({}).has_value());
}

TEST(ClientHello, ServerNameWithControlBytesIsIgnored) {
  const uint8_t bad[] = {0x00, 0x06, 0x00, 0x00, 0x03, 'a', '\n', 'b'};
  EXPECT_FALSE(parse_server_name(bad).has_value());
}

TEST(ClientHello, EcdsaNeedsASignatureSchemeAndASuiteOrTls13) {
  const uint8_t ecdsa_sigalgs[] = {0x00, 0x02, 0x04, 0x03};
  const uint8_t rsa_sigalgs[] = {0x00, 0x02, 0x08, 0x04};
  const uint8_t tls13[] = {0x02, 0x03, 0x04};
  const uint8_t tls12[] = {0x02, 0x03, 0x03};
  const uint8_t ecdsa_suite[] = {0xc0, 0x2b};
  const uint8_t rsa_suite[] = {0xc0, 0x2f};
  EXPECT_TRUE(parse_capabilities(ecdsa_sigalgs, tls13, rsa_suite).ecdsa);
  EXPECT_FALSE(parse_capabilities(rsa_sigalgs, tls13, ecdsa_suite).ecdsa);
  EXPECT_TRUE(parse_capabilities(ecdsa_sigalgs, tls12, ecdsa_suite).ecdsa);
  EXPECT_FALSE(parse_capabilities(ecdsa_sigalgs, tls12, rsa_suite).ecdsa);
  EXPECT_TRUE(parse_capabilities({}, {}, ecdsa_suite).ecdsa);   // TLS 1.2 default signature algorithms
  EXPECT_TRUE(parse_capabilities(rsa_sigalgs, tls13, rsa_suite).rsa);
  EXPECT_FALSE(parse_capabilities(ecdsa_sigalgs, tls13, rsa_suite).rsa);
  EXPECT_TRUE(parse_capabilities({}, {}, rsa_suite).rsa);
}

}  // namespace
}  // namespace mxguard::tls
