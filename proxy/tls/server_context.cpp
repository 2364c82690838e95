#include "proxy/tls/server_context.h"

#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstring>
#include <optional>

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
  // No session cache: resumption is by ticket only (TLS 1.3 knows nothing else, and the TLS 1.2 clients
  // of OpenSSL and GnuTLS, so Postfix's and Exim's, offer tickets by default). A cache would be one more write under a lock per session, and a
  // worker's own cache would resume a sender only when SO_REUSEPORT brought it back to the same worker.
  // Set on every context: BoringSSL reads the cache mode from the certificate's context too.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
         SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1 &&
         SSL_CTX_set_strict_cipher_list(ctx, kServerCiphers) == 1 &&
         (SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr), true);
}

// A certificate's files as read once: every worker's copy is parsed from these bytes, so all serve the
// same certificate even if a file is replaced while they load. The key's bytes are erased afterwards.
struct CertificatePem {
  std::string chain;
  std::string key;
  CertificatePem() = default;
  CertificatePem(const CertificatePem&) = delete;
  CertificatePem& operator=(const CertificatePem&) = delete;
  ~CertificatePem() { OPENSSL_cleanse(key.data(), key.size()); }
};

// A whole (small) file through a BIO, so that errors read as BoringSSL's. False: see ERR_get_error.
bool read_whole_file(const std::string& path, std::string& out) {
  bssl::UniquePtr<BIO> file(BIO_new_file(path.c_str(), "r"));
  if (!file) return false;
  out.reserve(64 * 1024);   // certificate and key files fit: no reallocation leaves key bytes behind
  char buffer[4096];
  for (int n; (n = BIO_read(file.get(), buffer, sizeof buffer)) > 0;) out.append(buffer, static_cast<std::size_t>(n));
  OPENSSL_cleanse(buffer, sizeof buffer);
  return true;
}

// SSL_CTX_use_certificate_chain_file over bytes in memory: the leaf, then every further certificate as
// the chain.
bool use_chain(SSL_CTX* ctx, const std::string& pem) {
  bssl::UniquePtr<BIO> in(BIO_new_mem_buf(pem.data(), pem.size()));
  bssl::UniquePtr<X509> leaf(in ? PEM_read_bio_X509_AUX(in.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!leaf || SSL_CTX_use_certificate(ctx, leaf.get()) != 1 || SSL_CTX_clear_chain_certs(ctx) != 1) return false;
  while (bssl::UniquePtr<X509> next{PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr)}) {
    if (SSL_CTX_add0_chain_cert(ctx, next.get()) != 1) return false;
    next.release();   // owned by the context now
  }
  uint32_t error = ERR_peek_last_error();
  if (ERR_GET_LIB(error) != ERR_LIB_PEM || ERR_GET_REASON(error) != PEM_R_NO_START_LINE) return false;
  ERR_clear_error();   // the end of the file, not an error
  return true;
}

// Reads both files into `pem`; the error names the entry and the file.
std::optional<std::string> read_one(const CertificateFiles& files, CertificatePem& pem) {
  if (!read_whole_file(files.cert, pem.chain)) {
    return files.origin + ".cert: cannot load certificate chain \"" + files.cert + "\": " + last_ssl_error();
  }
  if (!read_whole_file(files.key, pem.key)) {
    return files.origin + ".key: cannot load private key \"" + files.key + "\": " + last_ssl_error();
  }
  return std::nullopt;
}

// One worker's context serving exactly this certificate, with a private key of its own (an RSA key's
// private operations take the key's lock). `loaded` (the first worker's) gets the names and key type.
std::variant<bssl::UniquePtr<SSL_CTX>, std::string> load_one(const CertificateFiles& files, const CertificatePem& pem,
                                                             LoadedCertificate* loaded) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx || !configure_common(ctx.get())) return "cannot create a TLS context";
  if (!use_chain(ctx.get(), pem.chain)) {
    return files.origin + ".cert: cannot load certificate chain \"" + files.cert + "\": " + last_ssl_error();
  }
  bssl::UniquePtr<BIO> key_bytes(BIO_new_mem_buf(pem.key.data(), pem.key.size()));
  bssl::UniquePtr<EVP_PKEY> key(key_bytes ? PEM_read_bio_PrivateKey(key_bytes.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) {
    return files.origin + ".key: cannot load private key \"" + files.key + "\": " + last_ssl_error();
  }
  if (SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 || SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    return files.origin + ".key: private key \"" + files.key + "\" does not match certificate \"" + files.cert + "\"";
  }
  int type = EVP_PKEY_id(key.get());
  if (type != EVP_PKEY_EC && type != EVP_PKEY_RSA) {
    return files.origin + ".key: only ECDSA and RSA keys are supported (\"" + files.key + "\")";
  }
  if (loaded) {
    loaded->ecdsa = type == EVP_PKEY_EC;
    loaded->names = host_names(SSL_CTX_get0_certificate(ctx.get()));
    loaded->description = (loaded->names.empty() ? std::string("(no name)") : loaded->names.front()) +
                          (loaded->ecdsa ? " (ECDSA)" : " (RSA)");
  }
  return ctx;
}

