#pragma once
// What the check of a peer's certificate found, recorded while BoringSSL verifies the chain: after a failed
// handshake SSL_get_verify_result no longer tells the real cause on this BoringSSL, and the audit log needs
// it (RFC 8460 result types). The record lives in the SSL's ex_data, so it travels with the SSL from the
// context that configured it to the Engine that reports it, and dies with it.
#include <openssl/ssl.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/tls/dane_check.h"

namespace mxguard::tls {

enum class CertProblem { None, Expired, NotYetValid, HostMismatch, NotTrusted, Other };

// "expired", "not yet valid", "host mismatch", "not trusted", "invalid" ("" for None): for log lines.
std::string_view to_string(CertProblem problem);
// The RFC 8460 result type an audit event should carry: certificate-expired, certificate-host-mismatch,
// certificate-not-trusted, validation-failure ("" for None).
std::string_view tlsrpt_result_type(CertProblem problem);
// Which problem an X509_V_ERR_* code is.
CertProblem classify_x509_error(int x509_error);

struct CertVerification {
  bool performed = false;       // the peer's chain went through verification (a ClientContext SSL)
  bool required = false;        // a problem fails the handshake (false: it is only recorded)
  std::string expected_host;    // the name the leaf was checked against; "" = no name check
  CertProblem problem = CertProblem::None;   // the first problem found
  int x509_error = 0;           // its X509_V_ERR_* code (X509_V_OK = 0)
  std::string x509_text;        // X509_verify_cert_error_string of it
  int error_depth = -1;         // where in the chain (0 = leaf)
  unsigned problems = 0;        // one bit per CertProblem found, not only the first
  std::string subject_cn;       // the leaf as presented, for logs and `policy --connect`
  std::vector<std::string> dns_names;
  // DANE (RFC 7672): when set, the chain is checked against these TLSA records instead of the WebPKI
  // (dane_check.h), and `problems` hold what that check found: none after a DANE-EE match, the chain's
  // and the names' problems after a DANE-TA match, NotTrusted when no record matched.
  std::optional<DaneExpectation> dane;
  DaneResult::Match dane_match = DaneResult::Match::None;
  std::string dane_record;      // the record that matched ("3 1 1 ab..."), for the log
  int dane_depth = -1;          // which certificate it matched (0 = leaf)

  bool has(CertProblem p) const { return (problems & (1u << static_cast<unsigned>(p))) != 0; }
  // The chain leads to a trusted root, every certificate in it is valid now, and nothing else is wrong
  // with it apart from, perhaps, the name.
  bool chain_trusted() const {
    return performed && (problems & ~(1u << static_cast<unsigned>(CertProblem::HostMismatch))) == 0;
  }
  // A name was asked for and the leaf carries it.
  bool host_matches() const { return performed && !expected_host.empty() && !has(CertProblem::HostMismatch); }
  bool ok() const { return performed && problems == 0; }
  // "certificate has expired (depth 0)", "" when nothing is wrong.
  std::string describe() const;
};

// Makes every SSL created from `ctx` that carries a record (attach_verification) verify through the
// recorder: the whole chain is always checked to the end so every problem is seen; the handshake then
// fails only if the record says verification is required.
void enable_verification(SSL_CTX* ctx);
// Gives `ssl` a fresh record; false only if memory ran out. Also turns on SSL_VERIFY_PEER. With `dane`,
// the chain is checked against its TLSA records only (the context's CA file plays no part).
bool attach_verification(SSL* ssl, bool required, std::string_view expected_host,
                         std::optional<DaneExpectation> dane = std::nullopt);
// The record of `ssl`, nullptr when it has none (a server-side SSL).
const CertVerification* find_verification(const SSL* ssl);

}  // namespace mxguard::tls
