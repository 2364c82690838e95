#pragma once
// A socket address as uv_tcp_getpeername reports one: AF_INET for an IPv4 literal, AF_INET6 (which may
// be IPv4-mapped, "::ffff:192.0.2.1") for an IPv6 one.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace mxguard::policy::testing {

inline sockaddr_storage socket_address(const std::string& literal, std::uint16_t port = 40000) {
  sockaddr_storage ss{};
  if (literal.find(':') == std::string::npos) {
    auto& in = reinterpret_cast<sockaddr_in&>(ss);
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    EXPECT_EQ(inet_pton(AF_INET, literal.c_str(), &in.sin_addr), 1) << literal;
  } else {
    auto& in6 = reinterpret_cast<sockaddr_in6&>(ss);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port);
    EXPECT_EQ(inet_pton(AF_INET6, literal.c_str(), &in6.sin6_addr), 1) << literal;
  }
  return ss;
}

}  // namespace mxguard::policy::testing
