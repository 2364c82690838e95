// Whose AD bit is believed: loopback resolvers, or any when the operator says so.
#include "policy/dns/ad_trust.h"

#include <gtest/gtest.h>

namespace mxguard::dns {
namespace {

TEST(AdTrust, LoopbackOnlyUnlessTheOperatorVouches) {
  EXPECT_TRUE(ad_bit_trusted({"127.0.0.1"}, false));
  EXPECT_TRUE(ad_bit_trusted({"127.0.0.53", "::1"}, false));
  EXPECT_FALSE(ad_bit_trusted({"127.0.0.1", "192.0.2.53"}, false));
  EXPECT_FALSE(ad_bit_trusted({"192.0.2.53"}, false));
  EXPECT_TRUE(ad_bit_trusted({"192.0.2.53"}, true));
  EXPECT_FALSE(ad_bit_trusted({}, false));   // nothing known about the servers
  EXPECT_TRUE(ad_bit_trusted({}, true));
  EXPECT_FALSE(ad_bit_trusted({"localhost"}, false));   // not an address
}

}  // namespace
}  // namespace mxguard::dns
