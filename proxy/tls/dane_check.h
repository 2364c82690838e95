#pragma once
// The DANE check of a server's certificate chain against its TLSA records (RFC 7672 §3, RFC 7671), with
// BoringSSL's hashing and X.509 code. Which records exist and which SMTP can use is the policy's
// (policy/tlsa.h, policy/engine/dane_overlay.h); this file only matches.
//
// - DANE-EE(3): the leaf's full certificate (selector 0) or its SubjectPublicKeyInfo (1), the bytes
//   themselves (matching type 0) or their SHA-256 (1) or SHA-512 (2), equal the record's data. Nothing
//   else is checked: not the names, not the dates, not the chain (RFC 7672 §3.1.1).
// - DANE-TA(2): a certificate the server presented above the leaf matches the record in the same way; it
//   becomes the only trust anchor, and the leaf's chain must lead to it and be valid now, and the leaf
//   must carry one of the reference names (RFC 7672 §3.1.2, §3.2). A trust anchor the server does not
//   present (a "2 1 x" key of a CA left out of the chain) is not searched for.
// - PKIX-TA(0), PKIX-EE(1) and unusable records never match (the caller passes usable records only, and
//   this file checks again).
#include <openssl/x509.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "policy/tlsa.h"

namespace mxguard::tls {

// What the check expects of one server.
struct DaneExpectation {
  std::vector<policy::TlsaRecord> records;    // the host's usable TLSA records
  // For DANE-TA, the names the leaf may carry (RFC 7672 §3.2.2): the MX host name (the TLSA base domain)
  // and, when the MX records were validated, the recipient domain. The first one is the MX host.
  std::vector<std::string> reference_names;
};

struct DaneResult {
  enum class Match {
    None,          // no usable record matched (or a DANE-TA match the leaf does not chain to)
    EndEntity,     // a DANE-EE record matched the leaf
    TrustAnchor,   // a DANE-TA record matched a certificate the leaf chains to
  };
  Match match = Match::None;
  std::string record;     // the record that matched, presentation format ("" for None)
  int depth = -1;         // the matched certificate's place in the presented chain (0 = leaf)
  // TrustAnchor: what the check of the chain up to the anchor and of the names found (X509_V_ERR_* with
  // their depth, in the order met). Empty: the chain is valid and names the server.
  std::vector<std::pair<int, int>> problems;   // {x509 error, depth}

  bool authenticated() const { return match == Match::EndEntity || (match == Match::TrustAnchor && problems.empty()); }
};

// The bytes a record with `selector` and `matching_type` compares with its data, taken from `cert`;
// nullopt for a selector or matching type RFC 6698 does not define (or when encoding fails).
std::optional<std::vector<std::uint8_t>> association_data(const X509* cert, std::uint8_t selector,
                                                          std::uint8_t matching_type);

// Whether `record` (usable for SMTP) matches `cert` by its selector and matching type; the usage is not
// looked at (which certificate a usage applies to is check_dane's business).
bool record_matches(const policy::TlsaRecord& record, const X509* cert);

// The DANE check of the chain a server presented (`presented`, leaf first, as BoringSSL hands it to the
// verify callback). DANE-EE records are tried first: a match there ends the check. Then every DANE-TA
// record against every certificate above the leaf; of the anchors the leaf chains to, one without
// problems wins, otherwise the first is reported with its problems.
DaneResult check_dane(const DaneExpectation& expectation, STACK_OF(X509) * presented);

}  // namespace mxguard::tls
