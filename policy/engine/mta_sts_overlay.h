#pragma once
// How a domain's MTA-STS policy (RFC 8461) changes the policy the configuration gives it (design.md,
// "Policy engine"): `enforce` raises the level, `testing` delivers anyway but has what enforcement would
// refuse audited, and an operator's explicit [policy.domain] entry wins. Pure: the MTA-STS cache hands
// in a policy that is in force (max_age is the cache's business: an expired policy is not handed in).
#include <optional>
#include <string>
#include <vector>

#include "policy/verdict.h"

namespace mxguard::policy {

// What the engine needs of one fetched and parsed MTA-STS policy (RFC 8461 §3.2).
struct StsPolicyView {
  enum class Mode { Enforce, Testing, None };
  Mode mode = Mode::None;
  std::vector<std::string> mx;   // the policy's mx patterns ("mx1.example.com", "*.example.com"), lower-case
};

// The rules, in this order:
// - No view, or mode none: `configured` unchanged.
// - A view in enforce or testing mode without mx patterns is not a usable policy and is ignored like
//   mode none. An empty mx list would read as "any MX" (EffectivePolicy::mx_patterns), which is the one
//   thing MTA-STS exists to rule out; the MTA-STS parser refuses such a policy before it gets here.
// - An entry of the configuration (source Config) wins: its level stays. An entry at level `mta-sts` is
//   the operator asking for the domain's MTA-STS policy, so it takes the policy's mx patterns (unless the
//   entry lists its own) and is enforced even when the policy is in testing mode.
// - enforce: level `mta-sts`, source MtaSts, the policy's mx patterns.
// - testing, over a configured level that may deliver without TLS (`none`, `may`): level `mta-sts`,
//   testing = true, source MtaSts, the policy's mx patterns. The verdict then delivers what enforcement
//   would refuse and says so for the audit, which is no weaker than `may` was.
// - testing, over `encrypt` or `verify`: `configured` unchanged. decide() in testing mode lets every
//   refusal through, so taking the testing policy would deliver in plaintext or to an unverified MX
//   what the operator's default refuses: testing mode must never lower protection (RFC 8461 §5).
// - `dane` (a default or an entry): the level stays, and what the rules above make of `may` becomes its
//   without_dane, the policy of MX hosts DANE does not cover. DANE takes precedence where it applies
//   (RFC 8461 §2), MTA-STS where it does not (RFC 7672 §2.2: "pre-DANE" policy).
// - `dane-only` is left unchanged: without DANE it refuses, so MTA-STS has nothing to add.
// Not decided here: an entry at `mta-sts` for a domain with no usable policy comes back unchanged, so
// decide() holds it to `verify` and the entry's own mx patterns (if any). Whether it should rather be
// refused ("sts-policy-fetch-error") depends on what the cache knows (no policy published, or a fetch
// that failed) and belongs with the cache.
EffectivePolicy with_mta_sts(EffectivePolicy configured, const std::optional<StsPolicyView>& sts);

// Whether the domain's MTA-STS policy can change `configured` at all, so that it is worth waiting for:
// not for an entry that pins a level (it decides alone), nor for `dane-only`.
bool wants_mta_sts(const EffectivePolicy& configured);

}  // namespace mxguard::policy
