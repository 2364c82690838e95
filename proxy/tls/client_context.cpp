#include "proxy/tls/client_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>

#include "proxy/tls/ssl_error.h"
#include "proxy/tls/verification.h"

namespace mxguard::tls {
namespace {

// Offered to remote MX servers. A client's list only widens what a server may pick, and the server
// decides; the order still states our preference. Forward-secret AEAD first; ECDHE with CBC and plain
// RSA key exchange last, because for an opportunistic peer the alternative to an old suite is plaintext.
constexpr const char* kClientCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
    "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA:AES256-SHA";

// A DNS name as it appears in MX records may end with the root's dot; certificates never carry it.
std::string_view without_root_dot(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return name;
}

bool is_ip_literal(std::string_view name) {
  std::string text(name);
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

}  // namespace

std::variant<std::shared_ptr<const ClientContext>, std::string> ClientContext::create(const std::string& ca_file,
                                                                                     unsigned workers) {
  if (ca_file.empty()) return std::string("no CA file configured for verifying remote certificates");
  std::shared_ptr<ClientContext> self(new ClientContext());   // private constructor: make_shared can't reach it
  self->ca_file_ = ca_file;
  for (unsigned w = 0; w < std::max(1u, workers); ++w) {
    bssl::UniquePtr<SSL_CTX> owned(SSL_CTX_new(TLS_method()));
    SSL_CTX* ctx = owned.get();
    if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_strict_cipher_list(ctx, kClientCiphers) != 1) {
      return "cannot create a TLS client context: " + last_ssl_error();
    }
    // Read again per worker: a store of its own needs certificates of its own (see the header).
    if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) {
      return "cannot load CA certificates from \"" + ca_file + "\": " + last_ssl_error();
    }
    enable_verification(ctx);
    self->contexts_.push_back(std::move(owned));
  }
  return std::shared_ptr<const ClientContext>(std::move(self));
}

bssl::UniquePtr<SSL> ClientContext::client_ssl(std::string_view sni, unsigned worker) const {
  sni = without_root_dot(sni);
  if (sni.find('\0') != sni.npos || worker >= contexts_.size()) return nullptr;
  bssl::UniquePtr<SSL> ssl(SSL_new(contexts_[worker].get()));
  if (!ssl) return nullptr;
  SSL_set_connect_state(ssl.get());
  if (!sni.empty() && !is_ip_literal(sni) && SSL_set_tlsext_host_name(ssl.get(), std::string(sni).c_str()) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return ssl;
}

bssl::UniquePtr<SSL> ClientContext::new_ssl(std::string_view sni, std::string_view verify_host, bool verify,
                                             unsigned worker) const {
  verify_host = without_root_dot(verify_host);
  if (verify_host.find('\0') != verify_host.npos) return nullptr;
  bssl::UniquePtr<SSL> ssl = client_ssl(sni, worker);
  if (!ssl) return nullptr;
  if (!verify_host.empty()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
    // An address (a transparent-mode destination without a name) is matched against IP SANs. A name goes
    // with its explicit length: 0 would not mean "use strlen" here but poison the parameter, and every
    // verification would then fail with X509_V_ERR_INVALID_CALL.
    int ok = is_ip_literal(verify_host)
                 ? X509_VERIFY_PARAM_set1_ip_asc(param, std::string(verify_host).c_str())
                 : X509_VERIFY_PARAM_set1_host(param, verify_host.data(), verify_host.size());
    if (ok != 1) {
      ERR_clear_error();
      return nullptr;
    }
  }
  if (!attach_verification(ssl.get(), verify, verify_host)) return nullptr;
  return ssl;
}

bssl::UniquePtr<SSL> ClientContext::new_dane_ssl(std::string_view sni, DaneExpectation dane, unsigned worker) const {
  for (std::string& name : dane.reference_names) {
    name = std::string(without_root_dot(name));
    if (name.empty() || name.find('\0') != name.npos) return nullptr;
  }
  if (dane.reference_names.empty()) dane.reference_names.emplace_back(without_root_dot(sni));
  bssl::UniquePtr<SSL> ssl = client_ssl(sni, worker);
  if (!ssl) return nullptr;
  // The record's expected_host is the MX host, so that host_matches() means the same as under the WebPKI.
  std::string host = dane.reference_names.front();
  if (!attach_verification(ssl.get(), /*required=*/true, host, std::move(dane))) return nullptr;
  return ssl;
}

}  // namespace mxguard::tls
