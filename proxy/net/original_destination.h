#pragma once
// Where a connection was going before a firewall redirected it to us (transparent outbound mode:
// `iptables -t nat -A OUTPUT -p tcp --dport 25 -j REDIRECT --to-ports 10025` or the nftables
// equivalent). The kernel's connection tracking remembers the original destination, and
// getsockopt(SO_ORIGINAL_DST) / getsockopt(IP6T_SO_ORIGINAL_DST) reads it back for the accepted socket.
//
// No privilege is needed to read it, but a redirect needs root to set up and nf_conntrack to be loaded,
// so only the "not redirected" answer is covered by unit tests; the redirected case belongs to a
// deployment test with a network namespace.
#include <sys/socket.h>

#include <optional>

namespace mxguard::net {

// `fd` is an accepted TCP socket, `local` its local address (decides IPv4 or IPv6). nullopt when the
// connection was not redirected: not tracked (ENOENT), no connection tracking at all (ENOPROTOOPT), or
// tracked but not rewritten (the kernel then answers with `local` itself); and on any other failure.
// Either way there is no destination to go to.
std::optional<sockaddr_storage> original_destination(int fd, const sockaddr_storage& local);

}  // namespace mxguard::net
