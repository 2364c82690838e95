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

using Penalty = ConnectionLimiter::Penalty;
using Client = ConnectionLimiter::Client;
constexpr unsigned kInbound = 0, kOutbound = 1;

policy::IpAddress ip(const std::string& text) { return *policy::parse_ip(text); }
Client inbound(const std::string& text) { return {text, policy::parse_ip(text), kInbound}; }

// Every penalty test: a limiter of its own and a clock an hour past its epoch.
class ConnectionLimiterPenalty : public testing::Test {
 protected:
  ConnectionLimiter limiter;
  Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(1);
};

TEST_F(ConnectionLimiterPenalty, APenalizedAddressIsRefusedUntilThePenaltyEndsAndOthersAreNot) {
  ASSERT_EQ(limiter.penalize(kInbound, ip("192.0.2.1"), 32, t0 + std::chrono::seconds(60), t0), Penalty::Begun);
  auto first = limiter.acquire(inbound("192.0.2.1"), 10, 5, t0);
  EXPECT_EQ(first.verdict, Verdict::Penalized);
  EXPECT_EQ(first.refused, 1u);
  EXPECT_EQ(limiter.acquire(inbound("192.0.2.1"), 10, 5, t0 + std::chrono::seconds(59)).refused, 2u);
  EXPECT_EQ(limiter.acquire(inbound("192.0.2.2"), 10, 5, t0), Verdict::Admitted);
  EXPECT_EQ(limiter.active(), 1u) << "a refused connection takes no slot";
  EXPECT_EQ(limiter.acquire(inbound("192.0.2.1"), 10, 5, t0 + std::chrono::seconds(60)), Verdict::Admitted);
  EXPECT_EQ(limiter.penalized(), 0u) << "an expired penalty is forgotten";
}

TEST_F(ConnectionLimiterPenalty, APenaltyOnANetworkRefusesEveryAddressInItAndCountsEachAddressApart) {
  ASSERT_EQ(limiter.penalize(kInbound, ip("2001:db8:1:2::9"), 64, t0 + std::chrono::seconds(60), t0), Penalty::Begun);
  EXPECT_EQ(limiter.acquire(inbound("2001:db8:1:2::9"), 10, 5, t0), Verdict::Penalized);
  EXPECT_EQ(limiter.acquire(inbound("2001:db8:1:2:ffff::1"), 10, 5, t0).refused, 2u) << "one count for the network";
  EXPECT_EQ(limiter.acquire(inbound("2001:db8:1:3::9"), 10, 5, t0), Verdict::Admitted);
  // Another session of the same /64 ended meanwhile extends the penalty rather than beginning one.
  EXPECT_EQ(limiter.penalize(kInbound, ip("2001:db8:1:2::a"), 64, t0 + std::chrono::seconds(90), t0),
            Penalty::Extended);
  EXPECT_EQ(limiter.penalized(), 1u);
  EXPECT_EQ(limiter.acquire(inbound("2001:db8:1:2::b"), 10, 5, t0 + std::chrono::seconds(80)), Verdict::Penalized);
  // The per-address limit still counts addresses, not networks.
  EXPECT_EQ(limiter.acquire(inbound("2001:db8:1:3::a"), 10, 1, t0), Verdict::Admitted);
  EXPECT_EQ(limiter.acquire(inbound("2001:db8:1:3::a"), 10, 1, t0), Verdict::TooManyFromAddress);
}

TEST_F(ConnectionLimiterPenalty, PenaltiesGivenAtAnotherPrefixStayInForce) {
  // A reload that changes abuse_penalty_ipv6_prefix: the penalty given to the /64 still refuses its
  // addresses, and one given at the new /56 refuses the /56.
  limiter.penalize(kInbound, ip("2001:db8:1:2::9"), 64, t0 + std::chrono::seconds(60), t0);
  limiter.penalize(kInbound, ip("2001:db8:2:0::9"), 56, t0 + std::chrono::seconds(60), t0);
  EXPECT_EQ(limiter.acquire(inbound("2001:db8:1:2::1"), 10, 5, t0), Verdict::Penalized);
  EXPECT_EQ(limiter.acquire(inbound("2001:db8:1:3::1"), 10, 5, t0), Verdict::Admitted) << "outside the /64";
  EXPECT_EQ(limiter.acquire(inbound("2001:db8:2:ff::1"), 10, 5, t0), Verdict::Penalized) << "inside the /56";
  EXPECT_EQ(limiter.acquire(inbound("2001:db8:2:100::1"), 10, 5, t0), Verdict::Admitted);
  // IPv4 clients are not looked up in IPv6 networks and the other way round.
  limiter.penalize(kInbound, ip("192.0.2.7"), 24, t0 + std::chrono::seconds(60), t0);
  EXPECT_EQ(limiter.acquire(inbound("192.0.2.200"), 10, 5, t0), Verdict::Penalized);
  EXPECT_EQ(limiter.acquire(inbound("::c000:2c8"), 10, 5, t0), Verdict::Admitted);
}

