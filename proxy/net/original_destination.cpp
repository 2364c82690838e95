#include "proxy/net/original_destination.h"

// glibc's <netinet/in.h> must come before the kernel headers, which otherwise define the same structs.
#include <netinet/in.h>

#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include <cstring>

namespace mxguard::net {
namespace {

// The address as IPv4 if it is one (also when written as ::ffff:a.b.c.d), so the two spellings compare.
bool as_v4(const sockaddr_storage& s, in_addr& addr, in_port_t& port) {
  if (s.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(s);
    addr = a.sin_addr;
    port = a.sin_port;
    return true;
  }
  if (s.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(s);
    if (!IN6_IS_ADDR_V4MAPPED(&a.sin6_addr)) return false;
    std::memcpy(&addr, a.sin6_addr.s6_addr + 12, sizeof addr);
    port = a.sin6_port;
    return true;
  }
  return false;
}

bool same_endpoint(const sockaddr_storage& a, const sockaddr_storage& b) {
  in_addr a4{}, b4{};
  in_port_t ap = 0, bp = 0;
  bool a_v4 = as_v4(a, a4, ap), b_v4 = as_v4(b, b4, bp);
  if (a_v4 || b_v4) return a_v4 && b_v4 && a4.s_addr == b4.s_addr && ap == bp;
  if (a.ss_family != AF_INET6 || b.ss_family != AF_INET6) return false;
  const auto& x = reinterpret_cast<const sockaddr_in6&>(a);
  const auto& y = reinterpret_cast<const sockaddr_in6&>(b);
  return std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0 && x.sin6_port == y.sin6_port;
}

}  // namespace

std::optional<sockaddr_storage> original_destination(int fd, const sockaddr_storage& local) {
  if (fd < 0) return std::nullopt;
  in_addr ignored_addr{};
  in_port_t ignored_port = 0;
  bool v4 = as_v4(local, ignored_addr, ignored_port);   // a dual-stack socket's IPv4 client: conntrack has it as IPv4
  if (!v4 && local.ss_family != AF_INET6) return std::nullopt;
  sockaddr_storage out{};
  socklen_t len = v4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  int rc = v4 ? getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &out, &len)
              : getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &out, &len);
  if (rc != 0 || out.ss_family != (v4 ? AF_INET : AF_INET6)) return std::nullopt;
  // A tracked connection that was not rewritten reports where it really went: to us. Going there would
  // loop back into the proxy.
  if (same_endpoint(out, local)) return std::nullopt;
  return out;
}

}  // namespace mxguard::net
