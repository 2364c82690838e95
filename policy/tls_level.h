#pragma once
// The TLS levels of a destination's policy (design.md, "Policy engine"), with the one spelling of each
// that the configuration, the logs and the audit log share.
#include <optional>
#include <span>
#include <string_view>

namespace mxguard::policy {

// Ordered: each level demands everything the one before it does, so `a < b` means "b is stricter".
enum class TlsLevel {
  None,      // never STARTTLS
  May,       // STARTTLS when offered; plaintext when it is missing or fails (opportunistic, RFC 7435)
  Encrypt,   // TLS required, any certificate
  Verify,    // TLS with a WebPKI-valid chain for the MX host name
  MtaSts,    // RFC 8461: verify, and the MX must match the domain's published policy
  Dane,      // RFC 7672: DANE authentication where usable TLSA records exist
  DaneOnly,  // RFC 7672, and no delivery without usable TLSA records
};
// For `dane` and `dane-only`, the predicates below describe the levels where usable TLSA records exist.
// Where DANE does not apply to an MX host, `dane` is the domain's other policy (its MTA-STS policy, else
// `may`: policy::non_dane_policy) and `dane-only` refuses; policy::decide knows the details.

struct TlsLevelName {
  TlsLevel level;
  std::string_view name;
};

// Every level in order with its name ("none", "may", "encrypt", "verify", "mta-sts", "dane", "dane-only").
std::span<const TlsLevelName> tls_level_names();

// Exact, case-sensitive: the names are those of the configuration file, where case is not folded.
std::optional<TlsLevel> parse_tls_level(std::string_view name);
std::string_view to_string(TlsLevel level);

bool requires_tls(TlsLevel level);              // encrypt and stricter: no plaintext delivery at all
bool requires_authentication(TlsLevel level);   // verify and stricter: the certificate is checked
bool falls_back_to_plaintext(TlsLevel level);   // may: a failed or missing STARTTLS delivers in plaintext

}  // namespace mxguard::policy
