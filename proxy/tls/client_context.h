#pragma once
// The outbound TLS configuration: the trust anchors remote MX certificates are checked against, and the
// client's protocol settings. Immutable once built and shared by every outbound session of a loader run.
//
// One SSL_CTX per worker, each with the CA file loaded into a certificate store of its own: BoringSSL
// up-refs the context per SSL, locks the store while it looks up issuers, and up-refs and locks the CA
// certificates it finds, so one store for the process would have every worker write the same cache
// lines per handshake. The price is the parsed bundle once per worker (about 0.9 MiB for Debian's 144
// roots).
//
// After the handshake, Engine::verification() says what the check found (chain trusted? host matches?
// the first problem, the leaf's names) and Engine::info() the version and cipher, whether or not the
// check was required.
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proxy/tls/dane_check.h"

namespace mxguard::tls {

class ClientContext {
 public:
  // `ca_file` is a PEM bundle such as /etc/ssl/certs/ca-certificates.crt (BoringSSL has no usable default
  // on Debian, so it is always loaded explicitly). The error names the file.
  // `workers`: how many sets (one per worker thread).
  static std::variant<std::shared_ptr<const ClientContext>, std::string> create(const std::string& ca_file,
                                                                                 unsigned workers = 1);

  // A client-side SSL for one connection (connect state set).
  // `sni`: the server name to send ("" or an IP literal: none is sent, RFC 6066 §3).
  // `verify_host`: the name the leaf certificate must carry ("" = no name check).
  // `verify`: true = any certificate problem fails the handshake; false = the handshake completes and the
  //           problem is only recorded (opportunistic and encrypt-only levels still deliver, and the audit
  //           log still says what was wrong).
  // `worker`: the index of the worker whose thread runs the connection (< workers()).
  // nullptr if the names cannot be used (empty labels, NUL bytes), the worker is out of range or memory ran
  // out.
  bssl::UniquePtr<SSL> new_ssl(std::string_view sni, std::string_view verify_host, bool verify,
                               unsigned worker = 0) const;
  // The same for DANE (RFC 7672 §3): the chain is checked against `dane`'s TLSA records instead of the CA
  // file, and any problem fails the handshake. SNI is `sni`, the MX host name (RFC 7672 §8.1), so that a
  // server with several certificates presents the one its TLSA records name.
  bssl::UniquePtr<SSL> new_dane_ssl(std::string_view sni, DaneExpectation dane, unsigned worker = 0) const;

  const std::string& ca_file() const { return ca_file_; }
  unsigned workers() const { return static_cast<unsigned>(contexts_.size()); }

 private:
  ClientContext() = default;
  // A client SSL sending `sni` (nothing for "" or an address); nullptr for an unusable name.
  bssl::UniquePtr<SSL> client_ssl(std::string_view sni, unsigned worker) const;
  std::vector<bssl::UniquePtr<SSL_CTX>> contexts_;   // one per worker
  std::string ca_file_;
};

}  // namespace mxguard::tls
