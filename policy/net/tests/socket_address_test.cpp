// A socket address as an IP address and as text: both families, the IPv4-mapped form, other families.
#include "policy/net/socket_address.h"

#include <gtest/gtest.h>
#include <sys/un.h>

#include "policy/net/tests/socket_address_literal.h"

namespace mxguard::policy {
namespace {

using testing::socket_address;

sockaddr_storage unix_socket() {
  sockaddr_storage ss{};
  reinterpret_cast<sockaddr_un&>(ss).sun_family = AF_UNIX;
  return ss;
}

TEST(SocketAddress, ReadsTheAddressOfBothFamiliesAsItIs) {
  EXPECT_EQ(ip_address(socket_address("192.0.2.1", 25)), parse_ip("192.0.2.1"));
  EXPECT_EQ(ip_address(socket_address("2001:db8::1", 65535)), parse_ip("2001:db8::1"));
  std::optional<IpAddress> mapped = ip_address(socket_address("::ffff:192.0.2.1"));
  ASSERT_TRUE(mapped);
  EXPECT_EQ(mapped->family, IpFamily::V6);   // as the socket has it; unmapped_ipv4 takes it apart
  EXPECT_EQ(unmapped_ipv4(*mapped), parse_ip("192.0.2.1"));
  EXPECT_EQ(ip_address(unix_socket()), std::nullopt);
  EXPECT_EQ(ip_address(sockaddr_storage{}), std::nullopt);   // AF_UNSPEC
}

TEST(SocketAddress, NetworkTextIsTheAddressAtTheFamilysWholeLengthAndTheNetworkBelowIt) {
  EXPECT_EQ(network_text(*parse_ip("192.0.2.77"), 32), "192.0.2.77");
  EXPECT_EQ(network_text(*parse_ip("192.0.2.77"), 24), "192.0.2.0/24");
  EXPECT_EQ(network_text(*parse_ip("2001:db8:1:2:3:4:5:6"), 64), "2001:db8:1:2::/64");
  EXPECT_EQ(network_text(*parse_ip("2001:db8:1:2:3:4:5:6"), 128), "2001:db8:1:2:3:4:5:6");
  EXPECT_EQ(network_text(*parse_ip("2001:db8:1:2:3:4:5:6"), 60), "2001:db8:1::/60");
  EXPECT_EQ(network_text(*parse_ip("2001:db8:1:1f:3:4:5:6"), 60), "2001:db8:1:10::/60");
  EXPECT_EQ(network_text(*parse_ip("2001:db8:1:2:3:4:5:6"), 48), "2001:db8:1::/48");
}

TEST(SocketAddress, AClientsAddressIsIpv4WhenTheSocketMappedIt) {
  // An IPv4 client on a dual-stack socket is an IPv4 client: the IPv4 prefix applies, not a /64 of ::ffff:0:0/96.
  EXPECT_EQ(client_ip_address(socket_address("::ffff:192.0.2.77")), parse_ip("192.0.2.77"));
  EXPECT_EQ(client_ip_address(socket_address("192.0.2.77")), parse_ip("192.0.2.77"));
  EXPECT_EQ(client_ip_address(socket_address("2001:db8::1")), parse_ip("2001:db8::1"));
  EXPECT_EQ(client_ip_address(unix_socket()), std::nullopt);
}

TEST(SocketAddress, TextOfBothFamiliesWithoutPortOrBrackets) {
  EXPECT_EQ(address_text(socket_address("192.0.2.1", 25)), "192.0.2.1");
  EXPECT_EQ(address_text(socket_address("2001:db8::1", 65535)), "2001:db8::1");
  EXPECT_EQ(address_text(socket_address("2001:DB8:0:0:0:0:0:1")), "2001:db8::1");   // inet_ntop's spelling
  EXPECT_EQ(address_text(socket_address("::1")), "::1");
}

TEST(SocketAddress, MappedIpv4IsWrittenAsIpv4AndOtherFamiliesAsAQuestionMark) {
  EXPECT_EQ(address_text(socket_address("::ffff:192.0.2.1", 1)), "192.0.2.1");
  EXPECT_EQ(address_text(unix_socket()), "?");
  EXPECT_EQ(address_text(sockaddr_storage{}), "?");
}

}  // namespace
}  // namespace mxguard::policy
