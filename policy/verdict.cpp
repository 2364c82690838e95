#include "policy/verdict.h"

#include <algorithm>
#include <charconv>

#include "policy/names.h"

namespace mxguard::policy {
namespace {

using Handshake = Observation::Handshake;
using CertProblem = Observation::CertProblem;
using DaneMatch = Observation::DaneMatch;

bool dane_level(TlsLevel level) { return level >= TlsLevel::Dane; }

Verdict refusal(const EffectivePolicy& policy, ResultType reason, std::string detail) {
  // DANE has no testing mode (RFC 7672): what it refuses is refused.
  bool testing = policy.testing && !dane_level(policy.level);
  Outcome outcome = testing ? Outcome::AllowedTesting : Outcome::Refuse;
  std::string enhanced = reason == ResultType::StarttlsNotSupported ? "4.7.4" : "4.7.5";
  return Verdict{outcome, reason, 451, std::move(enhanced), std::move(detail)};
}

// TLS could not be had as the level demands: opportunistic levels go on in plaintext, the rest refuse.
Verdict tls_not_available(const EffectivePolicy& policy, ResultType reason, std::string detail) {
  if (falls_back_to_plaintext(policy.level)) return Verdict{Outcome::DeliverPlaintext, reason, 0, "", std::move(detail)};
  return refusal(policy, reason, std::move(detail));
}

// What authenticates the server once TLS is up.
enum class Authentication {
  None,         // may, encrypt, DANE with only unusable records: any certificate
  WebPki,       // verify, mta-sts: a trusted chain naming the MX
  Dane,         // usable TLSA records: one must match (RFC 7672 §3)
};

Authentication authentication(const EffectivePolicy& policy) {
  if (dane_level(policy.level)) {
    return policy.dane.status == DaneStatus::Usable ? Authentication::Dane : Authentication::None;
  }
  return requires_authentication(policy.level) ? Authentication::WebPki : Authentication::None;
}

// The chain and name of the certificate are checked: under the WebPKI, or up to a DANE-TA trust anchor.
bool checks_chain_and_name(Authentication auth, const Observation& o) {
  return auth == Authentication::WebPki || (auth == Authentication::Dane && o.dane_match == DaneMatch::TrustAnchor);
}

// The chain's problem in RFC 8460 terms. A certificate that is not valid yet has no type of its own: its
// chain cannot be validated now, so it is "not trusted".
ResultType chain_reason(CertProblem problem) {
  switch (problem) {
    case CertProblem::Expired: return ResultType::CertificateExpired;
    case CertProblem::Other: return ResultType::ValidationFailure;
    case CertProblem::None:
    case CertProblem::NotYetValid:
    case CertProblem::HostMismatch:
    case CertProblem::NotTrusted: break;
  }
  return ResultType::CertificateNotTrusted;
}

// A handshake the verifier aborted is reported as the certificate problem it found: under DANE, no
// matching record at all, or what was wrong with the chain to the trust anchor that matched.
ResultType handshake_reason(Authentication auth, const Observation& o) {
  if (auth == Authentication::Dane && o.dane_match == DaneMatch::None) return ResultType::TlsaInvalid;
  if (!checks_chain_and_name(auth, o) || o.cert_problem == CertProblem::None) return ResultType::ValidationFailure;
  if (o.cert_problem == CertProblem::HostMismatch) return ResultType::CertificateHostMismatch;
  return chain_reason(o.cert_problem);
}

bool chain_is_trusted(const Observation& o) {
  return o.chain_trusted && o.cert_problem != CertProblem::Expired && o.cert_problem != CertProblem::NotYetValid &&
         o.cert_problem != CertProblem::NotTrusted && o.cert_problem != CertProblem::Other;
}

bool host_is_matched(const Observation& o) { return o.host_matches && o.cert_problem != CertProblem::HostMismatch; }

std::string certificate_detail(const Observation& o, ResultType reason) {
  const std::string& mx = o.mx_host;
  switch (reason) {
    case ResultType::CertificateExpired: return "certificate of " + mx + " has expired";
    case ResultType::CertificateHostMismatch: return "certificate of " + mx + " does not name it";
    case ResultType::CertificateNotTrusted:
      return o.cert_problem == CertProblem::NotYetValid ? "certificate of " + mx + " is not valid yet"
                                                        : "certificate of " + mx + " is not trusted";
    case ResultType::TlsaInvalid:
      return o.dane_match == DaneMatch::NotChecked ? "certificate of " + mx + " was not checked against its TLSA records"
                                                   : "no TLSA record of " + mx + " matches its certificate";
    default: return "certificate of " + mx + " could not be validated";
  }
}

// Refusals of the DANE levels that the DNS facts alone decide (RFC 7672 §2.1-2.2, RFC 8460 §4.3.2.1).
std::optional<Verdict> dane_refusal_before_connecting(const EffectivePolicy& policy, const std::string& mx) {
  const DaneFacts& dane = policy.dane;
  const bool only = policy.level == TlsLevel::DaneOnly;
  switch (dane.status) {
    case DaneStatus::NotLookedUp:
      return refusal(policy, ResultType::DaneRequired, "the TLSA records of " + mx + " were not looked up");
    case DaneStatus::Failed:
      // Never a fallback: a failed lookup may be an attack on exactly this lookup.
      return refusal(policy, ResultType::DnssecInvalid, "the TLSA lookup for " + mx + " failed (DNS or DNSSEC validation)");
    case DaneStatus::Insecure:
      if (only) return refusal(policy, ResultType::DaneRequired, "no DNSSEC-validated TLSA records for " + mx);
      return std::nullopt;
    case DaneStatus::NoRecords:
      if (only) return refusal(policy, ResultType::DaneRequired, mx + " publishes no TLSA records");
      return std::nullopt;
    case DaneStatus::Unusable:
    case DaneStatus::Usable: break;
  }
  // An MX RRset that is not validated could have been replaced by an attacker's host with TLSA records of
  // its own: DANE then authenticates the wrong server, which `dane` accepts as better than nothing
  // (RFC 7672 §2.2.1) and `dane-only` does not (as Postfix's dane-only does not).
  if (only && !dane.mx_secure) {
    return refusal(policy, ResultType::DaneRequired,
                   mx + " comes from MX records of " + policy.domain + " that are not DNSSEC-validated");
  }
  if (only && dane.status == DaneStatus::Unusable) {
    return refusal(policy, ResultType::DaneRequired, "none of the TLSA records of " + mx + " is usable for SMTP");
  }
  return std::nullopt;
}

bool dane_covers(const EffectivePolicy& policy) {
  return policy.dane.status != DaneStatus::Insecure && policy.dane.status != DaneStatus::NoRecords;
}

Verdict decide_tls(const EffectivePolicy& policy, const Observation& o) {
  const std::string& mx = o.mx_host;
  const Authentication auth = authentication(policy);
  if (!o.starttls_offered) return tls_not_available(policy, ResultType::StarttlsNotSupported, "STARTTLS not offered by " + mx);
  if (o.handshake == Handshake::NotAttempted) {
    return tls_not_available(policy, ResultType::StarttlsNotSupported, "STARTTLS offered but refused by " + mx);
  }
  if (o.injected_after_starttls) {
    return tls_not_available(policy, ResultType::ValidationFailure,
                             mx + " sent plaintext after its reply to STARTTLS (response injection)");
  }
  if (o.handshake == Handshake::Failed) {
    ResultType reason = handshake_reason(auth, o);
    std::string detail = reason == ResultType::TlsaInvalid ? certificate_detail(o, reason) + ": TLS handshake aborted"
                                                           : "TLS handshake with " + mx + " failed";
    return tls_not_available(policy, reason, std::move(detail));
  }
  if (!meets_minimum_tls_version(o.tls_version)) {
    std::string version = o.tls_version.empty() ? "an unknown version" : o.tls_version;
    return tls_not_available(policy, ResultType::ValidationFailure,
                             mx + " negotiated " + version + ": TLS 1.2 or later is required");
  }
  if (auth == Authentication::Dane && o.dane_match == DaneMatch::EndEntity) {
    return Verdict{Outcome::DeliverTls, ResultType::None, 0, "", ""};
  }
  if (auth == Authentication::Dane && o.dane_match != DaneMatch::TrustAnchor) {
    return tls_not_available(policy, ResultType::TlsaInvalid, certificate_detail(o, ResultType::TlsaInvalid));
  }
  if (checks_chain_and_name(auth, o)) {
    if (!chain_is_trusted(o)) {
      ResultType reason = chain_reason(o.cert_problem);
      return tls_not_available(policy, reason, certificate_detail(o, reason));
    }
    if (!host_is_matched(o)) {
      return tls_not_available(policy, ResultType::CertificateHostMismatch,
                               certificate_detail(o, ResultType::CertificateHostMismatch));
    }
  }
  return Verdict{Outcome::DeliverTls, ResultType::None, 0, "", ""};
}

}  // namespace

std::string_view to_string(PolicySource source) {
  switch (source) {
    case PolicySource::Default: return "default";
    case PolicySource::Config: return "config";
    case PolicySource::MtaSts: return "mta-sts";
    case PolicySource::Dane: return "dane";
  }
  return "unknown";
}

std::string_view to_string(DaneStatus status) {
  switch (status) {
    case DaneStatus::NotLookedUp: return "not-looked-up";
    case DaneStatus::Failed: return "failed";
    case DaneStatus::Insecure: return "insecure";
    case DaneStatus::NoRecords: return "no-records";
    case DaneStatus::Unusable: return "unusable";
    case DaneStatus::Usable: return "usable";
  }
  return "unknown";
}

EffectivePolicy non_dane_policy(const EffectivePolicy& policy) {
  EffectivePolicy out = policy;
  out.without_dane.reset();
  out.level = TlsLevel::May;
  out.testing = false;
  if (policy.without_dane) {
    out.level = policy.without_dane->level;
    out.source = policy.without_dane->source;
    out.testing = policy.without_dane->testing;
    if (!policy.without_dane->mx_patterns.empty()) out.mx_patterns = policy.without_dane->mx_patterns;
  }
  // A fallback that claimed to be DANE again would loop; nothing above mta-sts is a fallback.
  if (out.level > TlsLevel::MtaSts) out.level = TlsLevel::May;
  return out;
}

std::string_view to_string(ResultType type) {
  switch (type) {
    case ResultType::None: return "";
    case ResultType::StarttlsNotSupported: return "starttls-not-supported";
    case ResultType::CertificateHostMismatch: return "certificate-host-mismatch";
    case ResultType::CertificateExpired: return "certificate-expired";
    case ResultType::CertificateNotTrusted: return "certificate-not-trusted";
    case ResultType::ValidationFailure: return "validation-failure";
    case ResultType::StsPolicyFetchError: return "sts-policy-fetch-error";
    case ResultType::StsPolicyInvalid: return "sts-policy-invalid";
    case ResultType::StsWebpkiInvalid: return "sts-webpki-invalid";
    case ResultType::TlsaInvalid: return "tlsa-invalid";
    case ResultType::DnssecInvalid: return "dnssec-invalid";
    case ResultType::DaneRequired: return "dane-required";
  }
  return "unknown";
}

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::DeliverTls: return "deliver-tls";
    case Outcome::DeliverPlaintext: return "deliver-plaintext";
    case Outcome::AllowedTesting: return "allowed-testing";
    case Outcome::Refuse: return "refuse";
  }
  return "unknown";
}

