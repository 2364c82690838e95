// [outbound.route]: "domain" = "host:port" next hops.
#include <gtest/gtest.h>

#include <string>

#include "policy/config/config_loader.h"
#include "policy/config/tests/load_helpers.h"

namespace mxguard::config {
namespace {

using testing::kFile;
using testing::load_error;
using testing::load_ok;

constexpr const char* kMinimal = "[inbound]\nbackend = \"127.0.0.1:2525\"\n[outbound.route]\n";   // routes from line 4

TEST(Routes, NoneByDefault) {
  EXPECT_TRUE(load_ok("[inbound]\nbackend = \"127.0.0.1:2525\"\n").outbound.routes.empty());
  EXPECT_TRUE(load_ok(kMinimal).outbound.routes.empty());
}

TEST(Routes, AreKeptInFileOrderWithLowerCasedDomains) {
  Config c = load_ok(std::string(kMinimal) + "\"Zeta.Example\" = \"mx.zeta.example:2525\"\n"
                                             "\"alpha.example\" = \"[2001:db8::25]:25\"\n"
                                             "\"legacy\" = \"192.0.2.25:25\"\n");
  ASSERT_EQ(c.outbound.routes.size(), 3u);
  EXPECT_EQ(c.outbound.routes[0].first, "zeta.example");
  EXPECT_EQ(c.outbound.routes[0].second.host, "mx.zeta.example");
  EXPECT_EQ(c.outbound.routes[0].second.port, 2525);
  EXPECT_EQ(c.outbound.routes[1].first, "alpha.example");
  EXPECT_EQ(c.outbound.routes[1].second.host, "2001:db8::25");
  EXPECT_EQ(c.outbound.routes[2].second.text, "192.0.2.25:25");
}

TEST(Routes, TheNextHopIsAnAddressWithAPort) {
  ConfigError e = load_error(std::string(kMinimal) + "\"partner.example\" = \"mx.partner.example\"\n");
  EXPECT_EQ(e.to_string(),
            "mxguard.toml:4: outbound.route.\"partner.example\": \"mx.partner.example\" is not a valid address: a port "
            "is required, e.g. \"127.0.0.1:25\"");
  ConfigError number = load_error(std::string(kMinimal) + "\"partner.example\" = 2525\n");
  EXPECT_EQ(number.message, "expected the next hop as a string (\"host:port\"), got an integer");
}

TEST(Routes, KeysAreDomainNames) {
  ConfigError spaced = load_error(std::string(kMinimal) + "\"not a domain\" = \"mx.example:25\"\n");
  EXPECT_EQ(spaced.key, "outbound.route.\"not a domain\"");
  EXPECT_NE(spaced.message.find("\"not a domain\" is not a domain name: it contains \" \""), std::string::npos) << spaced.message;
  ConfigError address = load_error(std::string(kMinimal) + "\"192.0.2.1\" = \"mx.example:25\"\n");
  EXPECT_EQ(address.message, "\"192.0.2.1\" is not a domain name: it looks like an IP address");
}

TEST(Routes, TheSameDomainTwiceIsRefused) {
  ConfigError e = load_error(std::string(kMinimal) + "\"partner.example\" = \"a.example:25\"\n\"Partner.Example\" = \"b.example:25\"\n");
  EXPECT_EQ(e.line, 5);
  EXPECT_EQ(e.key, "outbound.route.\"Partner.Example\"");
  EXPECT_EQ(e.message, "\"partner.example\" is routed twice (domain names are case-insensitive)");
}

TEST(Routes, UnquotedDomainsGetAHint) {
  ConfigError e = load_error(std::string(kMinimal) + "partner.example = \"mx.partner.example:25\"\n");
  EXPECT_EQ(e.to_string(),
            "mxguard.toml:4: outbound.route.partner: a domain name with dots must be quoted: \"partner.example\" = "
            "\"host:port\"");
}

TEST(Routes, MustBeATable) {
  ConfigError e = load_error("[inbound]\nbackend = \"127.0.0.1:2525\"\n[outbound]\nroute = \"mx.example:25\"\n");
  EXPECT_EQ(e.to_string(),
            "mxguard.toml:4: outbound.route: expected a table ([outbound.route]) of \"domain\" = \"host:port\", got a "
            "string");
}

TEST(Routes, ANextHopThatIsMxguardItselfIsRefused) {
  ConfigError own = load_error("[inbound]\nbackend = \"127.0.0.1:2525\"\n[outbound]\nlisten = [\"127.0.0.1:10025\"]\n"
                               "[outbound.route]\n\"loop.example\" = \"127.0.0.1:10025\"\n");
  EXPECT_EQ(own.to_string(),
            "mxguard.toml:6: outbound.route.\"loop.example\": \"127.0.0.1:10025\" is mxguard's own listener "
            "outbound.listen[0]: the mail would come straight back");
  ConfigError wildcard = load_error(std::string(kMinimal) + "\"Loop.Example\" = \"localhost:25\"\n");
  EXPECT_EQ(wildcard.key, "outbound.route.\"Loop.Example\"");
  EXPECT_NE(wildcard.message.find("mxguard's own listener inbound.listen[0]"), std::string::npos) << wildcard.message;
  EXPECT_EQ(load_ok(std::string(kMinimal) + "\"partner.example\" = \"127.0.0.1:2526\"\n").outbound.routes.size(), 1u);
}

}  // namespace
}  // namespace mxguard::config
