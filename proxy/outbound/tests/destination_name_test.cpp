// Transparent mode's name for the original destination: every rule of name_destination as a table of
// MX plans and address lookups, no DNS.
#include "proxy/outbound/destination_name.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>

namespace mxguard::outbound {
namespace {

using Kind = DestinationName::Kind;
using policy::TlsLevel;

sockaddr_storage ip(const char* text, std::uint16_t port = 25) {
  sockaddr_storage s{};
  if (std::strchr(text, ':')) {
    auto& a = reinterpret_cast<sockaddr_in6&>(s);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    EXPECT_EQ(inet_pton(AF_INET6, text, &a.sin6_addr), 1) << text;
  } else {
    auto& a = reinterpret_cast<sockaddr_in&>(s);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    EXPECT_EQ(inet_pton(AF_INET, text, &a.sin_addr), 1) << text;
  }
  return s;
}

policy::EffectivePolicy policy_of(TlsLevel level, std::vector<std::string> mx = {}, bool testing = false) {
  policy::EffectivePolicy p;
  p.domain = "example.org";
  p.level = level;
  p.mx_patterns = std::move(mx);
  p.testing = testing;
  return p;
}

dns::MxPlan hosts(std::vector<std::string> names) {
  dns::MxPlan plan;
  plan.kind = dns::MxPlan::Kind::Hosts;
  plan.hosts = std::move(names);
  return plan;
}

dns::MxPlan plan_of(dns::MxPlan::Kind kind, std::string reason = "SERVFAIL") {
  dns::MxPlan plan;
  plan.kind = kind;
  plan.reason = std::move(reason);
  return plan;
}

HostAddresses found(std::string host, std::vector<sockaddr_storage> addresses) {
  return {std::move(host), dns::Status::Ok, std::move(addresses)};
}

HostAddresses failed(std::string host, dns::Status status = dns::Status::Temporary) { return {std::move(host), status, {}}; }

const sockaddr_storage kDestination = ip("203.0.113.25");

TEST(SameIp, ComparesAddressesNotPortsAndSeesThroughIpv4Mapping) {
  EXPECT_TRUE(same_ip(ip("203.0.113.25", 25), ip("203.0.113.25", 2525)));
  EXPECT_TRUE(same_ip(ip("203.0.113.25"), ip("::ffff:203.0.113.25")));
  EXPECT_TRUE(same_ip(ip("2001:db8:2::25"), ip("2001:db8:2:0::25")));
  EXPECT_FALSE(same_ip(ip("203.0.113.25"), ip("203.0.113.26")));
  EXPECT_FALSE(same_ip(ip("2001:db8:2::25"), ip("2001:db8:2::26")));
  EXPECT_FALSE(same_ip(sockaddr_storage{}, sockaddr_storage{}));   // no family: never "the same"
}

TEST(NameDestination, TheMxHostWithTheDestinationsAddressNamesIt) {
  auto name = name_destination(policy_of(TlsLevel::Verify), kDestination, hosts({"mx1.example.org", "mx2.example.org"}),
                               {found("mx1.example.org", {ip("203.0.113.24")}),
                                found("mx2.example.org", {ip("2001:db8:2::25"), ip("203.0.113.25")})});
  EXPECT_EQ(name.kind, Kind::MxHost);
  EXPECT_EQ(name.host, "mx2.example.org");
  EXPECT_EQ(name.note, "MX host of example.org with address 203.0.113.25");
}

TEST(NameDestination, AnIpv6DestinationIsMatchedAgainstAaaaRecords) {
  auto name = name_destination(policy_of(TlsLevel::Verify), ip("2001:db8:2::25"), hosts({"mx.example.org"}),
                               {found("mx.example.org", {ip("2001:db8:2::25"), ip("203.0.113.25")})});
  EXPECT_EQ(name.kind, Kind::MxHost);
  EXPECT_EQ(name.host, "mx.example.org");
}

TEST(NameDestination, AHostThePolicyAllowsWinsOverAnEarlierOneOnTheSameAddress) {
  std::vector<HostAddresses> looked_up{found("mx.provider.example", {kDestination}),
                                       found("mx1.example.org", {kDestination})};
  auto patterned = policy_of(TlsLevel::Verify, {"*.example.org"});
  EXPECT_FALSE(names_destination(patterned, kDestination, looked_up[0]));
  EXPECT_TRUE(names_destination(patterned, kDestination, looked_up[1]));
  EXPECT_EQ(name_destination(patterned, kDestination, hosts({"mx.provider.example", "mx1.example.org"}), looked_up).host,
            "mx1.example.org");
  // Without patterns the first in plan order names it.
  EXPECT_EQ(name_destination(policy_of(TlsLevel::Verify), kDestination,
                             hosts({"mx.provider.example", "mx1.example.org"}), looked_up).host,
            "mx.provider.example");
}

TEST(NameDestination, AMatchingHostThePolicyDoesNotAllowStillNamesIt) {
  // The MX check then refuses it with the policy's own words, rather than an address literal that
  // would hide which host it was.
  auto name = name_destination(policy_of(TlsLevel::MtaSts, {"*.example.org"}), kDestination,
                               hosts({"mx.elsewhere.example"}), {found("mx.elsewhere.example", {kDestination})});
  EXPECT_EQ(name.kind, Kind::MxHost);
  EXPECT_EQ(name.host, "mx.elsewhere.example");
}

TEST(NameDestination, NoMxHostWithThatAddressLeavesTheAddressAsALiteral) {
  for (TlsLevel level : {TlsLevel::None, TlsLevel::May, TlsLevel::Encrypt, TlsLevel::Verify, TlsLevel::MtaSts}) {
    auto name = name_destination(policy_of(level), kDestination, hosts({"mx1.example.org"}),
                                 {found("mx1.example.org", {ip("198.51.100.7")})});
    EXPECT_EQ(name.kind, Kind::Address) << to_string(level);
    EXPECT_EQ(name.host, "203.0.113.25");
    EXPECT_EQ(name.note, "no MX host of example.org has address 203.0.113.25: using the address itself");
  }
  auto v6 = name_destination(policy_of(TlsLevel::Verify), ip("2001:db8:2::25"), hosts({"mx1.example.org"}),
                             {found("mx1.example.org", {ip("203.0.113.25")})});
  EXPECT_EQ(v6.kind, Kind::Address);
  EXPECT_EQ(v6.host, "2001:db8:2::25");
}

TEST(NameDestination, NullMxAndNoSuchDomainGiveTheLiteral) {
  auto null_mx = name_destination(policy_of(TlsLevel::Verify), kDestination, plan_of(dns::MxPlan::Kind::NullMx), {});
  EXPECT_EQ(null_mx.kind, Kind::Address);
  EXPECT_EQ(null_mx.note, "example.org has a null MX: using the address itself");
  auto nx = name_destination(policy_of(TlsLevel::Verify), kDestination, plan_of(dns::MxPlan::Kind::NoSuchDomain), {});
  EXPECT_EQ(nx.kind, Kind::Address);
  EXPECT_EQ(nx.note, "example.org does not exist: using the address itself");
}

TEST(NameDestination, ATemporaryFailureIsUnknownWhenThePolicyNeedsTheName) {
  for (auto p : {policy_of(TlsLevel::Verify), policy_of(TlsLevel::MtaSts), policy_of(TlsLevel::Encrypt, {"*.example.org"}),
                 policy_of(TlsLevel::May, {"mx.example.org"})}) {
    auto mx_failed = name_destination(p, kDestination, plan_of(dns::MxPlan::Kind::Temporary, "SERVFAIL"), {});
    EXPECT_EQ(mx_failed.kind, Kind::Unknown) << to_string(p.level);
    EXPECT_EQ(mx_failed.note, "cannot tell the name of 203.0.113.25 now: the MX lookup of example.org failed: SERVFAIL");
    auto address_failed = name_destination(p, kDestination, hosts({"mx1.example.org", "mx2.example.org"}),
                                           {found("mx1.example.org", {ip("198.51.100.7")}), failed("mx2.example.org")});
    EXPECT_EQ(address_failed.kind, Kind::Unknown) << to_string(p.level);
  }
}

TEST(NameDestination, ATemporaryFailureGivesTheLiteralWhenThePolicyDoesNotLookAtNames) {
  for (auto p : {policy_of(TlsLevel::None), policy_of(TlsLevel::May), policy_of(TlsLevel::Encrypt),
                 policy_of(TlsLevel::MtaSts, {"*.example.org"}, /*testing=*/true)}) {
    auto name = name_destination(p, kDestination, plan_of(dns::MxPlan::Kind::Temporary, "timeout"), {});
    EXPECT_EQ(name.kind, Kind::Address) << to_string(p.level);
    EXPECT_EQ(name.note, "the MX lookup of example.org failed: timeout: using the address itself");
  }
}

TEST(NameDestination, AMatchFoundDespiteAnotherHostsFailureNamesIt) {
  auto name = name_destination(policy_of(TlsLevel::Verify), kDestination, hosts({"mx1.example.org", "mx2.example.org"}),
                               {failed("mx1.example.org"), found("mx2.example.org", {kDestination})});
  EXPECT_EQ(name.kind, Kind::MxHost);
  EXPECT_EQ(name.host, "mx2.example.org");
}

TEST(NameDestination, AHostWithoutAddressesIsNoFailure) {
  auto name = name_destination(policy_of(TlsLevel::Verify), kDestination, hosts({"mx1.example.org"}),
                               {failed("mx1.example.org", dns::Status::NoData)});
  EXPECT_EQ(name.kind, Kind::Address);
}

}  // namespace
}  // namespace mxguard::outbound
