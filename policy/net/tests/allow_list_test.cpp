// AllowList: the outbound listener's client check, over real socket addresses.
#include "policy/net/allow_list.h"

#include <gtest/gtest.h>
#include <sys/un.h>

#include <cstring>
#include <string>
#include <vector>

#include "policy/net/tests/socket_address_literal.h"

namespace mxguard::policy {
namespace {

using testing::socket_address;

AllowList parse_ok(const std::vector<std::string>& cidrs) {
  auto parsed = AllowList::parse(cidrs);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    ADD_FAILURE() << *error;
    return AllowList{};
  }
  return std::get<AllowList>(std::move(parsed));
}

struct Case {
  std::vector<std::string> allow;
  const char* client;
  bool allowed;
};

void PrintTo(const Case& c, std::ostream* out) {
  *out << c.client << " vs [";
  for (const auto& a : c.allow) *out << a << ' ';
  *out << ']';
}

class Allows : public ::testing::TestWithParam<Case> {};

TEST_P(Allows, MatchesTheClientAddress) {
  EXPECT_EQ(parse_ok(GetParam().allow).allows(socket_address(GetParam().client)), GetParam().allowed);
}

using L = std::vector<std::string>;
const L kDefault = {"127.0.0.1/32", "::1/128"};   // the configuration's default

INSTANTIATE_TEST_SUITE_P(
    Vectors, Allows,
    ::testing::Values(
        // the default: this machine only
        Case{kDefault, "127.0.0.1", true}, Case{kDefault, "::1", true}, Case{kDefault, "::ffff:127.0.0.1", true},
        Case{kDefault, "127.0.0.2", false}, Case{kDefault, "::ffff:127.0.0.2", false}, Case{kDefault, "::2", false},
        Case{kDefault, "192.0.2.1", false}, Case{kDefault, "::ffff:192.0.2.1", false},
        Case{kDefault, "2001:db8::1", false}, Case{kDefault, "::", false}, Case{kDefault, "0.0.0.0", false},
        // IPv4 prefixes, on IPv4 and dual-stack sockets alike
        Case{L{"10.0.0.0/8"}, "10.1.2.3", true}, Case{L{"10.0.0.0/8"}, "::ffff:10.1.2.3", true},
        Case{L{"10.0.0.0/8"}, "11.0.0.1", false}, Case{L{"10.0.0.0/8"}, "::ffff:11.0.0.1", false},
        Case{L{"192.0.2.0/24"}, "192.0.2.255", true}, Case{L{"192.0.2.0/24"}, "192.0.3.0", false},
        Case{L{"192.0.2.64/26"}, "192.0.2.127", true}, Case{L{"192.0.2.64/26"}, "192.0.2.128", false},
        Case{L{"192.0.2.64/26"}, "192.0.2.63", false}, Case{L{"192.0.2.7/32"}, "::ffff:192.0.2.7", true},
        Case{L{"0.0.0.0/0"}, "203.0.113.9", true}, Case{L{"0.0.0.0/0"}, "::ffff:203.0.113.9", true},
        Case{L{"0.0.0.0/0"}, "2001:db8::1", false},
        // IPv6 prefixes
        Case{L{"2001:db8::/32"}, "2001:db8:1234::1", true}, Case{L{"2001:db8::/32"}, "2001:db9::1", false},
        Case{L{"2001:db8:abcd::/48"}, "2001:db8:abcd:ffff::1", true},
        Case{L{"2001:db8:abcd::/48"}, "2001:db8:abce::1", false}, Case{L{"fe80::/10"}, "febf::1", true},
        Case{L{"fe80::/10"}, "fec0::1", false}, Case{L{"::/0"}, "2001:db8::1", true},
        // an IPv6 rule does not let IPv4 clients in, even when the socket shows them as IPv6
        Case{L{"::/0"}, "::ffff:192.0.2.1", false}, Case{L{"::/0"}, "192.0.2.1", false},
        Case{L{"::/64"}, "::ffff:127.0.0.1", false},
        // ... except an IPv4-mapped entry, which is an IPv4 entry
        Case{L{"::ffff:127.0.0.1/128"}, "127.0.0.1", true}, Case{L{"::ffff:127.0.0.1/128"}, "::ffff:127.0.0.1", true},
        Case{L{"::ffff:10.0.0.0/104"}, "10.9.8.7", true}, Case{L{"::ffff:10.0.0.0/104"}, "11.0.0.1", false},
        Case{L{"::ffff:0:0/96"}, "198.51.100.1", true}, Case{L{"::ffff:0:0/96"}, "2001:db8::1", false},
        // not IPv4-mapped: IPv4-compatible and NAT64 addresses are IPv6
        Case{L{"127.0.0.1/32"}, "::127.0.0.1", false}, Case{L{"192.0.2.1/32"}, "64:ff9b::192.0.2.1", false},
        Case{L{"64:ff9b::/96"}, "64:ff9b::192.0.2.1", true},
        // several entries of both families
        Case{L{"10.0.0.0/8", "2001:db8::/32", "192.0.2.1/32"}, "192.0.2.1", true},
        Case{L{"10.0.0.0/8", "2001:db8::/32", "192.0.2.1/32"}, "2001:db8::25", true},
        Case{L{"10.0.0.0/8", "2001:db8::/32", "192.0.2.1/32"}, "192.0.2.2", false},
        // nobody at all
        Case{L{}, "127.0.0.1", false}, Case{L{}, "::1", false}));

TEST(AllowList, ThePortDoesNotMatter) {
  AllowList list = parse_ok(kDefault);
  EXPECT_TRUE(list.allows(socket_address("127.0.0.1", 1)));
  EXPECT_TRUE(list.allows(socket_address("::1", 65535)));
}

TEST(AllowList, OtherFamiliesAreNotAllowed) {
  AllowList everyone = parse_ok({"0.0.0.0/0", "::/0"});
  sockaddr_storage unix_peer{};
  reinterpret_cast<sockaddr_un&>(unix_peer).sun_family = AF_UNIX;
  EXPECT_FALSE(everyone.allows(unix_peer));
  sockaddr_storage unspecified{};
  EXPECT_FALSE(everyone.allows(unspecified));
}

TEST(AllowList, ADefaultOneAllowsNobody) {
  AllowList list;
  EXPECT_TRUE(list.empty());
  EXPECT_FALSE(list.allows(socket_address("127.0.0.1")));
  EXPECT_FALSE(parse_ok({"127.0.0.1/32"}).empty());
}

TEST(AllowList, RefusesEntriesTheLoaderWouldRefuse) {
  for (const char* bad : {"127.0.0.1", "10.0.0.1/8", "localhost/32", "::1/129", ""}) {
    auto parsed = AllowList::parse({"::1/128", bad});
    ASSERT_TRUE(std::holds_alternative<std::string>(parsed)) << bad;
    EXPECT_NE(std::get<std::string>(parsed).find(std::string("\"") + bad + "\""), std::string::npos)
        << std::get<std::string>(parsed);
  }
}

TEST(AllowList, MatchesParsedAddressesToo) {
  AllowList list = parse_ok({"192.0.2.0/24"});
  EXPECT_TRUE(list.allows(*parse_ip("::ffff:192.0.2.9")));
  EXPECT_FALSE(list.allows(*parse_ip("192.0.3.9")));
}

}  // namespace
}  // namespace mxguard::policy
