// What a request means before any network: protocol violations (mxguard-fetch exits 2), refusals
// (answered Failed), the URL and the CURLOPT_RESOLVE entry it becomes, and which requests share a transfer.
#include <gtest/gtest.h>

#include "policy/fetcher/request_rules.h"

namespace mxguard::fetch {
namespace {

using namespace std::string_literals;

Request good() {
  Request q;
  q.id = 1;
  q.domain = "example.org";
  q.port = 443;
  q.addresses = {"192.0.2.1", "2001:db8::1"};
  q.ca_file = "/etc/ssl/certs/ca-certificates.crt";
  return q;
}

TEST(FetchRequestRules, AGoodRequestIsNeitherViolationNorRefusal) {
  EXPECT_EQ(request_violation(good()), "");
  EXPECT_EQ(request_refusal(good()), "");
}

TEST(FetchRequestRules, AddressesMustBeIpLiterals) {
  for (std::string bad : std::vector<std::string>{"mx.example.org", "[2001:db8::1]", "192.0.2.1:443", "192.0.2.1,192.0.2.2", "fe80::1%eth0",
                          "", " 192.0.2.1", "192.0.2.256", "192.0.2.1\0"s, "::ffff:192.0.2.1x"}) {
    Request q = good();
    q.addresses.push_back(bad);
    EXPECT_NE(request_violation(q), "") << bad;
  }
  Request q = good();
  q.addresses = {"127.0.0.1", "::1", "::ffff:192.0.2.1", "2001:DB8::A"};
  EXPECT_EQ(request_violation(q), "");
}

TEST(FetchRequestRules, PortCaFileAndTimeoutsMustBeUsable) {
  Request q = good();
  q.port = 0;
  EXPECT_NE(request_violation(q), "");
  q = good();
  q.ca_file = "";
  EXPECT_NE(request_violation(q), "");
  q.ca_file = "/etc/ssl/ca.pem\0/other"s;
  EXPECT_NE(request_violation(q), "");
  q = good();
  q.connect_timeout_ms = 0;
  EXPECT_NE(request_violation(q), "");
  q = good();
  q.total_timeout_ms = 0;
  EXPECT_NE(request_violation(q), "");
}

TEST(FetchRequestRules, NoAddressesIsARefusalNotAViolation) {
  Request q = good();
  q.addresses.clear();
  EXPECT_EQ(request_violation(q), "");
  EXPECT_EQ(request_refusal(q), "no addresses for mta-sts.example.org");
}

TEST(FetchRequestRules, ADomainThatIsNoHostNameIsRefused) {
  for (std::string bad : std::vector<std::string>{"", "example.org.", "exa mple.org", "example.org:444", "a/b.org", "a,b.org", "a..org",
                          "_mta-sts.example.org", "ex\nample.org", "b\xc3\xbc.example", std::string(250, 'a')}) {
    Request q = good();
    q.domain = bad;
    EXPECT_EQ(request_violation(q), "") << bad;
    std::string why = request_refusal(q);
    EXPECT_NE(why, "") << bad;
    for (char c : why) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "refusal text goes to the log: " << why;
  }
  Request q = good();
  q.domain = "Example.ORG";
  EXPECT_EQ(request_refusal(q), "");
}

TEST(FetchRequestRules, UrlLeavesOutTheDefaultPort) {
  EXPECT_EQ(policy_url("example.org", 443), "https://mta-sts.example.org/.well-known/mta-sts.txt");
  EXPECT_EQ(policy_url("example.org", 8443), "https://mta-sts.example.org:8443/.well-known/mta-sts.txt");
  EXPECT_EQ(policy_host("example.org"), "mta-sts.example.org");
}

TEST(FetchRequestRules, ResolveEntryBracketsIpv6) {
  std::vector<std::string> addresses = {"192.0.2.1", "2001:db8::1", "::1"};
  EXPECT_EQ(resolve_entry("example.org", 8443, addresses), "mta-sts.example.org:8443:192.0.2.1,[2001:db8::1],[::1]");
  EXPECT_EQ(resolve_entry("example.org", 443, std::vector<std::string>{"127.0.0.1"}), "mta-sts.example.org:443:127.0.0.1");
}

TEST(FetchRequestRules, SameQuestionIgnoresOnlyTheId) {
  Request a = good();
  Request b = good();
  b.id = 99;
  EXPECT_TRUE(same_question(a, b));
  auto differs = [&](auto change) {
    Request c = good();
    change(c);
    return !same_question(a, c);
  };
  EXPECT_TRUE(differs([](Request& c) { c.domain = "example.net"; }));
  EXPECT_TRUE(differs([](Request& c) { c.port = 8443; }));
  EXPECT_TRUE(differs([](Request& c) { c.addresses.pop_back(); }));
  EXPECT_TRUE(differs([](Request& c) { c.ca_file = "/other.pem"; }));
  EXPECT_TRUE(differs([](Request& c) { c.connect_timeout_ms = 1; }));
  EXPECT_TRUE(differs([](Request& c) { c.total_timeout_ms = 1; }));
}

}  // namespace
}  // namespace mxguard::fetch
