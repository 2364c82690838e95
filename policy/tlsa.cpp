#include "policy/tlsa.h"

namespace mxguard::policy {

std::string_view unusable_because(const TlsaRecord& r) {
  switch (r.usage) {
    case tlsa::kPkixTa:
    case tlsa::kPkixEe:
      // SMTP has no agreed set of WebPKI anchors, so a PKIX constraint could never be checked the way the
      // publisher meant it (RFC 7672 §3.1.3).
      return "PKIX usages are not used for SMTP";
    case tlsa::kDaneTa:
    case tlsa::kDaneEe: break;
    default: return "unknown certificate usage";
  }
  if (r.selector != tlsa::kCert && r.selector != tlsa::kSpki) return "unknown selector";
  switch (r.matching_type) {
    case tlsa::kFull:
      if (r.data.empty()) return "no association data";
      return "";
    case tlsa::kSha256: return r.data.size() == 32 ? "" : "SHA-256 data that is not 32 bytes long";
    case tlsa::kSha512: return r.data.size() == 64 ? "" : "SHA-512 data that is not 64 bytes long";
    default: return "unknown matching type";
  }
}

bool usable_for_smtp(const TlsaRecord& record) { return unusable_because(record).empty(); }

std::vector<TlsaRecord> usable_records(const std::vector<TlsaRecord>& rrset) {
  std::vector<TlsaRecord> out;
  for (const TlsaRecord& r : rrset) {
    if (usable_for_smtp(r)) out.push_back(r);
  }
  return out;
}

std::string to_string(const TlsaRecord& r) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = std::to_string(r.usage) + " " + std::to_string(r.selector) + " " + std::to_string(r.matching_type) + " ";
  // An empty field has no presentation in RFC 6698; "-" keeps the line readable in logs.
  if (r.data.empty()) return out + "-";
  for (std::uint8_t b : r.data) {
    out += kHex[b >> 4];
    out += kHex[b & 0x0f];
  }
  return out;
}

std::vector<std::string> to_strings(const std::vector<TlsaRecord>& rrset) {
  std::vector<std::string> out;
  out.reserve(rrset.size());
  for (const TlsaRecord& r : rrset) out.push_back(to_string(r));
  return out;
}

std::string tlsa_owner_name(std::string_view host, std::uint16_t port) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return "_" + std::to_string(port) + "._tcp." + std::string(host);
}

}  // namespace mxguard::policy