bool mx_allowed(const EffectivePolicy& policy, std::string_view mx_host) {
  if (policy.mx_patterns.empty()) return true;
  return std::any_of(policy.mx_patterns.begin(), policy.mx_patterns.end(),
                     [&](const std::string& pattern) { return name_matches(pattern, mx_host); });
}

bool meets_minimum_tls_version(std::string_view version) {
  // "TLSv1" is 1.0; "TLSv1.1", "TLSv1.2", "TLSv1.3"; a later "TLSv1.4" or "TLSv2" would pass.
  if (!version.starts_with("TLSv")) return false;
  version.remove_prefix(4);
  int major = 0;
  int minor = 0;
  auto [after_major, major_error] = std::from_chars(version.data(), version.data() + version.size(), major);
  if (major_error != std::errc{}) return false;
  std::string_view rest(after_major, static_cast<std::size_t>(version.data() + version.size() - after_major));
  if (!rest.empty()) {
    if (rest.front() != '.') return false;
    auto [after_minor, minor_error] = std::from_chars(rest.data() + 1, rest.data() + rest.size(), minor);
    if (minor_error != std::errc{} || after_minor != rest.data() + rest.size()) return false;
  }
  return major > 1 || (major == 1 && minor >= 2);
}

EffectivePolicy applicable_policy(const EffectivePolicy& policy) {
  if (policy.level == TlsLevel::Dane && !dane_covers(policy)) return non_dane_policy(policy);
  return policy;
}

