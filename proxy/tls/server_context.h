#pragma once
// The inbound TLS configuration: one or more certificates, chosen per connection by SNI and key type.
// Immutable once built; a reload builds a new one and live sessions keep the one they started with.
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "proxy/tls/client_hello.h"

namespace mxguard::tls {

struct CertificateFiles {
  std::string cert;   // PEM chain, leaf first
  std::string key;    // PEM private key
  std::string origin; // where it was configured, for errors: "mxguard.toml:12: inbound.certificate[0]"
};

struct LoadedCertificate {
  bssl::UniquePtr<SSL_CTX> ctx;     // a context serving exactly this certificate
  std::vector<std::string> names;   // DNS SANs (or the CN when there are none)
  bool ecdsa = false;
  std::string description;          // "mx.example.com (ECDSA)", for logs
};

class ServerContext {
 public:
  // Loads every certificate; the first error names the entry and the file.
  static std::variant<std::shared_ptr<const ServerContext>, std::string> create(
      const std::vector<CertificateFiles>& certificates);

  // A server-side SSL for one connection.
  bssl::UniquePtr<SSL> new_ssl() const;

  const std::vector<LoadedCertificate>& certificates() const { return certificates_; }

  // Which certificate a client gets: among those whose names match the SNI (all of them when none match
  // or there is no SNI), the first in configuration order whose key type the client can use. So the
  // operator's order is the preference: list the ECDSA certificate first to prefer it.
  const LoadedCertificate& select(const std::string* sni, const ClientCapabilities& caps) const;

 private:
  ServerContext() = default;
  static enum ssl_select_cert_result_t on_client_hello(const SSL_CLIENT_HELLO* hello);
  bssl::UniquePtr<SSL_CTX> base_;
  std::vector<LoadedCertificate> certificates_;
};

}  // namespace mxguard::tls
