#pragma once
// The DANE half of `mxguard policy DOMAIN` (RFC 7672): for one MX host, what its TLSA lookup found
// (validated or not, every record usable or not) and which mechanism decides for it, as "key: value"
// lines. Pure formatting over what the lookups returned, so it says exactly what the outbound path would
// decide from the same answers (policy::dane_facts, policy::policy_for_host, policy::decide_without_connecting).
#include <optional>
#include <string>

#include "policy/dns/records.h"
#include "policy/engine/dane_overlay.h"
#include "policy/verdict.h"

namespace mxguard::app {

struct HostDns {
  std::string host;
  std::uint16_t port = 25;
  dns::AddressResult addresses;
  std::optional<dns::TlsaResult> tlsa;   // asked only behind validated addresses whose AD bit is believed
};

// The DANE inputs of `hop` as the outbound path forms them (MxHostLookup).
policy::DaneLookup dane_lookup(const HostDns& hop, bool ad_trusted, bool mx_authenticated);

// "mx N tlsa: ...", one "mx N tlsa K: <record> (usable|unusable: why)" per record, and "mx N decides: ..."
// for the host's policy, each line ending in '\n'. `domain_policy` is the effective policy of the domain.
std::string describe_host_dane(int n, const HostDns& hop, const policy::EffectivePolicy& domain_policy,
                               const policy::DaneLookup& lookup);

}  // namespace mxguard::app
