#pragma once
// From an MX answer to the list of hosts to try, in order (RFC 5321 §5.1, RFC 7505). Pure: the answer
// and the randomness come in as values, so every rule is a table test.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/dns/records.h"

namespace mxguard::dns {

struct MxPlan {
  enum class Kind {
    Hosts,          // try `hosts` in order
    NullMx,         // the domain accepts no mail (RFC 7505): answer 556 5.1.10, permanently
    ImplicitMx,     // no MX records: the domain itself is the one host (RFC 5321 §5.1); `hosts` = {domain}
    NoSuchDomain,   // NXDOMAIN
    Temporary,      // nothing usable now (lookup failed, answer unreadable, no valid MX target): 4xx, retry
  };
  Kind kind = Kind::Temporary;
  std::vector<std::string> hosts;   // lower-case, no trailing dot, no duplicates; empty unless Hosts/ImplicitMx
  bool authenticated_data = false;  // the MX answer's AD bit, carried for DANE
  std::string reason;               // why, for every kind but Hosts and ImplicitMx (log and reply text)
};

std::string_view to_string(MxPlan::Kind k);

// Returns a uniformly chosen index in [0, bound), bound >= 1. Injected so that tests fix the order.
using RandomIndex = std::function<std::size_t(std::size_t bound)>;

// A RandomIndex over a per-thread generator seeded from std::random_device: spreading load over
// equal-preference MX hosts needs no cryptographic quality.
RandomIndex system_random_index();

// The rules, in the order they apply:
// - NxDomain -> NoSuchDomain; Temporary or Malformed -> Temporary (a failed lookup is never "no MX").
// - NoData (or Ok with no records) -> ImplicitMx with the domain, lower-cased, trailing dot stripped.
// - Ok: targets are lower-cased and lose their trailing dot. A target that is the root (".") is a null
//   MX: if every record is one, NullMx (whatever its preference: "." can never be connected to);
//   alongside real hosts they are ignored. Targets that are not host names (IP literals such as
//   "192.0.2.1", "[192.0.2.1]" or "2001:db8::1", names with characters outside [a-z0-9-_.], empty or
//   over-long labels) are skipped, as RFC 5321 §5.1 and Postfix do. If nothing is left: Temporary.
// - Hosts come in preference order (lowest first); hosts of equal preference in random order (RFC 5321
//   §5.1 asks senders to spread the load); a host listed twice keeps its first (best) place.
MxPlan plan_mx(const MxResult& result, std::string_view domain, const RandomIndex& random);

// True if `name` (already lower-cased, no trailing dot) can be an MX target: see plan_mx.
bool is_mx_host_name(std::string_view name);

}  // namespace mxguard::dns
