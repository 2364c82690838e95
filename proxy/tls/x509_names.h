#pragma once
// The names a certificate claims, read once here so the server side (which certificate answers an SNI)
// and the client side (what a remote MX presented) agree on what "the names" are.
#include <openssl/x509.h>

#include <string>
#include <vector>

namespace mxguard::tls {

// subjectAltName dNSName entries, in certificate order.
std::vector<std::string> dns_names(const X509* cert);
// The subject's commonName, "" when there is none.
std::string common_name(const X509* cert);
// The names a host-name check may use: the DNS SANs, or the CN when there are none (RFC 6125 §6.4.4).
std::vector<std::string> host_names(const X509* cert);

}  // namespace mxguard::tls
