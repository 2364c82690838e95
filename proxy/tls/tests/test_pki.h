#pragma once
// Certificates made inside the tests with BoringSSL's X509 API: a CA, leaves it signs, self-signed ones,
// with any names and validity period, written as PEM files for ServerContext / ClientContext to load.
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "policy/tlsa.h"

namespace mxguard::tls::testing {

struct Issued {
  bssl::UniquePtr<EVP_PKEY> key;
  bssl::UniquePtr<X509> cert;
};

struct CertSpec {
  std::string cn;
  std::vector<std::string> dns_names;   // subjectAltName dNSName entries
  long valid_from = -3600;              // seconds from now
  long valid_until = 86400;             // seconds from now
  bool ca = false;
  bool ecdsa = true;                    // false: RSA 2048
};

bssl::UniquePtr<EVP_PKEY> make_key(bool ecdsa);
// Signed by `issuer`, or self-signed when it is null.
Issued issue(const CertSpec& spec, const Issued* issuer = nullptr);

// The TLSA record (RFC 6698) with this usage, selector and matching type that names `cert`.
policy::TlsaRecord tlsa_record_for(const Issued& cert, std::uint8_t usage, std::uint8_t selector,
                                   std::uint8_t matching);

// PEM files. A chain file holds the leaf first, then the certificate that issued it when `issuer` is
// given (the only intermediate these tests need).
void write_cert(const std::filesystem::path& path, const X509* cert, const X509* issuer = nullptr);
void write_key(const std::filesystem::path& path, const EVP_PKEY* key);

// A per-test directory that removes itself.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace mxguard::tls::testing
