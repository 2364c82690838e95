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

}  // namespace mxguard::policy
