#pragma once
// The outbound TLS decision as a pure function (design.md, "Policy engine"): the effective policy of a
// recipient domain and what was observed on the connection to one of its MX hosts go in; a verdict with
// an RFC 8460 reason comes out. No I/O, no clock, no state, so it is tested over every combination of
// its inputs (tests/verdict_rules_test.cpp).
//
// DANE (RFC 7672) comes in two halves. What DNS said about an MX host (its TLSA records and whether they
// and the MX records are DNSSEC-validated) is part of the policy of that host: policy_for_host
// (engine/dane_overlay.h) writes it into EffectivePolicy::dane before anything is connected, so that a
// failed lookup refuses without a connection (decide_without_connecting). What the certificate showed
// against those records is part of the Observation. decide() judges both.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/tls_level.h"
#include "policy/tlsa.h"

namespace mxguard::policy {

// Where the effective policy came from; the names are those of the audit log's `policy_source`. Dane: the
// MX host's TLSA records decide (set per host by policy_for_host), which is what TLS-RPT reports as
// policy-type "tlsa" (RFC 8460 §4.2), so a domain with DANE and MTA-STS is counted under one of them.
enum class PolicySource { Default, Config, MtaSts, Dane };
std::string_view to_string(PolicySource source);   // "default", "config", "mta-sts", "dane"

// What DNS said about the TLSA records of one MX host (RFC 7672 §2.1-2.2), as far as mxguard trusts it.
enum class DaneStatus {
  NotLookedUp,   // nobody asked: every level below dane (at a DANE level this fails closed)
  Failed,        // the TLSA lookup failed: SERVFAIL (a DNSSEC validation failure looks the same), a timeout,
                 // an unreadable answer. Never "no records": an attacker's dropped packet must not turn
                 // DANE off (RFC 7672 §2.1.1)
  Insecure,      // the host's addresses or its TLSA answer are not DNSSEC-validated: DANE does not apply
  NoRecords,     // a validated denial: the host publishes no TLSA records
  Unusable,      // validated TLSA records, none usable for SMTP: TLS is mandatory, unauthenticated (§2.2)
  Usable,        // validated TLSA records, at least one usable: the certificate must match one (§3)
};
std::string_view to_string(DaneStatus status);   // "not-looked-up", "failed", "insecure", "no-records", ...

struct DaneFacts {
  DaneStatus status = DaneStatus::NotLookedUp;
  bool mx_secure = false;            // the MX RRset is DNSSEC-validated (or the host is a static route)
  std::vector<TlsaRecord> records;   // the host's whole TLSA RRset (Unusable, Usable), for the TLS check,
                                     // the log and the audit log (TLS-RPT's policy-string)
};

// For level `dane`: what holds for an MX host that DANE does not cover (no DNSSEC-validated TLSA
// records): the domain's MTA-STS policy when it has one (with_mta_sts puts it here), else `may`.
struct NonDanePolicy {
  TlsLevel level = TlsLevel::May;
  PolicySource source = PolicySource::Default;
  std::vector<std::string> mx_patterns;      // empty: the patterns of the policy it belongs to
  bool testing = false;
};

struct EffectivePolicy {
  std::string domain;                        // the recipient domain, lower-case
  TlsLevel level = TlsLevel::May;
  PolicySource source = PolicySource::Default;
  std::vector<std::string> mx_patterns;      // MX hosts allowed ("mx.example.org", "*.example.org"); empty: any
  bool testing = false;                      // MTA-STS "mode: testing": report what would be refused, deliver
  std::optional<std::string> exception_reason;   // why an operator pinned this domain (configuration `reason`)
  DaneFacts dane;                                // DANE levels: the facts of one MX host (policy_for_host)
  std::optional<NonDanePolicy> without_dane;     // level dane: where DANE does not apply (nullopt: may)
};

// The policy a `dane` policy stands for where DANE does not apply: level, source, testing and (if it has
// any) mx patterns of `without_dane`, `may` when there is none; domain, exception and DANE facts kept.
EffectivePolicy non_dane_policy(const EffectivePolicy& policy);

// The policy a connection is held to: a `dane` policy on a host DANE does not cover (Insecure,
// NoRecords) is its non_dane_policy; every other policy is itself. decide() judges both the same.
EffectivePolicy applicable_policy(const EffectivePolicy& policy);

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
  // The check of the certificate against the host's TLSA records, made only when the policy's DANE status
  // is Usable. TrustAnchor: a DANE-TA record matched a certificate the leaf chains to; chain_trusted,
  // host_matches and cert_problem then describe that chain and the names (RFC 7672 §3.2).
  enum class DaneMatch {
    NotChecked,
    EndEntity,     // a DANE-EE record matched the leaf: names and dates do not matter (RFC 7672 §3.1.1)
    TrustAnchor,   // a DANE-TA record matched a certificate the leaf's chain leads to
    None,          // no usable record matched
  };
  DaneMatch dane_match = DaneMatch::NotChecked;
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

// How the certificate of an MX host is to be checked during the handshake under `policy`:
// - Recorded: checked against the WebPKI and only recorded (none, may, encrypt, a testing policy, DANE
//   with unusable records), the handshake never fails on it;
// - WebPki: a WebPKI chain for the MX host name, or the handshake fails (verify, mta-sts);
// - Dane: against the policy's TLSA records (RFC 7672 §3), or the handshake fails.
enum class CertificateCheck { Recorded, WebPki, Dane };
CertificateCheck certificate_check(const EffectivePolicy& policy);

// Whether a negotiated version is TLS 1.2 or later; unknown spellings are not (fail closed).
bool meets_minimum_tls_version(std::string_view tls_version);

// The verdict the policy gives an MX host before anything is connected, or nullopt when the connection
// must show. In this order: an MX the mx patterns do not allow (validation-failure, because RFC 8460 has
// no type for it and it is a failure to validate the MX against the policy); at the DANE levels, a TLSA
// lookup that failed (dnssec-invalid), a dane-only host without usable DNSSEC-validated TLSA records or
// behind MX records that are not validated (dane-required), and DANE facts nobody looked up (dane-required:
// fails closed). A `dane` host DANE does not cover is judged by non_dane_policy(policy).
std::optional<Verdict> decide_without_connecting(const EffectivePolicy& policy, std::string_view mx_host);

// The decision: decide_without_connecting, then the first problem in the order the connection meets
// them: STARTTLS offered, its reply (injection), the handshake, the version, the certificate (the chain,
// then its name; under DANE: a matching TLSA record, and for DANE-TA the chain to it and the name).
// DANE levels have no testing mode: their refusals are refusals whatever `testing` says.
Verdict decide(const EffectivePolicy& policy, const Observation& observation);

// Text for the 451 reply and the log: "TLS policy of example.org (verify, config): certificate of
// mx1.example.org has expired".
std::string reply_text(const EffectivePolicy& policy, const Verdict& verdict);

}  // namespace mxguard::policy
