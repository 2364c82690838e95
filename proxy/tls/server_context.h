#pragma once
// The inbound TLS configuration: one or more certificates, chosen per connection by SNI and key type.
// Immutable once built; a reload builds a new one and live sessions keep the one they started with.
//
// Each worker has SSL_CTXs of its own (a base context and one per certificate, with its own copy of every
// certificate and private key, parsed from the files read once) and its own ticket key cache: BoringSSL
// up-refs the contexts an SSL uses, copies the chosen certificate's configuration (more reference
// counts) and takes a shared context's lock around its ticket keys, so with one set of contexts for the
// process every session would write cache lines every worker writes. A session asks for an SSL of its
// own worker, and everything BoringSSL writes then belongs to that worker alone.
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "proxy/tls/client_hello.h"
#include "proxy/tls/ticket_keys.h"

namespace mxguard::tls {

struct CertificateFiles {
  std::string cert;   // PEM chain, leaf first
  std::string key;    // PEM private key
  std::string origin; // where it was configured, for errors: "mxguard.toml:12: inbound.certificate[0]"
};

struct LoadedCertificate {
  std::vector<std::string> names;   // DNS SANs (or the CN when there are none)
  bool ecdsa = false;
  std::string description;          // "mx.example.com (ECDSA)", for logs
};

struct ServerOptions {
  unsigned workers = 1;   // how many sets of contexts: one per worker thread
  // Where the session-ticket keys come from: the process's one source, so that a ticket opens on every
  // worker and after a reload. Null: a source of this context's own (check-config, tests).
  std::shared_ptr<TicketKeySource> ticket_keys;
};

class ServerContext {
 public:
  // Loads every certificate; the first error names the entry and the file.
  static std::variant<std::shared_ptr<const ServerContext>, std::string> create(
      const std::vector<CertificateFiles>& certificates, ServerOptions options = {});
  ~ServerContext();

  // A server-side SSL for one connection accepted by worker `worker` (< workers()); null when out of
  // range. Only that worker's thread may use the SSLs of its index: their contexts and ticket key cache
  // are written without a lock.
  bssl::UniquePtr<SSL> new_ssl(unsigned worker = 0) const;
  unsigned workers() const { return static_cast<unsigned>(workers_.size()); }

  const std::vector<LoadedCertificate>& certificates() const { return certificates_; }

  // Which certificate a client gets: among those whose names match the SNI (all of them when none match
  // or there is no SNI), the first in configuration order whose key type the client can use. So the
  // operator's order is the preference: list the ECDSA certificate first to prefer it.
  const LoadedCertificate& select(const std::string* sni, const ClientCapabilities& caps) const;

 private:
  struct WorkerContexts;
  ServerContext() = default;
  static enum ssl_select_cert_result_t on_client_hello(const SSL_CLIENT_HELLO* hello);
  static int on_ticket(SSL* ssl, uint8_t* key_name, uint8_t* iv, EVP_CIPHER_CTX* cipher, HMAC_CTX* hmac, int seal);
  std::vector<LoadedCertificate> certificates_;
  std::vector<std::unique_ptr<WorkerContexts>> workers_;   // one per worker, each its own allocation
};

}  // namespace mxguard::tls
