#include "proxy/session/connection_limiter.h"

#include <gtest/gtest.h>

namespace mxguard::session {
namespace {

using Verdict = ConnectionLimiter::Verdict;

TEST(ConnectionLimiter, PerAddressLimitLeavesOtherAddressesAlone) {
  ConnectionLimiter limiter;
  EXPECT_EQ(limiter.acquire("192.0.2.1", 10, 2), Verdict::Admitted);
  EXPECT_EQ(limiter.acquire("192.0.2.1", 10, 2), Verdict::Admitted);
  EXPECT_EQ(limiter.acquire("192.0.2.1", 10, 2), Verdict::TooManyFromAddress);
  EXPECT_EQ(limiter.acquire("192.0.2.2", 10, 2), Verdict::Admitted);
  EXPECT_EQ(limiter.active(), 3u);
}

TEST(ConnectionLimiter, TotalLimitCountsEveryAddress) {
  ConnectionLimiter limiter;
  EXPECT_EQ(limiter.acquire("a", 2, 5), Verdict::Admitted);
  EXPECT_EQ(limiter.acquire("b", 2, 5), Verdict::Admitted);
  EXPECT_EQ(limiter.acquire("c", 2, 5), Verdict::TooManyTotal);
  limiter.release("a");
  EXPECT_EQ(limiter.acquire("c", 2, 5), Verdict::Admitted);
}

TEST(ConnectionLimiter, ReleaseFreesTheSlotAndForgetsIdleAddresses) {
  ConnectionLimiter limiter;
  EXPECT_EQ(limiter.acquire("a", 0, 1), Verdict::Admitted);
  EXPECT_EQ(limiter.acquire("a", 0, 1), Verdict::TooManyFromAddress);
  limiter.release("a");
  EXPECT_EQ(limiter.active(), 0u);
  EXPECT_EQ(limiter.acquire("a", 0, 1), Verdict::Admitted);
  limiter.release("unknown");   // never acquired: ignored, counts unchanged
  EXPECT_EQ(limiter.active(), 1u);
}

TEST(ConnectionLimiter, ZeroMeansUnlimited) {
  ConnectionLimiter limiter;
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(limiter.acquire("a", 0, 0), Verdict::Admitted);
  EXPECT_EQ(limiter.active(), 1000u);
}

}  // namespace
}  // namespace mxguard::session
