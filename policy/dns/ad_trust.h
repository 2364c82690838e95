#pragma once
// Whose AD bit mxguard believes (DANE, RFC 7672 §2.1): an answer's AD bit says that the resolver that
// sent it validated it with DNSSEC, and nothing protects the bit on its way. A validating resolver on the
// machine itself is believed; one across a network only when the operator vouches for the path
// ([dns] trust_ad = true), as Postfix (smtp_dns_support_level = dnssec, with a local resolver) and maddy do.
#include <string>
#include <vector>

namespace mxguard::dns {

// `addresses`: the IP literals of the servers the resolver asks (Resolver::servers()). True when
// `trust_ad`, or when there is at least one server and every one is on loopback (127.0.0.0/8, ::1).
// Anything that is not an IP literal is not believed.
bool ad_bit_trusted(const std::vector<std::string>& addresses, bool trust_ad);

}  // namespace mxguard::dns
