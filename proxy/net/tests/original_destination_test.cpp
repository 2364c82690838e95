// Connection::original_destination() for connections that were not redirected. The redirected case needs
// a NAT rule, so it runs only inside a throwaway network namespace set up by run_redirect_test.sh (as
// root); without MXGUARD_REDIRECT_TEST it is skipped.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "proxy/net/tests/loopback.h"

namespace mxguard::net {
namespace {

using testing::Loopback;

bool connect_pair(Loopback& net, const std::string& target = "", int port = 0) {
  net.connect(target, port);
  return net.run_until([&] { return net.accepted() && net.client_events.connected == 0; });
}

TEST(OriginalDestination, NotRedirectedIPv4HasNone) {
  Loopback net("127.0.0.1");
  ASSERT_TRUE(net.listening());
  ASSERT_TRUE(connect_pair(net));
  EXPECT_FALSE(net.server().original_destination().has_value());
  EXPECT_FALSE(net.client().original_destination().has_value());
}

TEST(OriginalDestination, NotRedirectedIPv6HasNone) {
  Loopback net("::1");
  if (!net.listening()) GTEST_SKIP() << "no IPv6 loopback here";
  ASSERT_TRUE(connect_pair(net));
  EXPECT_EQ(net.server().local().ss_family, AF_INET6);
  EXPECT_FALSE(net.server().original_destination().has_value());
}

TEST(OriginalDestination, NotRedirectedIPv4OnADualStackSocketHasNone) {
  Loopback net("::");
  if (!net.listening()) GTEST_SKIP() << "no IPv6 here";
  ASSERT_TRUE(connect_pair(net, "127.0.0.1"));
  EXPECT_FALSE(net.server().original_destination().has_value());
}

TEST(OriginalDestination, ConnectionThatNeverConnectedHasNone) {
  Loopback net;
  EXPECT_FALSE(net.client().original_destination().has_value());
}

std::string address_text(const sockaddr_storage& addr) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(addr);
    inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(a.sin_port));
  }
  const auto& a = reinterpret_cast<const sockaddr_in6&>(addr);
  inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof text);
  return "[" + std::string(text) + "]:" + std::to_string(ntohs(a.sin6_port));
}

// run_redirect_test.sh REDIRECTs connections to 192.0.2.25:25 and [2001:db8::25]:25 to local port 10025
// (on the loopback interface: 127.0.0.1 and ::1).
TEST(OriginalDestination, RedirectedConnectionReportsWhereItWasGoing) {
  if (!std::getenv("MXGUARD_REDIRECT_TEST")) GTEST_SKIP() << "needs the NAT rules of run_redirect_test.sh";
  struct Case {
    const char* listen;
    const char* target;
    const char* expected;
  };
  for (const Case& c : {Case{"127.0.0.1", "192.0.2.25", "192.0.2.25:25"},
                        Case{"::1", "2001:db8::25", "[2001:db8::25]:25"}}) {
    SCOPED_TRACE(c.target);
    Loopback net(c.listen, 10025);
    ASSERT_TRUE(net.listening());
    ASSERT_TRUE(connect_pair(net, c.target, 25));
    auto dest = net.server().original_destination();
    ASSERT_TRUE(dest.has_value());
    EXPECT_EQ(address_text(*dest), c.expected);
  }
}

}  // namespace
}  // namespace mxguard::net
