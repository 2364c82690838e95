// parse_cidr / contains: the CIDR notation the configuration writes, and membership.
#include "policy/net/cidr.h"

#include <gtest/gtest.h>

#include <string>

namespace mxguard::policy {
namespace {

struct ParseCase {
  const char* text;
  CidrError error;
  const char* canonical;   // to_string of the parsed network ("" when there is none)
};

void PrintTo(const ParseCase& c, std::ostream* out) { *out << '"' << c.text << '"'; }

class ParseCidr : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseCidr, ReadsTheNotationStrictly) {
  const ParseCase& c = GetParam();
  CidrParse parsed = parse_cidr(c.text);
  EXPECT_EQ(parsed.error, c.error);
  if (*c.canonical != '\0') {
    EXPECT_EQ(to_string(parsed.cidr), c.canonical);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, ParseCidr,
    ::testing::Values(
        ParseCase{"127.0.0.1/32", CidrError::None, "127.0.0.1/32"},
        ParseCase{"10.0.0.0/8", CidrError::None, "10.0.0.0/8"},
        ParseCase{"0.0.0.0/0", CidrError::None, "0.0.0.0/0"},
        ParseCase{"192.0.2.128/25", CidrError::None, "192.0.2.128/25"},
        ParseCase{"192.0.2.0/024", CidrError::None, "192.0.2.0/24"},
        ParseCase{"::1/128", CidrError::None, "::1/128"},
        ParseCase{"::/0", CidrError::None, "::/0"},
        ParseCase{"2001:db8::/32", CidrError::None, "2001:db8::/32"},
        ParseCase{"2001:DB8::/32", CidrError::None, "2001:db8::/32"},
        ParseCase{"2001:db8:0:0:0:0:0:0/48", CidrError::None, "2001:db8::/48"},
        ParseCase{"::ffff:127.0.0.1/128", CidrError::None, "::ffff:127.0.0.1/128"},
        ParseCase{"fe80::/10", CidrError::None, "fe80::/10"},
        // missing or bad prefix
        ParseCase{"127.0.0.1", CidrError::MissingPrefix, ""},
        ParseCase{"::1", CidrError::MissingPrefix, ""},
        ParseCase{"127.0.0.1/", CidrError::BadPrefix, ""},
        ParseCase{"127.0.0.1/33", CidrError::BadPrefix, ""},
        ParseCase{"::1/129", CidrError::BadPrefix, ""},
        ParseCase{"10.0.0.0/+8", CidrError::BadPrefix, ""},
        ParseCase{"10.0.0.0/-8", CidrError::BadPrefix, ""},
        ParseCase{"10.0.0.0/8 ", CidrError::BadPrefix, ""},
        ParseCase{"10.0.0.0/0008", CidrError::BadPrefix, ""},
        ParseCase{"10.0.0.0/8/8", CidrError::BadPrefix, ""},
        ParseCase{"10.0.0.0/0x8", CidrError::BadPrefix, ""},
        // bad address
        ParseCase{"/8", CidrError::BadAddress, ""},
        ParseCase{"localhost/32", CidrError::BadAddress, ""},
        ParseCase{"10.0.0/24", CidrError::BadAddress, ""},
        ParseCase{"10.0.0.256/32", CidrError::BadAddress, ""},
        ParseCase{"010.0.0.0/8", CidrError::BadAddress, ""},
        ParseCase{" 10.0.0.0/8", CidrError::BadAddress, ""},
        ParseCase{"[::1]/128", CidrError::BadAddress, ""},
        ParseCase{"fe80::1%eth0/64", CidrError::BadAddress, ""},
        ParseCase{"2001:db8:::/48", CidrError::BadAddress, ""},
        // bits after the prefix: refused, with the network that was probably meant
        ParseCase{"10.0.0.1/8", CidrError::HostBitsSet, "10.0.0.0/8"},
        ParseCase{"192.0.2.129/25", CidrError::HostBitsSet, "192.0.2.128/25"},
        ParseCase{"127.0.0.1/0", CidrError::HostBitsSet, "0.0.0.0/0"},
        ParseCase{"2001:db8::1/64", CidrError::HostBitsSet, "2001:db8::/64"},
        ParseCase{"::1/127", CidrError::HostBitsSet, "::/127"}));

TEST(ParseCidr, StopsAtAnEmbeddedNul) {
  EXPECT_EQ(parse_cidr(std::string_view("10.0.0.0\0/8", 11)).error, CidrError::BadAddress);
  EXPECT_EQ(parse_cidr(std::string_view("10.0.0.0/8\0", 11)).error, CidrError::BadPrefix);
}

TEST(ParseIp, TakesLiteralsOnly) {
  EXPECT_EQ(parse_ip("192.0.2.1")->family, IpFamily::V4);
  EXPECT_EQ(parse_ip("2001:db8::1")->family, IpFamily::V6);
  EXPECT_FALSE(parse_ip("mx.example.org"));
  EXPECT_FALSE(parse_ip("192.0.2.1:25"));
  EXPECT_FALSE(parse_ip(""));
}

TEST(UnmappedIpv4, OnlyForIpv4MappedAddresses) {
  EXPECT_EQ(to_string(*unmapped_ipv4(*parse_ip("::ffff:127.0.0.1"))), "127.0.0.1");
  EXPECT_EQ(to_string(*unmapped_ipv4(*parse_ip("::ffff:c000:201"))), "192.0.2.1");
  EXPECT_FALSE(unmapped_ipv4(*parse_ip("::127.0.0.1")));           // IPv4-compatible (deprecated), not mapped
  EXPECT_FALSE(unmapped_ipv4(*parse_ip("64:ff9b::192.0.2.1")));    // NAT64 is a real IPv6 address
  EXPECT_FALSE(unmapped_ipv4(*parse_ip("::1")));
  EXPECT_FALSE(unmapped_ipv4(*parse_ip("127.0.0.1")));
}

TEST(Ipv4Form, TurnsMappedNetworksIntoIpv4Ones) {
  auto form = [](const char* text) { return to_string(ipv4_form(parse_cidr(text).cidr)); };
  EXPECT_EQ(form("::ffff:10.0.0.0/104"), "10.0.0.0/8");
  EXPECT_EQ(form("::ffff:127.0.0.1/128"), "127.0.0.1/32");
  EXPECT_EQ(form("::ffff:0:0/96"), "0.0.0.0/0");
  EXPECT_EQ(form("::/80"), "::/80") << "wider than the mapped range: stays IPv6";
  EXPECT_EQ(form("::/0"), "::/0");
  EXPECT_EQ(form("2001:db8::/32"), "2001:db8::/32");
  EXPECT_EQ(form("10.0.0.0/8"), "10.0.0.0/8");
}

struct ContainsCase {
  const char* network;
  const char* address;
  bool inside;
};

void PrintTo(const ContainsCase& c, std::ostream* out) { *out << c.address << " in " << c.network; }

class Contains : public ::testing::TestWithParam<ContainsCase> {};

TEST_P(Contains, ComparesThePrefixBits) {
  CidrParse network = parse_cidr(GetParam().network);
  ASSERT_EQ(network.error, CidrError::None);
  EXPECT_EQ(contains(network.cidr, *parse_ip(GetParam().address)), GetParam().inside);
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, Contains,
    ::testing::Values(ContainsCase{"10.0.0.0/8", "10.255.255.255", true}, ContainsCase{"10.0.0.0/8", "11.0.0.0", false},
                      ContainsCase{"10.0.0.0/8", "9.255.255.255", false},
                      ContainsCase{"192.0.2.128/25", "192.0.2.128", true},
                      ContainsCase{"192.0.2.128/25", "192.0.2.127", false},
                      ContainsCase{"192.0.2.1/32", "192.0.2.1", true}, ContainsCase{"192.0.2.1/32", "192.0.2.0", false},
                      ContainsCase{"0.0.0.0/0", "255.255.255.255", true},
                      ContainsCase{"172.16.0.0/12", "172.31.255.255", true},
                      ContainsCase{"172.16.0.0/12", "172.32.0.0", false},
                      ContainsCase{"2001:db8::/32", "2001:db8:ffff::1", true},
                      ContainsCase{"2001:db8::/32", "2001:db9::1", false},
                      ContainsCase{"2001:db8::/33", "2001:db8:8000::", false},
                      ContainsCase{"2001:db8::/33", "2001:db8:7fff::", true},
                      ContainsCase{"::1/128", "::1", true}, ContainsCase{"::1/128", "::2", false},
                      ContainsCase{"::/0", "ffff::", true},
                      // families never mix here: the mapped form is AllowList's business
                      ContainsCase{"0.0.0.0/0", "::ffff:127.0.0.1", false}, ContainsCase{"::/0", "127.0.0.1", false}));

TEST(Loopback, TheMachineItselfOnly) {
  for (const char* yes : {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.53"}) {
    EXPECT_TRUE(is_loopback(*parse_ip(yes))) << yes;
  }
  for (const char* no : {"128.0.0.1", "10.0.0.1", "::", "::2", "fe80::1", "::ffff:10.0.0.1", "0.0.0.0"}) {
    EXPECT_FALSE(is_loopback(*parse_ip(no))) << no;
  }
}

TEST(NetworkOf, ClearsTheBitsAfterThePrefixAndStopsAtTheFamilysLength) {
  EXPECT_EQ(to_string(network_of(*parse_ip("192.0.2.77"), 24)), "192.0.2.0/24");
  EXPECT_EQ(to_string(network_of(*parse_ip("192.0.2.77"), 25)), "192.0.2.0/25");
  EXPECT_EQ(to_string(network_of(*parse_ip("192.0.2.200"), 25)), "192.0.2.128/25");
  EXPECT_EQ(to_string(network_of(*parse_ip("192.0.2.77"), 32)), "192.0.2.77/32");
  EXPECT_EQ(to_string(network_of(*parse_ip("192.0.2.77"), 64)), "192.0.2.77/32");
  EXPECT_EQ(to_string(network_of(*parse_ip("192.0.2.77"), 0)), "0.0.0.0/0");
  EXPECT_EQ(to_string(network_of(*parse_ip("2001:db8:aaaa:bbbb:1:2:3:4"), 64)), "2001:db8:aaaa:bbbb::/64");
  EXPECT_EQ(to_string(network_of(*parse_ip("2001:db8:aaaa:bbbb:1:2:3:4"), 63)), "2001:db8:aaaa:bbba::/63");
  EXPECT_EQ(to_string(network_of(*parse_ip("2001:db8::1"), 200)), "2001:db8::1/128");
  EXPECT_TRUE(contains(network_of(*parse_ip("2001:db8:1:2::9"), 64), *parse_ip("2001:db8:1:2:ffff::1")));
  EXPECT_FALSE(contains(network_of(*parse_ip("2001:db8:1:2::9"), 64), *parse_ip("2001:db8:1:3::1")));
}

}  // namespace
}  // namespace mxguard::policy
