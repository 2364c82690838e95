#include "proxy/tls/tests/test_pki.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec_key.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>

#include "proxy/tls/dane_check.h"

namespace mxguard::tls::testing {
namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

void add_extension(X509* cert, int nid, const std::string& value) {
  bssl::UniquePtr<X509_EXTENSION> ext(X509V3_EXT_nconf_nid(nullptr, nullptr, nid, value.c_str()));
  ASSERT_TRUE(ext) << value;
  ASSERT_EQ(X509_add_ext(cert, ext.get(), -1), 1);
}

}  // namespace

bssl::UniquePtr<EVP_PKEY> make_key(bool ecdsa) {
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  if (ecdsa) {
    bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
    EXPECT_EQ(EC_KEY_generate_key(ec.get()), 1);
    EXPECT_EQ(EVP_PKEY_set1_EC_KEY(key.get(), ec.get()), 1);
  } else {
    bssl::UniquePtr<RSA> rsa(RSA_new());
    bssl::UniquePtr<BIGNUM> e(BN_new());
    BN_set_word(e.get(), RSA_F4);
    EXPECT_EQ(RSA_generate_key_ex(rsa.get(), 2048, e.get(), nullptr), 1);
    EXPECT_EQ(EVP_PKEY_set1_RSA(key.get(), rsa.get()), 1);
  }
  return key;
}

Issued issue(const CertSpec& spec, const Issued* issuer) {
  static std::atomic<long> serial{1};
  Issued out;
  out.key = make_key(spec.ecdsa);
  out.cert.reset(X509_new());
  X509* cert = out.cert.get();
  EXPECT_EQ(X509_set_version(cert, X509_VERSION_3), 1);
  EXPECT_EQ(ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++), 1);
  EXPECT_TRUE(X509_gmtime_adj(X509_getm_notBefore(cert), spec.valid_from));
  EXPECT_TRUE(X509_gmtime_adj(X509_getm_notAfter(cert), spec.valid_until));
  X509_NAME* subject = X509_get_subject_name(cert);
  EXPECT_EQ(X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                       reinterpret_cast<const uint8_t*>(spec.cn.c_str()), -1, -1, 0), 1);
  EXPECT_EQ(X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer->cert.get()) : subject), 1);
  EXPECT_EQ(X509_set_pubkey(cert, out.key.get()), 1);
  if (spec.ca) {
    add_extension(cert, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert, NID_ext_key_usage, "serverAuth");
  }
  std::string san;
  for (const auto& name : spec.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + name;
  if (!san.empty()) add_extension(cert, NID_subject_alt_name, san);
  EXPECT_GT(X509_sign(cert, issuer ? issuer->key.get() : out.key.get(), EVP_sha256()), 0);
  return out;
}

policy::TlsaRecord tlsa_record_for(const Issued& cert, std::uint8_t usage, std::uint8_t selector,
                                   std::uint8_t matching) {
  auto data = association_data(cert.cert.get(), selector, matching);
  EXPECT_TRUE(data.has_value()) << "selector " << int(selector) << ", matching type " << int(matching);
  return policy::TlsaRecord{usage, selector, matching, data.value_or(std::vector<std::uint8_t>{})};
}

void write_cert(const std::filesystem::path& path, const X509* cert, const X509* issuer) {
  std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "w"));
  ASSERT_TRUE(f) << path;
  ASSERT_EQ(PEM_write_X509(f.get(), const_cast<X509*>(cert)), 1);
  if (issuer) {
    ASSERT_EQ(PEM_write_X509(f.get(), const_cast<X509*>(issuer)), 1);
  }
}

void write_key(const std::filesystem::path& path, const EVP_PKEY* key) {
  std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "w"));
  ASSERT_TRUE(f) << path;
  ASSERT_EQ(PEM_write_PrivateKey(f.get(), const_cast<EVP_PKEY*>(key), nullptr, nullptr, 0, nullptr, nullptr), 1);
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->name()) : "x";
  for (char& c : name) {
    if (c == '/') c = '_';   // parameterised test names
  }
  path_ = std::filesystem::temp_directory_path() /
          ("mxguard-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + name);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace mxguard::tls::testing
