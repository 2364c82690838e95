// static_route: [outbound.route] by recipient domain.
#include "policy/engine/route.h"

#include <gtest/gtest.h>

namespace mxguard::policy {
namespace {

config::Outbound outbound() {
  config::Outbound o;
  o.routes = {{"partner.example", {"mx.partner.example", 2525, "mx.partner.example:2525"}},
              {"lab.example", {"192.0.2.10", 25, "192.0.2.10:25"}}};
  return o;
}

TEST(StaticRoute, FindsTheDomainsNextHop) {
  std::optional<config::Endpoint> hop = static_route("partner.example", outbound());
  ASSERT_TRUE(hop.has_value());
  EXPECT_EQ(hop->host, "mx.partner.example");
  EXPECT_EQ(hop->port, 2525);
  EXPECT_EQ(static_route("lab.example", outbound())->text, "192.0.2.10:25");
}

TEST(StaticRoute, IgnoresCaseAndTheTrailingDot) {
  EXPECT_TRUE(static_route("Partner.EXAMPLE.", outbound()).has_value());
}

TEST(StaticRoute, IsExactlyForTheDomain) {
  EXPECT_FALSE(static_route("mail.partner.example", outbound()).has_value());
  EXPECT_FALSE(static_route("example", outbound()).has_value());
  EXPECT_FALSE(static_route("other.example", outbound()).has_value());
  EXPECT_FALSE(static_route("", outbound()).has_value());
  EXPECT_FALSE(static_route("partner.example", config::Outbound{}).has_value());
}

}  // namespace
}  // namespace mxguard::policy