std::span<const uint8_t> extension(const SSL_CLIENT_HELLO* hello, uint16_t type) {
  const uint8_t* data = nullptr;
  size_t len = 0;
  if (SSL_early_callback_ctx_extension_get(hello, type, &data, &len) != 1) return {};
  return {data, len};
}

}  // namespace

// One worker's contexts. Aligned to a cache line, so that no other worker's data shares one with its
// ticket key cache, the one part written after start.
struct alignas(64) ServerContext::WorkerContexts {
  WorkerContexts(const ServerContext* owner, std::shared_ptr<TicketKeySource> keys)
      : owner(owner), tickets(std::move(keys)) {}
  const ServerContext* owner;
  bssl::UniquePtr<SSL_CTX> base;                          // what SSL_new gets; the session (ticket) context
  std::vector<bssl::UniquePtr<SSL_CTX>> by_certificate;   // in the order of certificates_
  TicketKeyCache tickets;
};

ServerContext::~ServerContext() = default;

std::variant<std::shared_ptr<const ServerContext>, std::string> ServerContext::create(
    const std::vector<CertificateFiles>& certificates, ServerOptions options) {
  if (certificates.empty()) return std::string("no certificate to serve");
  std::shared_ptr<ServerContext> ctx(new ServerContext());   // private constructor: make_shared can't reach it
  std::vector<CertificatePem> pems(certificates.size());
  for (std::size_t i = 0; i < certificates.size(); ++i) {
    if (auto error = read_one(certificates[i], pems[i])) return *error;
  }
  ctx->certificates_.resize(certificates.size());
  auto keys = options.ticket_keys ? options.ticket_keys : std::make_shared<TicketKeySource>();
  for (unsigned w = 0; w < std::max(1u, options.workers); ++w) {
    auto worker = std::make_unique<WorkerContexts>(ctx.get(), keys);
    for (std::size_t i = 0; i < certificates.size(); ++i) {
      auto loaded = load_one(certificates[i], pems[i], w == 0 ? &ctx->certificates_[i] : nullptr);
      if (auto* error = std::get_if<std::string>(&loaded)) return *error;
      worker->by_certificate.push_back(std::move(std::get<bssl::UniquePtr<SSL_CTX>>(loaded)));
      SSL_CTX_set_app_data(worker->by_certificate.back().get(), worker.get());
    }
    worker->base.reset(SSL_CTX_new(TLS_server_method()));
    SSL_CTX* base = worker->base.get();
    if (!base || !configure_common(base)) return std::string("cannot create a TLS context");
    SSL_CTX_set_app_data(base, worker.get());
    SSL_CTX_set_select_certificate_cb(base, &ServerContext::on_client_hello);
    // Tickets are sealed and opened with the worker's own copy of the process's keys (ticket_keys.h);
    // BoringSSL asks the base context, the session's context whichever certificate serves it. A ticket
    // lives as long as its key is sure to be there: one period.
    SSL_CTX_set_tlsext_ticket_key_cb(base, &ServerContext::on_ticket);
    SSL_CTX_set_session_psk_dhe_timeout(base, static_cast<uint32_t>(TicketKeySource::kPeriod.count()));
    ctx->workers_.push_back(std::move(worker));
  }
  return std::shared_ptr<const ServerContext>(std::move(ctx));
}

bssl::UniquePtr<SSL> ServerContext::new_ssl(unsigned worker) const {
  if (worker >= workers_.size()) return nullptr;
  bssl::UniquePtr<SSL> ssl(SSL_new(workers_[worker]->base.get()));
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
  const auto* worker = static_cast<const WorkerContexts*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(hello->ssl)));
  if (!worker) return ssl_select_cert_error;
  const ServerContext& self = *worker->owner;
  std::optional<std::string> sni = parse_server_name(extension(hello, TLSEXT_TYPE_server_name));
  ClientCapabilities caps = parse_capabilities(
      extension(hello, TLSEXT_TYPE_signature_algorithms), extension(hello, TLSEXT_TYPE_supported_versions),
      {hello->cipher_suites, hello->cipher_suites_len});
  const LoadedCertificate& chosen = self.select(sni ? &*sni : nullptr, caps);
  SSL_CTX* serving = worker->by_certificate[static_cast<std::size_t>(&chosen - self.certificates_.data())].get();
  if (SSL_set_SSL_CTX(hello->ssl, serving) == nullptr) return ssl_select_cert_error;
  return ssl_select_cert_success;
}

int ServerContext::on_ticket(SSL* ssl, uint8_t* key_name, uint8_t* iv, EVP_CIPHER_CTX* cipher, HMAC_CTX* hmac,
                             int seal) {
  // The base context before the certificate is chosen, that certificate's context after: both point to
  // their worker's contexts.
  auto* worker = static_cast<WorkerContexts*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (!worker) return seal ? -1 : 0;
  return worker->tickets.on_ticket(key_name, iv, cipher, hmac, seal != 0);
}

}  // namespace mxguard::tls