CertificateCheck certificate_check(const EffectivePolicy& policy) {
  if (dane_level(policy.level)) {
    if (!dane_covers(policy)) return certificate_check(non_dane_policy(policy));
    return policy.dane.status == DaneStatus::Usable ? CertificateCheck::Dane : CertificateCheck::Recorded;
  }
  return requires_authentication(policy.level) && !policy.testing ? CertificateCheck::WebPki : CertificateCheck::Recorded;
}

std::optional<Verdict> decide_without_connecting(const EffectivePolicy& policy, std::string_view mx_host) {
  const std::string mx(mx_host);
  // The MX restriction is about where mail may go at all, so it holds at every level, and a may-level
  // domain does not fall back to plaintext on an MX it does not allow.
  if (!mx_allowed(policy, mx)) {
    return refusal(policy, ResultType::ValidationFailure, mx + " is not an MX host allowed by the policy");
  }
  if (!dane_level(policy.level)) return std::nullopt;
  if (auto refused = dane_refusal_before_connecting(policy, mx)) return refused;
  if (!dane_covers(policy)) return decide_without_connecting(non_dane_policy(policy), mx);
  return std::nullopt;
}

Verdict decide(const EffectivePolicy& policy, const Observation& o) {
  if (auto early = decide_without_connecting(policy, o.mx_host)) return *early;
  if (policy.level == TlsLevel::None) return Verdict{Outcome::DeliverPlaintext, ResultType::None, 0, "", "level none: no STARTTLS"};
  // `dane` where DANE does not apply is the domain's other policy (RFC 7672 §2.2: "pre-DANE" TLS).
  if (dane_level(policy.level) && !dane_covers(policy)) return decide(non_dane_policy(policy), o);
  return decide_tls(policy, o);
}

std::string reply_text(const EffectivePolicy& policy, const Verdict& verdict) {
  return "TLS policy of " + policy.domain + " (" + std::string(to_string(policy.level)) + ", " +
         std::string(to_string(policy.source)) + "): " + verdict.detail;
}

}  // namespace mxguard::policy
