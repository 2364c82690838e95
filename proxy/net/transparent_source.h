#pragma once
// A TCP socket that connects from somebody else's address: the inbound backend connection of
// backend_protocol = "tproxy", which comes from the client's own address so that a legacy server that
// speaks neither PROXY nor XCLIENT (Exchange) sees, logs and judges the real client (stunnel's
// `transparent = source`, HAProxy's `source 0.0.0.0 usesrc clientip`).
//
// IP_TRANSPARENT (IPV6_TRANSPARENT) lets the socket bind to an address this host does not have; it needs
// CAP_NET_ADMIN (or, on current kernels, CAP_NET_RAW). The replies come back to that foreign address, so
// the host must route them to itself and deliver them to the socket: policy routing for packets of
// transparent sockets (deploy/firewall/tproxy-*, deploy/README.md). Without it the handshake never
// completes and the connect times out.
#include <sys/socket.h>

#include <optional>

namespace mxguard::net {

// The address to connect from for this client: its address with port 0 (the kernel picks a port), an
// IPv4-mapped IPv6 address (a dual-stack listener's IPv4 client) as the IPv4 address it is. nullopt for
// anything that is neither IPv4 nor IPv6.
std::optional<sockaddr_storage> transparent_source_for(const sockaddr_storage& client);

// A non-blocking, close-on-exec TCP socket of source's family, IP_TRANSPARENT, bound to `source`.
// Returns the descriptor, or -errno (which is the libuv error code on Linux: UV_EPERM without the
// capability, UV_EADDRINUSE, ...).
int open_transparent_socket(const sockaddr_storage& source);

}  // namespace mxguard::net