TEST_F(ConnectionLimiterPenalty, APenaltyEarnedByOneDirectionDoesNotRefuseTheOther) {
  // The legacy MTA on the LAN's /64 sends outbound while a host of the same /64 misbehaved inbound.
  limiter.penalize(kInbound, ip("2001:db8:1:2::9"), 64, t0 + std::chrono::seconds(60), t0);
  EXPECT_EQ(limiter.acquire(Client{"2001:db8:1:2::25", ip("2001:db8:1:2::25"), kOutbound}, 10, 5, t0),
            Verdict::Admitted);
  EXPECT_EQ(limiter.acquire(Client{"2001:db8:1:2::25", ip("2001:db8:1:2::25"), kInbound}, 10, 5, t0),
            Verdict::Penalized);
  // A client with no IP address (a Unix socket) is never penalized.
  EXPECT_EQ(limiter.acquire(Client{"?", std::nullopt, kInbound}, 10, 5, t0), Verdict::Admitted);
}

TEST_F(ConnectionLimiterPenalty, ALaterPenaltyExtendsAnEarlierOneNeverShortensIt) {
  limiter.penalize(kInbound, ip("192.0.2.1"), 32, t0 + std::chrono::seconds(60), t0);
  limiter.penalize(kInbound, ip("192.0.2.1"), 32, t0 + std::chrono::seconds(10), t0);
  EXPECT_EQ(limiter.acquire(inbound("192.0.2.1"), 10, 5, t0 + std::chrono::seconds(30)), Verdict::Penalized);
  limiter.penalize(kInbound, ip("192.0.2.1"), 32, t0 + std::chrono::seconds(120), t0);
  EXPECT_EQ(limiter.acquire(inbound("192.0.2.1"), 10, 5, t0 + std::chrono::seconds(90)), Verdict::Penalized);
  EXPECT_EQ(limiter.acquire(inbound("192.0.2.1"), 10, 5, t0 + std::chrono::seconds(120)), Verdict::Admitted);
}

TEST_F(ConnectionLimiterPenalty, TheTableIsBoundedAndExpiredEntriesMakeRoom) {
  policy::IpAddress a = ip("2001:db8::");
  for (std::size_t i = 0; i < ConnectionLimiter::kMaxPenalized; ++i) {
    a.bytes[13] = static_cast<std::uint8_t>(i >> 16);
    a.bytes[14] = static_cast<std::uint8_t>(i >> 8);
    a.bytes[15] = static_cast<std::uint8_t>(i);
    ASSERT_EQ(limiter.penalize(kInbound, a, 128, t0 + std::chrono::seconds(60), t0), Penalty::Begun);
  }
  EXPECT_EQ(limiter.penalize(kInbound, ip("192.0.2.9"), 32, t0 + std::chrono::seconds(60), t0), Penalty::TableFull);
  EXPECT_EQ(limiter.penalized(), ConnectionLimiter::kMaxPenalized);
  // Once they expire, the next penalty sweeps them away and is recorded.
  EXPECT_EQ(limiter.penalize(kInbound, ip("192.0.2.9"), 32, t0 + std::chrono::seconds(200), t0 + std::chrono::seconds(61)),
            Penalty::Begun);
  EXPECT_EQ(limiter.penalized(), 1u);
  EXPECT_EQ(limiter.acquire(inbound("192.0.2.9"), 10, 5, t0 + std::chrono::seconds(100)), Verdict::Penalized);
  EXPECT_EQ(limiter.acquire(inbound("2001:db8::5"), 10, 5, t0 + std::chrono::seconds(100)), Verdict::Admitted)
      << "the swept kind is no longer searched";
}

}  // namespace
}  // namespace mxguard::session
