#pragma once
// What mxguard tells the backend about the real client (design.md, inbound step 1). Pure.
#include <cstdint>
#include <string>
#include <string_view>
#include <sys/socket.h>

#include "policy/net/socket_address.h"

namespace mxguard::smtp {

// PROXY protocol v1 text line ("PROXY TCP4 src dst sport dport\r\n"); "PROXY UNKNOWN\r\n" when the
// families differ or are neither AF_INET nor AF_INET6. An IPv4-mapped IPv6 address is sent as TCP4.
std::string proxy_v1_header(const sockaddr_storage& client, const sockaddr_storage& local);

// PROXY protocol v2 binary header (signature, version 2 / PROXY command, TCP over IPv4 or IPv6);
// LOCAL command with no addresses when the families cannot be expressed.
std::string proxy_v2_header(const sockaddr_storage& client, const sockaddr_storage& local);

// Postfix XCLIENT command line with CRLF: "XCLIENT ADDR=... PORT=... PROTO=ESMTP HELO=... NAME=...".
// IPv6 addresses get the "IPV6:" prefix; values are xtext-encoded (RFC 3461 §4) so a hostile HELO name
// cannot inject attributes. Empty helo/name are sent as [UNAVAILABLE].
struct XclientInfo {
  const sockaddr_storage* client = nullptr;
  std::string_view helo;
  std::string_view name;
  bool esmtp = true;
};
std::string xclient_command(const XclientInfo& info);

// "1.2.3.4" or "2001:db8::1" (no brackets), and the port; "?" (port 0) for unknown families.
// An IPv4-mapped IPv6 address is shown as IPv4, as in the headers above (one client, one limiter key).
// address_text is policy/net's, which the MTA-STS agent uses too; it is named here as well because the
// whole proxy writes its addresses through this header.
using policy::address_text;
int address_port(const sockaddr_storage& addr);
// "1.2.3.4:25" or "[2001:db8::1]:25": an address and port as a host:port endpoint is written.
std::string address_with_port(const sockaddr_storage& addr);
// Sets the port of an AF_INET or AF_INET6 address (host order in, network order stored).
void set_address_port(sockaddr_storage& addr, std::uint16_t port);

}  // namespace mxguard::smtp
