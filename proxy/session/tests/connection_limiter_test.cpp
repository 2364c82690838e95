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

using Clock = ConnectionLimiter::Clock;

TEST(ConnectionLimiter, RefusalsForCapacityAreNumberedUntilAConnectionIsAdmitted) {
  ConnectionLimiter limiter;
  EXPECT_EQ(limiter.acquire("a", 1, 5), Verdict::Admitted);
  EXPECT_EQ(limiter.acquire("b", 1, 5).refused, 1u);
  EXPECT_EQ(limiter.acquire("c", 1, 5).refused, 2u);
  auto third = limiter.acquire("a", 5, 1);
  EXPECT_EQ(third.verdict, Verdict::TooManyFromAddress);
  EXPECT_EQ(third.refused, 3u) << "every kind of capacity refusal counts in the same run";
  limiter.release("a");
  EXPECT_EQ(limiter.acquire("b", 1, 5).refused, 0u);
  limiter.release("b");
  EXPECT_EQ(limiter.acquire("x", 1, 5), Verdict::Admitted);
  EXPECT_EQ(limiter.acquire("y", 1, 5).refused, 1u) << "an admitted connection ends the run";
}

TEST(ConnectionLimiterPenalty, APenalizedAddressIsRefusedUntilThePenaltyEndsAndOthersAreNot) {
  ConnectionLimiter limiter;
  Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(1);
  ASSERT_TRUE(limiter.penalize("192.0.2.1", t0 + std::chrono::seconds(60), t0));
  auto first = limiter.acquire("192.0.2.1", 10, 5, t0);
  EXPECT_EQ(first.verdict, Verdict::Penalized);
  EXPECT_EQ(first.refused, 1u);
  EXPECT_EQ(limiter.acquire("192.0.2.1", 10, 5, t0 + std::chrono::seconds(59)).refused, 2u);
  EXPECT_EQ(limiter.acquire("192.0.2.2", 10, 5, t0), Verdict::Admitted);
  EXPECT_EQ(limiter.active(), 1u) << "a refused connection takes no slot";
  EXPECT_EQ(limiter.acquire("192.0.2.1", 10, 5, t0 + std::chrono::seconds(60)), Verdict::Admitted);
  EXPECT_EQ(limiter.penalized(), 0u) << "an expired penalty is forgotten";
}

TEST(ConnectionLimiterPenalty, APenaltyOnANetworkRefusesEveryAddressInItAndCountsEachAddressApart) {
  ConnectionLimiter limiter;
  Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(1);
  ASSERT_TRUE(limiter.penalize("2001:db8:1:2::/64", t0 + std::chrono::seconds(60), t0));
  EXPECT_EQ(limiter.acquire("2001:db8:1:2::9", "2001:db8:1:2::/64", 10, 5, t0), Verdict::Penalized);
  EXPECT_EQ(limiter.acquire("2001:db8:1:2::a", "2001:db8:1:2::/64", 10, 5, t0).refused, 2u)
      << "one count for the network";
  EXPECT_EQ(limiter.acquire("2001:db8:1:3::9", "2001:db8:1:3::/64", 10, 5, t0), Verdict::Admitted);
  // The per-address limit still counts addresses, not networks.
  EXPECT_EQ(limiter.acquire("2001:db8:1:3::a", "2001:db8:1:3::/64", 10, 1, t0), Verdict::Admitted);
  EXPECT_EQ(limiter.acquire("2001:db8:1:3::a", "2001:db8:1:3::/64", 10, 1, t0), Verdict::TooManyFromAddress);
}

TEST(ConnectionLimiterPenalty, ALaterPenaltyExtendsAnEarlierOneNeverShortensIt) {
  ConnectionLimiter limiter;
  Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(1);
  limiter.penalize("a", t0 + std::chrono::seconds(60), t0);
  limiter.penalize("a", t0 + std::chrono::seconds(10), t0);
  EXPECT_EQ(limiter.acquire("a", 10, 5, t0 + std::chrono::seconds(30)), Verdict::Penalized);
  limiter.penalize("a", t0 + std::chrono::seconds(120), t0);
  EXPECT_EQ(limiter.acquire("a", 10, 5, t0 + std::chrono::seconds(90)), Verdict::Penalized);
  EXPECT_EQ(limiter.acquire("a", 10, 5, t0 + std::chrono::seconds(120)), Verdict::Admitted);
}

TEST(ConnectionLimiterPenalty, TheTableIsBoundedAndExpiredEntriesMakeRoom) {
  ConnectionLimiter limiter;
  Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(1);
  for (std::size_t i = 0; i < ConnectionLimiter::kMaxPenalized; ++i) {
    ASSERT_TRUE(limiter.penalize("2001:db8::" + std::to_string(i), t0 + std::chrono::seconds(60), t0));
  }
  EXPECT_FALSE(limiter.penalize("192.0.2.9", t0 + std::chrono::seconds(60), t0)) << "full";
  EXPECT_EQ(limiter.penalized(), ConnectionLimiter::kMaxPenalized);
  // Once they expire, the next penalty sweeps them away and is recorded.
  EXPECT_TRUE(limiter.penalize("192.0.2.9", t0 + std::chrono::seconds(200), t0 + std::chrono::seconds(61)));
  EXPECT_EQ(limiter.penalized(), 1u);
  EXPECT_EQ(limiter.acquire("192.0.2.9", 10, 5, t0 + std::chrono::seconds(100)), Verdict::Penalized);
}

}  // namespace
}  // namespace mxguard::session
