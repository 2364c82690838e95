#include "policy/net/socket_address.h"

#include <netinet/in.h>

#include <cstring>

namespace mxguard::policy {

std::optional<IpAddress> ip_address(const sockaddr_storage& address) {
  IpAddress ip;
  if (address.ss_family == AF_INET) {
    sockaddr_in in;
    std::memcpy(&in, &address, sizeof in);
    std::memcpy(ip.bytes.data(), &in.sin_addr, sizeof in.sin_addr);
    return ip;
  }
  if (address.ss_family == AF_INET6) {
    sockaddr_in6 in6;
    std::memcpy(&in6, &address, sizeof in6);
    ip.family = IpFamily::V6;
    std::memcpy(ip.bytes.data(), &in6.sin6_addr, sizeof in6.sin6_addr);
    return ip;
  }
  return std::nullopt;
}

std::string address_text(const sockaddr_storage& address) {
  std::optional<IpAddress> ip = ip_address(address);
  if (!ip) return "?";
  return to_string(unmapped_ipv4(*ip).value_or(*ip));
}

std::string network_text(const sockaddr_storage& address, unsigned ipv4_prefix, unsigned ipv6_prefix) {
  std::optional<IpAddress> ip = ip_address(address);
  if (!ip) return "?";
  IpAddress plain = unmapped_ipv4(*ip).value_or(*ip);
  bool v4 = plain.family == IpFamily::V4;
  unsigned prefix = v4 ? ipv4_prefix : ipv6_prefix;
  if (prefix >= (v4 ? 32u : 128u)) return to_string(plain);
  return to_string(network_of(plain, prefix));
}

}  // namespace mxguard::policy
