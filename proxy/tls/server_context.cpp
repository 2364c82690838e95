#include "proxy/tls/server_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstring>

#include "policy/names.h"
#include "proxy/tls/ssl_error.h"
#include "proxy/tls/client_hello.h"
#include "proxy/tls/x509_names.h"

namespace mxguard::tls {
namespace {

// ALPACA (cross-protocol attacks): a client that offers ALPN without "smtp" is talking to the wrong
// service, e.g. a browser tricked into sending HTTP; refuse rather than let it reach the backend.
int select_alpn(SSL*, const uint8_t** out, uint8_t* out_len, const uint8_t* in, unsigned in_len, void*) {
  static const uint8_t kSmtp[] = {'s', 'm', 't', 'p'};
  for (unsigned i = 0; i < in_len;) {
    uint8_t len = in[i];
    if (i + 1 + len > in_len) break;
    if (len == sizeof kSmtp && std::memcmp(in + i + 1, kSmtp, len) == 0) {
      *out = in + i + 1;
      *out_len = len;
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

// TLS 1.2 suites in the order the server picks them (TLS 1.3 suites are fixed in BoringSSL, all AEAD
// with forward secrecy). Forward secrecy always (ECDHE only, never RSA key exchange), AEAD first: every
// current client (OpenSSL 1.0.1 and later, so Postfix, Exim, swaks, openssl s_client; Schannel since
// Windows 10 / Server 2016; Go, Java 8) gets AES-128-GCM, then AES-256-GCM, then ChaCha20. ECDHE with
// AES-CBC comes last so that an old sender (unpatched Windows Server 2012 R2 and older) still encrypts:
// its alternative under opportunistic STARTTLS is plaintext, and the server's order means no client can
// make mxguard pick CBC when it offers anything better.
constexpr const char* kServerCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA";

bool configure_common(SSL_CTX* ctx) {
  // TLS 1.2 and 1.3 only. The server's order wins over the client's: a client listing a weak suite first
  // still gets the strongest one both sides have.
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
         SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1 &&
         SSL_CTX_set_strict_cipher_list(ctx, kServerCiphers) == 1 &&
         (SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr), true);
}

std::variant<LoadedCertificate, std::string> load_one(const CertificateFiles& files) {
  LoadedCertificate loaded;
  loaded.ctx.reset(SSL_CTX_new(TLS_server_method()));
  if (!loaded.ctx || !configure_common(loaded.ctx.get())) return "cannot create a TLS context";
  if (SSL_CTX_use_certificate_chain_file(loaded.ctx.get(), files.cert.c_str()) != 1) {
    return files.origin + ".cert: cannot load certificate chain \"" + files.cert + "\": " + last_ssl_error();
  }
  bssl::UniquePtr<BIO> key_file(BIO_new_file(files.key.c_str(), "r"));
  bssl::UniquePtr<EVP_PKEY> key(key_file ? PEM_read_bio_PrivateKey(key_file.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) {
    return files.origin + ".key: cannot load private key \"" + files.key + "\": " + last_ssl_error();
  }
  if (SSL_CTX_use_PrivateKey(loaded.ctx.get(), key.get()) != 1 || SSL_CTX_check_private_key(loaded.ctx.get()) != 1) {
    ERR_clear_error();
    return files.origin + ".key: private key \"" + files.key + "\" does not match certificate \"" + files.cert + "\"";
  }
  X509* leaf = SSL_CTX_get0_certificate(loaded.ctx.get());
  int type = EVP_PKEY_id(key.get());
  if (type != EVP_PKEY_EC && type != EVP_PKEY_RSA) {
    return files.origin + ".key: only ECDSA and RSA keys are supported (\"" + files.key + "\")";
  }
  loaded.ecdsa = type == EVP_PKEY_EC;
  loaded.names = host_names(leaf);
  loaded.description = (loaded.names.empty() ? std::string("(no name)") : loaded.names.front()) +
                       (loaded.ecdsa ? " (ECDSA)" : " (RSA)");
  return loaded;
}

std::span<const uint8_t> extension(const SSL_CLIENT_HELLO* hello, uint16_t type) {
  const uint8_t* data = nullptr;
  size_t len = 0;
  if (SSL_early_callback_ctx_extension_get(hello, type, &data, &len) != 1) return {};
  return {data, len};
}

}  // namespace

std::variant<std::shared_ptr<const ServerContext>, std::string> ServerContext::create(
    const std::vector<CertificateFiles>& certificates) {
  if (certificates.empty()) return std::string("no certificate to serve");
  std::shared_ptr<ServerContext> ctx(new ServerContext());   // private constructor: make_shared can't reach it
  for (const auto& files : certificates) {
    auto loaded = load_one(files);
    if (auto* error = std::get_if<std::string>(&loaded)) return *error;
    ctx->certificates_.push_back(std::move(std::get<LoadedCertificate>(loaded)));
  }
  ctx->base_.reset(SSL_CTX_new(TLS_server_method()));
  if (!ctx->base_ || !configure_common(ctx->base_.get())) return std::string("cannot create a TLS context");
  SSL_CTX_set_app_data(ctx->base_.get(), ctx.get());
  SSL_CTX_set_select_certificate_cb(ctx->base_.get(), &ServerContext::on_client_hello);
  return std::shared_ptr<const ServerContext>(std::move(ctx));
}

bssl::UniquePtr<SSL> ServerContext::new_ssl() const {
  bssl::UniquePtr<SSL> ssl(SSL_new(base_.get()));
  if (ssl) {
    SSL_set_accept_state(ssl.get());
    // Handshake-only configuration is freed once the handshake is done: idle sessions stay small.
    SSL_set_shed_handshake_config(ssl.get(), 1);
  }
  return ssl;
}

const LoadedCertificate& ServerContext::select(const std::string* sni, const ClientCapabilities& caps) const {
  std::vector<const LoadedCertificate*> candidates;
  if (sni) {
    for (const auto& c : certificates_) {
      if (std::any_of(c.names.begin(), c.names.end(), [&](const std::string& n) { return policy::name_matches(n, *sni); })) {
        candidates.push_back(&c);
      }
    }
  }
  if (candidates.empty()) {
    for (const auto& c : certificates_) candidates.push_back(&c);
  }
  for (const auto* c : candidates) {
    if (c->ecdsa ? caps.ecdsa : caps.rsa) return *c;
  }
  // Nothing the client claims to support: offer the first and let the handshake decide.
  return *candidates.front();
}

enum ssl_select_cert_result_t ServerContext::on_client_hello(const SSL_CLIENT_HELLO* hello) {
  SSL_CTX* base = SSL_get_SSL_CTX(hello->ssl);
  const auto* self = static_cast<const ServerContext*>(SSL_CTX_get_app_data(base));
  if (!self) return ssl_select_cert_error;
  std::optional<std::string> sni = parse_server_name(extension(hello, TLSEXT_TYPE_server_name));
  ClientCapabilities caps = parse_capabilities(
      extension(hello, TLSEXT_TYPE_signature_algorithms), extension(hello, TLSEXT_TYPE_supported_versions),
      {hello->cipher_suites, hello->cipher_suites_len});
  const LoadedCertificate& chosen = self->select(sni ? &*sni : nullptr, caps);
  if (SSL_set_SSL_CTX(hello->ssl, chosen.ctx.get()) == nullptr) return ssl_select_cert_error;
  return ssl_select_cert_success;
}

}  // namespace mxguard::tls
