#include "proxy/tls/x509_names.h"

#include <openssl/mem.h>
#include <openssl/x509v3.h>

namespace mxguard::tls {

std::vector<std::string> dns_names(const X509* cert) {
  std::vector<std::string> names;
  if (!cert) return names;
  bssl::UniquePtr<GENERAL_NAMES> sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!sans) return names;
  for (size_t i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans.get(), i);
    if (name->type != GEN_DNS) continue;
    const ASN1_STRING* s = name->d.dNSName;
    names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<size_t>(ASN1_STRING_length(s)));
  }
  return names;
}

std::string common_name(const X509* cert) {
  if (!cert) return {};
  // X509_NAME_get_text_by_NID truncates silently and stops at an embedded NUL; the entry itself doesn't.
  X509_NAME* subject = X509_get_subject_name(cert);
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return {};
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  if (!data) return {};
  uint8_t* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return {};
  bssl::UniquePtr<uint8_t> owned(utf8);
  return std::string(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
}

std::vector<std::string> host_names(const X509* cert) {
  std::vector<std::string> names = dns_names(cert);
  if (names.empty()) {
    std::string cn = common_name(cert);
    if (!cn.empty()) names.push_back(std::move(cn));
  }
  return names;
}

}  // namespace mxguard::tls
