#pragma once
// What DANE (RFC 7672) makes of the policy of one MX host: the DNS answers about the host go in (as the
// outbound link or `mxguard policy` got them), the host's effective policy comes out, with its DaneFacts
// for decide(). Pure: the answers come in as values, so every rule of RFC 7672 §2.1-2.2 is a table test.
//
// Which answers count as secure: only those with the AD bit from a resolver whose AD bit is believed
// (dns/ad_trust.h: a loopback resolver, or [dns] trust_ad = true). A host whose addresses are not secure
// gets no TLSA lookup: its TLSA records could not be secure either (RFC 7672 §2.2).
#include <optional>
#include <vector>

#include "policy/tlsa.h"
#include "policy/verdict.h"

namespace mxguard::policy {

struct DaneLookup {
  bool ad_trusted = false;                 // the resolver's AD bit is believed at all
  bool mx_authenticated = false;           // the MX answer had AD (a static route counts as authenticated)
  bool addresses_authenticated = false;    // the host's A and AAAA answers both had AD
  enum class Tlsa {
    NotAsked,    // no TLSA lookup (the addresses were not secure)
    Records,     // TLSA records came back
    NoRecords,   // NOERROR without TLSA records, or NXDOMAIN
    Failed,      // SERVFAIL, a timeout, a malformed answer: nothing is known
  };
  Tlsa tlsa = Tlsa::NotAsked;
  bool tlsa_authenticated = false;         // the TLSA answer (or the denial) had AD
  std::vector<TlsaRecord> records;         // with Records: the RRset as it came
};

// The rules, in this order:
// - an untrusted AD bit makes everything insecure: Insecure, mx_secure false;
// - mx_secure = the MX answer was authenticated;
// - addresses not authenticated: Insecure (whatever a TLSA lookup said; it should not have been made);
// - TLSA Failed: Failed (also when the answer would have been unauthenticated: nothing is known);
// - TLSA NotAsked with secure addresses: NotLookedUp (decide() fails closed);
// - TLSA NoRecords: authenticated -> NoRecords, else Insecure;
// - TLSA Records: not authenticated -> Insecure (ignored, RFC 7672 §2.2); else Usable when one of them is
//   usable for SMTP, Unusable when none is; the whole RRset is kept either way.
DaneFacts dane_facts(const DaneLookup& lookup);

// The policy of one MX host of a domain whose policy is `domain_policy`:
// - below the DANE levels: `domain_policy` unchanged (DANE is not looked at);
// - `dane` on a host DANE does not cover (Insecure, NoRecords): non_dane_policy, i.e. the domain's
//   MTA-STS policy or `may`, with the facts kept for the log and the audit log;
// - otherwise the DANE level with `facts`; where TLSA records decide (Usable, Unusable, a Failed lookup)
//   the source is Dane, so the audit log (and TLS-RPT, policy-type "tlsa") counts the host under DANE and
//   not under MTA-STS too.
EffectivePolicy policy_for_host(const EffectivePolicy& domain_policy, const DaneFacts& facts);

}  // namespace mxguard::policy
