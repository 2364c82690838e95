// The tproxy backend socket: which address it comes from, and that binding to a foreign address needs
// the capability (only bind() happens here: no packet leaves, nothing on the host changes).
#include "proxy/net/transparent_source.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mxguard::net {
namespace {

sockaddr_storage v4(const char* text, std::uint16_t port) {
  sockaddr_storage s{};
  auto& a = reinterpret_cast<sockaddr_in&>(s);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, text, &a.sin_addr);
  return s;
}

sockaddr_storage v6(const char* text, std::uint16_t port) {
  sockaddr_storage s{};
  auto& a = reinterpret_cast<sockaddr_in6&>(s);
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  inet_pton(AF_INET6, text, &a.sin6_addr);
  return s;
}

std::string text(const sockaddr_storage& s) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (s.ss_family == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(s).sin_addr, buf, sizeof buf);
  if (s.ss_family == AF_INET6) inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(s).sin6_addr, buf, sizeof buf);
  return buf;
}

TEST(TransparentSource, IsTheClientsAddressWithPortZero) {
  auto a = transparent_source_for(v4("198.51.100.10", 40000));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ss_family, AF_INET);
  EXPECT_EQ(text(*a), "198.51.100.10");
  EXPECT_EQ(reinterpret_cast<const sockaddr_in&>(*a).sin_port, 0);
  auto b = transparent_source_for(v6("2001:db8:1::10", 40000));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->ss_family, AF_INET6);
  EXPECT_EQ(text(*b), "2001:db8:1::10");
  EXPECT_EQ(reinterpret_cast<const sockaddr_in6&>(*b).sin6_port, 0);
}

TEST(TransparentSource, AnIpv4MappedClientIsAnIpv4Source) {
  auto a = transparent_source_for(v6("::ffff:198.51.100.10", 40000));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ss_family, AF_INET);
  EXPECT_EQ(text(*a), "198.51.100.10");
}

TEST(TransparentSource, OtherFamiliesHaveNone) {
  sockaddr_storage unix_family{};
  unix_family.ss_family = AF_UNIX;
  EXPECT_FALSE(transparent_source_for(unix_family));
  EXPECT_EQ(open_transparent_socket(unix_family), -EAFNOSUPPORT);
}

bool has_net_admin_or_raw() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  auto has = [&](int cap) { return (data[CAP_TO_INDEX(cap)].effective & CAP_TO_MASK(cap)) != 0; };
  return has(CAP_NET_ADMIN) || has(CAP_NET_RAW);
}

TEST(TransparentSource, BindsToAForeignAddressOnlyWithTheCapability) {
  // 192.0.2.1 and 2001:db8::1 (documentation ranges) are no address of this host.
  for (const sockaddr_storage& source : {v4("192.0.2.1", 0), v6("2001:db8::1", 0)}) {
    int fd = open_transparent_socket(source);
    if (has_net_admin_or_raw()) {
      ASSERT_GE(fd, 0) << std::strerror(-fd);
      sockaddr_storage bound{};
      socklen_t length = sizeof bound;
      ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length), 0);
      EXPECT_EQ(text(bound), text(source));
      close(fd);
    } else {
      EXPECT_EQ(fd, -EPERM);
    }
  }
}

}  // namespace
}  // namespace mxguard::net
