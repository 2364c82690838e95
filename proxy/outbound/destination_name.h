#pragma once
// Transparent mode: the name that the address the legacy MTA connected to goes by. Pure.
//
// A firewall REDIRECT leaves mxguard only an address (SO_ORIGINAL_DST). The legacy MTA found it by
// looking up the recipient domain's MX hosts, but the name it looked up is not on the wire, and TLS
// needs one: for SNI, for the certificate check at verify and mta-sts, and for the policy's mx patterns
// (an MTA-STS policy lists names, never addresses). So mxguard asks the question again: the domain's MX
// hosts in plan order, and the first whose addresses include the destination (preferring one the
// policy's mx patterns allow) names it. Trusting DNS for the name is no weaker than relay mode, which
// trusts the same answer to choose the host; an attacker who could forge it could send relay-mode mail
// to a host of his own just as well.
//
// No MX host has that address (the legacy MTA used a transport map, a smarthost or an answer that has
// changed since): the address itself names the destination, as an address literal. SNI is then left out,
// a certificate check passes only for a certificate with that IP address in its subjectAltName, and mx
// patterns never match it, so verify and mta-sts refuse such a destination (with a 4.7.5 the legacy MTA
// retries) rather than trust a name the destination was never shown to have.
//
// A lookup that failed temporarily is not "no such host": when the policy needs the name (verify,
// mta-sts, mx patterns), the destination cannot be judged now and the recipient gets 451 4.4.3, as in
// relay mode; refusing it as a certificate mismatch would put a false failure into the domain's TLS-RPT
// reports. When the policy does not need the name (none, may, encrypt without mx patterns, MTA-STS in
// testing mode), the address literal is good enough and the mail goes.
#include <sys/socket.h>

#include <string>
#include <vector>

#include "policy/dns/mx_plan.h"
#include "policy/dns/records.h"
#include "policy/verdict.h"

namespace mxguard::outbound {

struct DestinationName {
  enum class Kind {
    MxHost,    // `host` is the MX host whose addresses include the destination
    Address,   // no MX host has it: `host` is the address as text ("203.0.113.25", "2001:db8::25")
    Unknown,   // a lookup failed temporarily and the policy needs the name: answer 451 4.4.3
  };
  Kind kind = Kind::Address;
  std::string host;
  std::string note;   // how the name was found, or why there is none (log, reply text)
  bool mx_authenticated = false;   // MxHost: the MX answer had the AD bit (DANE, RFC 7672 §2.2.1)
};

// One MX host of the plan and what the lookup of its addresses said.
struct HostAddresses {
  std::string host;
  dns::Status status = dns::Status::Temporary;
  std::vector<sockaddr_storage> addresses;
};

// The same IP address, ports ignored; an IPv4-mapped IPv6 address equals its IPv4 address.
bool same_ip(const sockaddr_storage& a, const sockaddr_storage& b);

// Whether the policy looks at the MX host's name at all: verify and stricter, or mx patterns, unless an
// MTA-STS policy in testing mode only reports what it would refuse.
bool policy_needs_name(const policy::EffectivePolicy& policy);

// Whether `host` settles the question: it has the destination's address and the policy allows it, so no
// later MX host needs to be looked up.
bool names_destination(const policy::EffectivePolicy& policy, const sockaddr_storage& destination,
                       const HostAddresses& host);

// The decision over the domain's MX plan and the address lookups made for its hosts, in plan order (the
// namer may stop looking up hosts once names_destination is true).
DestinationName name_destination(const policy::EffectivePolicy& policy, const sockaddr_storage& destination,
                                 const dns::MxPlan& plan, const std::vector<HostAddresses>& looked_up);

}  // namespace mxguard::outbound
