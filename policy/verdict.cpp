#include "policy/verdict.h"

#include <algorithm>
#include <charconv>

#include "policy/names.h"

namespace mxguard::policy {
namespace {

using Handshake = Observation::Handshake;
using CertProblem = Observation::CertProblem;

Verdict refusal(const EffectivePolicy& policy, ResultType reason, std::string detail) {
  Outcome outcome = policy.testing ? Outcome::AllowedTesting : Outcome::Refuse;
  std::string enhanced = reason == ResultType::StarttlsNotSupported ? "4.7.4" : "4.7.5";
  return Verdict{outcome, reason, 451, std::move(enhanced), std::move(detail)};
}

// TLS could not be had as the level demands: opportunistic levels go on in plaintext, the rest refuse.
Verdict tls_not_available(const EffectivePolicy& policy, ResultType reason, std::string detail) {
  if (falls_back_to_plaintext(policy.level)) return Verdict{Outcome::DeliverPlaintext, reason, 0, "", std::move(detail)};
  return refusal(policy, reason, std::move(detail));
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

// A handshake the verifier aborted is reported as the certificate problem it found.
ResultType handshake_reason(const EffectivePolicy& policy, CertProblem problem) {
  if (!requires_authentication(policy.level) || problem == CertProblem::None) return ResultType::ValidationFailure;
  if (problem == CertProblem::HostMismatch) return ResultType::CertificateHostMismatch;
  return chain_reason(problem);
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
    default: return "certificate of " + mx + " could not be validated";
  }
}

}  // namespace

std::string_view to_string(PolicySource source) {
  switch (source) {
    case PolicySource::Default: return "default";
    case PolicySource::Config: return "config";
    case PolicySource::MtaSts: return "mta-sts";
  }
  return "unknown";
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

Verdict decide(const EffectivePolicy& policy, const Observation& o) {
  const std::string& mx = o.mx_host;
  // The MX restriction is about where mail may go at all, so it holds at every level, and a may-level
  // domain does not fall back to plaintext on an MX it does not allow.
  if (!mx_allowed(policy, mx)) {
    return refusal(policy, ResultType::ValidationFailure, mx + " is not an MX host allowed by the policy");
  }
  if (policy.level == TlsLevel::None) return Verdict{Outcome::DeliverPlaintext, ResultType::None, 0, "", "level none: no STARTTLS"};
  if (policy.level >= TlsLevel::Dane) {
    return refusal(policy, ResultType::DaneRequired, "DANE (RFC 7672) is not supported by this version of mxguard");
  }
  if (!o.starttls_offered) return tls_not_available(policy, ResultType::StarttlsNotSupported, "STARTTLS not offered by " + mx);
  if (o.handshake == Handshake::NotAttempted) {
    return tls_not_available(policy, ResultType::StarttlsNotSupported, "STARTTLS offered but refused by " + mx);
  }
  if (o.injected_after_starttls) {
    return tls_not_available(policy, ResultType::ValidationFailure,
                             mx + " sent plaintext after its reply to STARTTLS (response injection)");
  }
  if (o.handshake == Handshake::Failed) {
    return tls_not_available(policy, handshake_reason(policy, o.cert_problem), "TLS handshake with " + mx + " failed");
  }
  if (!meets_minimum_tls_version(o.tls_version)) {
    std::string version = o.tls_version.empty() ? "an unknown version" : o.tls_version;
    return tls_not_available(policy, ResultType::ValidationFailure,
                             mx + " negotiated " + version + ": TLS 1.2 or later is required");
  }
  if (requires_authentication(policy.level)) {
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

std::string reply_text(const EffectivePolicy& policy, const Verdict& verdict) {
  return "TLS policy of " + policy.domain + " (" + std::string(to_string(policy.level)) + ", " +
         std::string(to_string(policy.source)) + "): " + verdict.detail;
}

}  // namespace mxguard::policy
