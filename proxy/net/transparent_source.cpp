#include "proxy/net/transparent_source.h"

#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mxguard::net {

std::optional<sockaddr_storage> transparent_source_for(const sockaddr_storage& client) {
  sockaddr_storage out{};
  if (client.ss_family == AF_INET) {
    std::memcpy(&out, &client, sizeof(sockaddr_in));
    reinterpret_cast<sockaddr_in&>(out).sin_port = 0;
    return out;
  }
  if (client.ss_family != AF_INET6) return std::nullopt;
  const auto& c6 = reinterpret_cast<const sockaddr_in6&>(client);
  if (IN6_IS_ADDR_V4MAPPED(&c6.sin6_addr)) {
    // The kernel keeps such a client as IPv4: the backend connection must be an IPv4 one to carry it.
    auto& v4 = reinterpret_cast<sockaddr_in&>(out);
    v4.sin_family = AF_INET;
    std::memcpy(&v4.sin_addr, c6.sin6_addr.s6_addr + 12, sizeof v4.sin_addr);
    return out;
  }
  std::memcpy(&out, &client, sizeof(sockaddr_in6));
  reinterpret_cast<sockaddr_in6&>(out).sin6_port = 0;
  return out;
}

int open_transparent_socket(const sockaddr_storage& source) {
  const int family = source.ss_family;
  if (family != AF_INET && family != AF_INET6) return -EAFNOSUPPORT;
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  auto fail = [fd] {
    int error = errno;
    ::close(fd);
    return -error;
  };
  int on = 1;
  int rc = family == AF_INET ? setsockopt(fd, SOL_IP, IP_TRANSPARENT, &on, sizeof on)
                             : setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &on, sizeof on);
  if (rc != 0) return fail();
  // The port is chosen at connect(), for the whole 4-tuple, rather than at bind(): a busy client address
  // then does not run out of ports across backends. Best effort (Linux 4.2 and later).
  setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
  socklen_t length = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&source), length) != 0) return fail();
  return fd;
}

}  // namespace mxguard::net
