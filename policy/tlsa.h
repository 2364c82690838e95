#pragma once
// TLSA records (RFC 6698 §2) as mxguard reads them for DANE SMTP (RFC 7672): the three parameters, the
// certificate association data, which records SMTP can use, and the one spelling of a record the logs,
// the audit log (TLS-RPT's policy-string) and `mxguard policy` share. Pure: the DNS reading is in
// policy/dns, the matching against certificates (BoringSSL) in proxy/tls.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mxguard::policy {

// RFC 7218 names of the parameters' values.
namespace tlsa {
constexpr std::uint8_t kPkixTa = 0;    // certificate usage: a CA of the WebPKI chain
constexpr std::uint8_t kPkixEe = 1;    // the WebPKI-valid end entity
constexpr std::uint8_t kDaneTa = 2;    // a trust anchor the chain must lead to (names checked, RFC 7672 §3.2)
constexpr std::uint8_t kDaneEe = 3;    // the end entity itself (names and dates ignored, RFC 7672 §3.1.1)
constexpr std::uint8_t kCert = 0;      // selector: the whole certificate (DER)
constexpr std::uint8_t kSpki = 1;      // selector: its SubjectPublicKeyInfo (DER)
constexpr std::uint8_t kFull = 0;      // matching type: the selected bytes themselves
constexpr std::uint8_t kSha256 = 1;    // their SHA-256 digest
constexpr std::uint8_t kSha512 = 2;    // their SHA-512 digest
}  // namespace tlsa

struct TlsaRecord {
  std::uint8_t usage = 0;
  std::uint8_t selector = 0;
  std::uint8_t matching_type = 0;
  std::vector<std::uint8_t> data;   // certificate association data, as published

  bool operator==(const TlsaRecord&) const = default;
};

// Why SMTP cannot use this record, "" when it can (RFC 7672 §3.1: DANE-TA and DANE-EE only, PKIX-TA and
// PKIX-EE are unusable; selectors and matching types RFC 6698 §2.1 does not define are unusable, and so
// is a digest of the wrong length, which no certificate can ever match).
std::string_view unusable_because(const TlsaRecord& record);
bool usable_for_smtp(const TlsaRecord& record);
// The usable records of an RRset, in its order.
std::vector<TlsaRecord> usable_records(const std::vector<TlsaRecord>& rrset);

// The presentation format of RFC 6698 §2.2 with the data in lower-case hex: "3 1 1 8cf2...".
std::string to_string(const TlsaRecord& record);
std::vector<std::string> to_strings(const std::vector<TlsaRecord>& rrset);

// The owner name of the TLSA records of an SMTP server (RFC 7672 §2.2.3, RFC 6698 §3): "_25._tcp.<host>",
// the port being the one connected to. A trailing dot on the host is dropped.
std::string tlsa_owner_name(std::string_view host, std::uint16_t port);

}  // namespace mxguard::policy
