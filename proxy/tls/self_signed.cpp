#include "proxy/tls/self_signed.h"

#include <openssl/bn.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace mxguard::tls {
namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

bool add_extension(X509* cert, int nid, const std::string& value) {
  bssl::UniquePtr<X509_EXTENSION> ext(X509V3_EXT_nconf_nid(nullptr, nullptr, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

std::variant<bool, std::string> write_files(const std::string& cert_path, const std::string& key_path,
                                            const std::string& hostname) {
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  if (!ec || EC_KEY_generate_key(ec.get()) != 1) return std::string("cannot generate an EC key");
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  if (!key || EVP_PKEY_set1_EC_KEY(key.get(), ec.get()) != 1) return std::string("cannot wrap the EC key");

  bssl::UniquePtr<X509> cert(X509_new());
  if (!cert) return std::string("cannot allocate a certificate");
  uint8_t serial_bytes[16];
  RAND_bytes(serial_bytes, sizeof serial_bytes);
  serial_bytes[0] &= 0x7f;   // a positive serial number
  bssl::UniquePtr<BIGNUM> serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
  X509_NAME* name = X509_get_subject_name(cert.get());
  bool ok = serial && name && X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
            BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) != nullptr &&
            X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3L * 365 * 24 * 3600) != nullptr &&
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                       reinterpret_cast<const uint8_t*>(hostname.c_str()), -1, -1, 0) == 1 &&
            X509_set_issuer_name(cert.get(), name) == 1 && X509_set_pubkey(cert.get(), key.get()) == 1 &&
            add_extension(cert.get(), NID_subject_alt_name, "DNS:" + hostname) &&
            add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE") &&
            add_extension(cert.get(), NID_ext_key_usage, "serverAuth") &&
            X509_sign(cert.get(), key.get(), EVP_sha256()) > 0;
  if (!ok) return std::string("cannot build the self-signed certificate");

  std::string key_tmp = key_path + ".tmp", cert_tmp = cert_path + ".tmp";
  {
    mode_t old = umask(077);
    File f(std::fopen(key_tmp.c_str(), "w"));
    umask(old);
    if (!f) return "cannot write " + key_tmp + ": " + std::strerror(errno);
    if (PEM_write_PrivateKey(f.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
      return "cannot write " + key_tmp;
    }
  }
  {
    File f(std::fopen(cert_tmp.c_str(), "w"));
    if (!f) return "cannot write " + cert_tmp + ": " + std::strerror(errno);
    if (PEM_write_X509(f.get(), cert.get()) != 1) return "cannot write " + cert_tmp;
  }
  std::error_code ec1, ec2;
  std::filesystem::rename(key_tmp, key_path, ec1);
  std::filesystem::rename(cert_tmp, cert_path, ec2);
  if (ec1 || ec2) return "cannot move the self-signed certificate into place in " + cert_path;
  return true;
}

}  // namespace

std::variant<SelfSigned, std::string> ensure_self_signed(const std::string& dir, const std::string& hostname) {
  SelfSigned out;
  out.cert_path = dir + "/selfsigned-" + hostname + ".crt";
  out.key_path = dir + "/selfsigned-" + hostname + ".key";
  std::error_code ec;
  if (std::filesystem::exists(out.cert_path, ec) && std::filesystem::exists(out.key_path, ec)) return out;
  std::filesystem::create_directories(dir, ec);
  if (ec) return "cannot create state directory " + dir + ": " + ec.message();
  auto written = write_files(out.cert_path, out.key_path, hostname);
  if (auto* error = std::get_if<std::string>(&written)) return *error;
  out.generated = true;
  return out;
}

}  // namespace mxguard::tls
