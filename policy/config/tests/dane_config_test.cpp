// The DANE levels (RFC 7672) and [dns] trust_ad: where each level may be written, and the warning when
// DANE is configured behind a resolver whose AD bit is not believed.
#include <gtest/gtest.h>

#include <string>

#include "policy/config/tests/load_helpers.h"

namespace mxguard::config {
namespace {

using testing::load_error;
using testing::load_ok;

// proxy-v2: no warning of its own, so the tests see only theirs.
constexpr const char* kMinimal = "[inbound]\nbackend = \"127.0.0.1:2525\"\nbackend_protocol = \"proxy-v2\"\n";
constexpr const char* kOutbound = "[outbound]\nlisten = [\"127.0.0.1:10025\"]\n";

TEST(DaneLevels, DaneIsADefaultDaneOnlyIsNot) {
  EXPECT_EQ(load_ok(std::string(kMinimal) + "[policy]\ndefault = \"dane\"\n").policy.default_level, TlsLevel::Dane);
  for (const char* level : {"dane-only", "mta-sts"}) {
    ConfigError e = load_error(std::string(kMinimal) + "[policy]\ndefault = \"" + level + "\"\n");
    EXPECT_EQ(e.key, "policy.default");
    EXPECT_EQ(e.message, "\"" + std::string(level) +
                             "\" is not one of none, may, encrypt, verify, dane (it would refuse every domain that "
                             "publishes no such policy: use it in a [policy.domain] entry)");
  }
}

TEST(DaneLevels, EveryLevelIsAnEntry) {
  ConfigError e = load_error(std::string(kMinimal) + "[policy.domain.\"example.org\"]\nlevel = \"dane_only\"\n");
  EXPECT_EQ(e.to_string(), "mxguard.toml:5: policy.domain.\"example.org\".level: \"dane_only\" is not one of none, may, "
                           "encrypt, verify, mta-sts, dane, dane-only");
  Config c = load_ok(std::string(kMinimal) + "[policy.domain.\"example.org\"]\nlevel = \"dane-only\"\n");
  EXPECT_EQ(c.policy.domains.at(0).second.level, TlsLevel::DaneOnly);
}

TEST(TrustAd, OffByDefault) {
  Config c = load_ok(kMinimal);
  EXPECT_FALSE(c.dns.trust_ad);
  EXPECT_TRUE(load_ok(std::string(kMinimal) + "[dns]\ntrust_ad = true\n").dns.trust_ad);
  ConfigError e = load_error(std::string(kMinimal) + "[dns]\ntrust_ad = \"yes\"\n");
  EXPECT_EQ(e.key, "dns.trust_ad");
}

TEST(TrustAd, DaneBehindARemoteResolverIsWarnedAbout) {
  const std::string dane = std::string(kMinimal) + kOutbound + "[policy]\ndefault = \"dane\"\n";
  Config c = load_ok(dane + "[dns]\nservers = [\"127.0.0.1:53\", \"192.0.2.53:53\"]\n");
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("mxguard.toml:9: dns.servers[1]: \"192.0.2.53:53\" is not on loopback and trust_ad is "
                               "false: its AD bit is not believed, so DANE never applies"),
            std::string::npos)
      << c.warnings[0];
  // Believed: loopback only, or trust_ad.
  EXPECT_TRUE(load_ok(dane + "[dns]\nservers = [\"127.0.0.1:53\", \"[::1]:53\"]\n").warnings.empty());
  EXPECT_TRUE(load_ok(dane + "[dns]\nservers = [\"192.0.2.53:53\"]\ntrust_ad = true\n").warnings.empty());
  // No DANE level anywhere: nothing to warn about.
  EXPECT_TRUE(load_ok(std::string(kMinimal) + kOutbound + "[dns]\nservers = [\"192.0.2.53:53\"]\n").warnings.empty());
  // A DANE entry is enough.
  Config entry = load_ok(std::string(kMinimal) + kOutbound + "[policy.domain.\"example.org\"]\nlevel = \"dane-only\"\n" +
                         "[dns]\nservers = [\"192.0.2.53:53\"]\n");
  EXPECT_EQ(entry.warnings.size(), 1u);
}

}  // namespace
}  // namespace mxguard::config
