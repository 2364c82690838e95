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

// The same, with an IPv4-mapped address read as the IPv4 address it carries: one client has one address
// whichever socket saw it (the connection limiter's key and penalties, the PROXY headers, the logs).
std::optional<IpAddress> client_ip_address(const sockaddr_storage& address);

// "192.0.2.1" or "2001:db8::1" (no brackets, no port). An IPv4-mapped IPv6 address is written as the IPv4
// address it carries, so that one client has one text whichever socket saw it (the connection limiter's
// key, the PROXY headers). "?" for any other family.
std::string address_text(const sockaddr_storage& address);

// The network of `prefix` bits that holds `address`, as text ("192.0.2.0/24", "2001:db8:1:2::/64"); at
// the family's whole length (or more), the address alone. What an abuse penalty is given to: an IPv6 host
// can use every address of its /64, so penalizing one of them would stop nothing.
std::string network_text(const IpAddress& address, unsigned prefix);

}  // namespace mxguard::policy
