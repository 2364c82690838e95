#pragma once
// A socket address (sockaddr_storage, as libuv, c-ares answers and accept give it) read as an IP address,
// and written as text: one reading for the allow list, the MTA-STS agent's fetch requests and the proxy's
// logs, audit events and PROXY headers (proxy/smtp/proxy_header.h uses these).
#include <sys/socket.h>

#include <optional>
#include <string>

#include "policy/net/cidr.h"

namespace mxguard::policy {

// The address of an AF_INET or AF_INET6 socket address, as it is: an IPv4-mapped IPv6 address stays IPv6
// (unmapped_ipv4 finds the IPv4 address in it). std::nullopt for any other family (a Unix socket).
std::optional<IpAddress> ip_address(const sockaddr_storage& address);

// "192.0.2.1" or "2001:db8::1" (no brackets, no port). An IPv4-mapped IPv6 address is written as the IPv4
// address it carries, so that one client has one text whichever socket saw it (the connection limiter's
// key, the PROXY headers). "?" for any other family.
std::string address_text(const sockaddr_storage& address);

// The network of `ipv4_prefix` or `ipv6_prefix` bits that holds the address, as text ("192.0.2.0/24",
// "2001:db8:1:2::/64"); at the family's whole length, address_text's text alone. An IPv4-mapped address
// counts as IPv4. "?" for any other family. What an abuse penalty is given to: an IPv6 host can use
// every address of its /64, so penalizing one of them would stop nothing.
std::string network_text(const sockaddr_storage& address, unsigned ipv4_prefix, unsigned ipv6_prefix);

}  // namespace mxguard::policy
