#pragma once
// The effective policy of a recipient domain as the configuration gives it (design.md, "Policy engine"):
// [policy.domain."x"] when there is an entry still in force, [policy] default otherwise. Pure: the day
// comes in as a value, so lapsing is tested without a clock. MTA-STS is layered on top of this result
// (mta_sts_overlay.h), never mixed into it, so the one place that knows TOML precedence is this file.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "policy/config/config.h"
#include "policy/verdict.h"

namespace mxguard::policy {

// An entry of [policy.domain] that exists but no longer applies: the operator's exception has run out.
// It is reported, not applied, so that a postmaster sees why a domain is suddenly held to a stricter level.
struct LapsedException {
  std::string domain;                        // lower-case, as in the configuration
  TlsLevel level = TlsLevel::May;            // what the entry pinned while it was in force
  std::chrono::year_month_day expires;       // its last day in force (UTC)
  std::string reason;                        // the entry's `reason`; "" when none was given

  bool operator==(const LapsedException&) const = default;
};

// The first day an entry that is in force through `expires` no longer applies: the day after (UTC).
std::chrono::year_month_day lapse_day(std::chrono::year_month_day expires);

// "exception for partner.example (may) lapsed on 2027-02-01 (reason: ticket 4711)" — one spelling for the
// process log, check-config and `mxguard policy`; the reason part is left out when there is none.
std::string describe(const LapsedException& lapsed);

struct Resolution {
  EffectivePolicy policy;
  std::optional<LapsedException> lapsed;     // set when an entry exists for the domain but has lapsed
};

// How a recipient domain is looked up: ASCII lower case (RFC 4343) and without the root's trailing dot,
// which is how the configuration stores its keys. Only one dot is removed: "x.." is not a domain.
std::string normalize_domain(std::string_view domain);

// An unexpired [policy.domain."x"] gives source Config with its level, mx patterns and reason (the
// reason only when one is written). A lapsed entry, or none, gives [policy] default with source Default
// and no mx patterns; the lapsed entry is returned alongside. `today` is the UTC day. An entry names one
// domain exactly: its subdomains do not inherit it (mail.example.org is not example.org, and may well
// be run by somebody else), as with Postfix's TLS policy table without a leading dot.
Resolution resolve_policy(std::string_view recipient_domain, const config::Policy& policy,
                          std::chrono::year_month_day today);

}  // namespace mxguard::policy
