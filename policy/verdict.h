#pragma once
// The outbound TLS decision as a pure function (design.md, "Policy engine"): the effective policy of a
// recipient domain and what was observed on the connection to one of its MX hosts go in; a verdict with
// an RFC 8460 reason comes out. No I/O, no clock, no state, so it is tested over every combination of
// its inputs (tests/verdict_test.cpp).
//
// DANE (RFC 7672) needs observations this type does not carry yet (TLSA records, their DNSSEC status,
// the match of the chain against them); they come with DANE support. Until then `dane` and `dane-only`
// cannot be decided and are refused as `dane-required`, which fails closed and says why.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/tls_level.h"

namespace mxguard::policy {

// Where the effective policy came from; the names are those of the audit log's `policy_source`.
enum class PolicySource { Default, Config, MtaSts };
std::string_view to_string(PolicySource source);   // "default", "config", "mta-sts"

struct EffectivePolicy {
  std::string domain;                        // the recipient domain, lower-case
  TlsLevel level = TlsLevel::May;
  PolicySource source = PolicySource::Default;
  std::vector<std::string> mx_patterns;      // MX hosts allowed ("mx.example.org", "*.example.org"); empty: any
  bool testing = false;                      // MTA-STS "mode: testing": report what would be refused, deliver
  std::optional<std::string> exception_reason;   // why an operator pinned this domain (configuration `reason`)
};

// What happened on the connection to one MX host, as the outbound connector saw it.
struct Observation {
  enum class Handshake {
    NotAttempted,   // no TLS handshake took place although STARTTLS was offered (the command was refused)
    Failed,
    Succeeded,
  };
  // The certificate verifier's finding. It may also be why a handshake failed; a problem reported here
  // counts even when chain_trusted or host_matches say otherwise (fail closed on contradictions).
  enum class CertProblem { None, Expired, NotYetValid, HostMismatch, NotTrusted, Other };

  std::string mx_host;                       // the name that was connected to (from MX, a route, or the original destination)
  bool starttls_offered = false;             // STARTTLS in the EHLO reply
  Handshake handshake = Handshake::NotAttempted;
  std::string tls_version;                   // BoringSSL's name of the negotiated version: "TLSv1.3", "TLSv1.2", ...
  bool chain_trusted = false;                // the chain leads to a configured trust anchor
  bool host_matches = false;                 // the leaf certificate names mx_host
  CertProblem cert_problem = CertProblem::None;
  bool injected_after_starttls = false;      // plaintext bytes followed the 220 to STARTTLS (CVE-2011-0411 class)
};

// RFC 8460 §4.3 result types; to_string gives their spelling in TLS-RPT reports and the audit log.
enum class ResultType {
  None,
  StarttlsNotSupported,      // "starttls-not-supported"
  CertificateHostMismatch,   // "certificate-host-mismatch"
  CertificateExpired,        // "certificate-expired"
  CertificateNotTrusted,     // "certificate-not-trusted"
  ValidationFailure,         // "validation-failure": the catch-all of §4.3.1
  StsPolicyFetchError,       // "sts-policy-fetch-error"
  StsPolicyInvalid,          // "sts-policy-invalid"
  StsWebpkiInvalid,          // "sts-webpki-invalid"
  TlsaInvalid,               // "tlsa-invalid"
  DnssecInvalid,             // "dnssec-invalid"
  DaneRequired,              // "dane-required"
};
std::string_view to_string(ResultType type);   // "" for None

enum class Outcome {
  DeliverTls,         // deliver over the TLS session just established
  DeliverPlaintext,   // deliver without TLS: level none, or may after STARTTLS was missing or failed
  AllowedTesting,     // enforcement would refuse, but the MTA-STS policy is in testing mode: deliver (over
                      // TLS if the handshake succeeded, else in plaintext) and audit the reason
  Refuse,             // send nothing to this MX: try the next one, or answer the client with the 4xx
};
std::string_view to_string(Outcome outcome);   // "deliver-tls", "deliver-plaintext", "allowed-testing", "refuse"

struct Verdict {
  Outcome outcome = Outcome::Refuse;
  ResultType reason = ResultType::None;      // why it is not DeliverTls (None for a plain DeliverTls / level none)
  // The reply for a refusal: always temporary (451), so the legacy MTA keeps the mail queued. "4.7.4" when
  // STARTTLS was not available, "4.7.5" for every other TLS or certificate problem (RFC 3463). For
  // AllowedTesting these are what enforcement would have answered, kept for the audit; they are not sent.
  // 0 and "" for the other outcomes.
  int smtp_code = 0;
  std::string enhanced;
  std::string detail;                        // one line for logs and the reply text, e.g. "STARTTLS not offered by mx1.example.org"

  bool operator==(const Verdict&) const = default;
};

// Whether the policy lets mxguard use this MX host at all (its mx_patterns, when there are any).
bool mx_allowed(const EffectivePolicy& policy, std::string_view mx_host);

// Whether a negotiated version is TLS 1.2 or later; unknown spellings are not (fail closed).
bool meets_minimum_tls_version(std::string_view tls_version);

// The decision. The reason is the first problem in the order the connection meets them: the MX host
// itself (not allowed by mx_patterns: validation-failure, because RFC 8460 has no type for it and it is a
// failure to validate the MX against the policy), STARTTLS offered, its reply (injection), the handshake,
// the version, the certificate chain, the certificate's name.
Verdict decide(const EffectivePolicy& policy, const Observation& observation);

// Text for the 451 reply and the log: "TLS policy of example.org (verify, config): certificate of
// mx1.example.org has expired".
std::string reply_text(const EffectivePolicy& policy, const Verdict& verdict);

}  // namespace mxguard::policy
