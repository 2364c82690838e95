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

std::optional<IpAddress> client_ip_address(const sockaddr_storage& address) {
  std::optional<IpAddress> ip = ip_address(address);
  if (ip) ip = unmapped_ipv4(*ip).value_or(*ip);
  return ip;
}

std::string address_text(const sockaddr_storage& address) {
  std::optional<IpAddress> ip = client_ip_address(address);
  return ip ? to_string(*ip) : "?";
}

std::string network_text(const IpAddress& address, unsigned prefix) {
  Cidr network = network_of(address, prefix);
  bool whole = network.prefix == (address.family == IpFamily::V4 ? 32u : 128u);
  return whole ? to_string(address) : to_string(network);
}

}  // namespace mxguard::policy
