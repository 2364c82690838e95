// The MTA-STS cache's rules (RFC 8461 §5.1, §10.2). Each test is one rule that some implementation got
// wrong; the policies are built by hand, the clock is a parameter.
#include "policy/mta_sts/cache.h"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <string>
#include <vector>

namespace mxguard::mta_sts {
namespace {

using std::chrono::seconds;
using Names = std::vector<std::string>;

constexpr std::uint32_t kDay = 86400;
const Seconds kT0{seconds{1'700'000'000}};

CachedPolicy policy(std::string domain, std::string id, Seconds fetched_at, Mode mode = Mode::Enforce,
                    std::uint32_t max_age = kDay) {
  Policy p;
  p.mode = mode;
  const char* mode_name = mode == Mode::Enforce ? "enforce" : mode == Mode::Testing ? "testing" : "none";
  p.text = std::string("version: STSv1\nmode: ") + mode_name + "\n";
  if (mode != Mode::None) {
    p.mx = {"mx." + domain};
    p.text += "mx: mx." + domain + "\n";
  }
  p.max_age = max_age;
  p.text += "max_age: " + std::to_string(max_age) + "\n";
  return CachedPolicy{std::move(domain), std::move(id), fetched_at, std::move(p)};
}

Discovery published(std::string id) { return Discovery{Discovery::Kind::Published, std::move(id), ""}; }
Discovery none() { return Discovery{Discovery::Kind::None, "", ""}; }
Discovery invalid() { return Discovery{Discovery::Kind::Invalid, "", "2 records start with v=STSv1"}; }
Discovery servfail() { return Discovery{Discovery::Kind::Temporary, "", "SERVFAIL"}; }

Cache with(const CachedPolicy& p) {
  Cache cache;
  cache.store(p);
  return cache;
}

// --- DNS never removes a policy in force ---

TEST(CacheDiscovery, TxtServfailNeverRemovesOrReplacesThePolicyInForce) {
  const CachedPolicy stored = policy("example.com", "id1", kT0);
  Cache cache = with(stored);
  EXPECT_EQ(cache.after_discovery("example.com", servfail(), kT0 + seconds{3600}), Next::UsePolicy);
  ASSERT_NE(cache.in_force("example.com", kT0 + seconds{3600}), nullptr);
  EXPECT_EQ(*cache.in_force("example.com", kT0 + seconds{3600}), stored);
  EXPECT_EQ(cache.entries(), std::vector<CachedPolicy>{stored});
}

TEST(CacheDiscovery, NoRecordNeverRemovesThePolicyInForce) {
  const CachedPolicy stored = policy("example.com", "id1", kT0);
  Cache cache = with(stored);
  EXPECT_EQ(cache.after_discovery("example.com", none(), kT0 + seconds{kDay - 1}), Next::UsePolicy);
  EXPECT_EQ(cache.entries(), std::vector<CachedPolicy>{stored});
}

TEST(CacheDiscovery, InvalidRecordsNeverRemoveThePolicyInForce) {
  const CachedPolicy stored = policy("example.com", "id1", kT0);
  Cache cache = with(stored);
  EXPECT_EQ(cache.after_discovery("example.com", invalid(), kT0 + seconds{60}), Next::UsePolicy);
  EXPECT_EQ(cache.entries(), std::vector<CachedPolicy>{stored});
}

TEST(CacheDiscovery, NoRecordOrServfailNeverKeepsAPolicyPastItsExpiry) {
  Cache cache = with(policy("example.com", "id1", kT0));
  const Seconds expired = kT0 + seconds{kDay};
  EXPECT_EQ(cache.after_discovery("example.com", servfail(), expired), Next::NoPolicy);
  EXPECT_EQ(cache.after_discovery("example.com", none(), expired), Next::NoPolicy);
  EXPECT_EQ(cache.after_discovery("example.com", invalid(), expired), Next::NoPolicy);
}

TEST(CacheDiscovery, ServfailWithNothingCachedIsNoPolicy) {
  Cache cache;
  EXPECT_EQ(cache.after_discovery("example.com", servfail(), kT0), Next::NoPolicy);
  EXPECT_EQ(cache.after_discovery("example.com", none(), kT0), Next::NoPolicy);
  EXPECT_EQ(cache.after_discovery("example.com", invalid(), kT0), Next::NoPolicy);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(CacheDiscovery, PublishedWithNothingCachedIsFetch) {
  Cache cache;
  EXPECT_EQ(cache.after_discovery("example.com", published("id1"), kT0), Next::Fetch);
}

// --- the id and max_age ---

TEST(CacheExpiry, AnUnchangedIdNeverExtendsAnExpiredPolicy) {
  Cache cache = with(policy("example.com", "id1", kT0));
  EXPECT_NE(cache.in_force("example.com", kT0 + seconds{kDay - 1}), nullptr);
  EXPECT_EQ(cache.in_force("example.com", kT0 + seconds{kDay}), nullptr);
  EXPECT_EQ(cache.after_discovery("example.com", published("id1"), kT0 + seconds{kDay}), Next::Fetch);
  EXPECT_EQ(cache.after_discovery("example.com", published("id1"), kT0 + seconds{10 * kDay}), Next::Fetch);
}

TEST(CacheExpiry, ANewIdWithAPolicyInForceFetchesWhileTheOldPolicyStays) {
  const CachedPolicy old = policy("example.com", "id1", kT0);
  Cache cache = with(old);
  const Seconds now = kT0 + seconds{60};
  EXPECT_EQ(cache.after_discovery("example.com", published("id2"), now), Next::UsePolicyAndFetch);
  ASSERT_NE(cache.in_force("example.com", now), nullptr);
  EXPECT_EQ(*cache.in_force("example.com", now), old);

  const CachedPolicy fresh = policy("example.com", "id2", now);
  cache.store(fresh);
  EXPECT_EQ(*cache.in_force("example.com", now), fresh);
  EXPECT_EQ(cache.after_discovery("example.com", published("id2"), now), Next::UsePolicy);
}

TEST(CacheExpiry, AFailedRefreshKeepsThePolicyUntilItsOwnExpiry) {
  const CachedPolicy stored = policy("example.com", "id1", kT0);
  Cache cache = with(stored);
  cache.fetch_failed("example.com", kT0 + seconds{kDay * 3 / 4});
  EXPECT_NE(cache.in_force("example.com", kT0 + seconds{kDay * 3 / 4}), nullptr);
  EXPECT_NE(cache.in_force("example.com", kT0 + seconds{kDay - 1}), nullptr);
  EXPECT_EQ(cache.in_force("example.com", kT0 + seconds{kDay}), nullptr);
  EXPECT_EQ(cache.entries(), std::vector<CachedPolicy>{stored});
}

TEST(CacheExpiry, AStoredModeNonePolicyReplacesAnOlderEnforcePolicy) {
  Cache cache = with(policy("example.com", "id1", kT0));
  const CachedPolicy removal = policy("example.com", "id2", kT0 + seconds{60}, Mode::None);
  cache.store(removal);
  ASSERT_NE(cache.in_force("example.com", kT0 + seconds{60}), nullptr);
  EXPECT_EQ(cache.in_force("example.com", kT0 + seconds{60})->policy.mode, Mode::None);
  EXPECT_EQ(cache.entries(), std::vector<CachedPolicy>{removal});
}

TEST(CacheExpiry, TheLastStoreWinsEvenWithAnEarlierFetchedAt) {
  Cache cache = with(policy("example.com", "id1", kT0 + seconds{3600}));
  const CachedPolicy earlier = policy("example.com", "id2", kT0);
  cache.store(earlier);
  EXPECT_EQ(cache.entries(), std::vector<CachedPolicy>{earlier});
}

// --- retry_after ---

TEST(CacheRetry, NoFetchWithinRetryAfterOfAFailureThenFetchAgain) {
  Cache cache;   // retry_after 300 s by default
  cache.fetch_failed("example.com", kT0);
  EXPECT_EQ(cache.after_discovery("example.com", published("id1"), kT0), Next::NoPolicy);
  EXPECT_EQ(cache.after_discovery("example.com", published("id1"), kT0 + seconds{299}), Next::NoPolicy);
  EXPECT_EQ(cache.after_discovery("example.com", published("id1"), kT0 + seconds{300}), Next::Fetch);
}

TEST(CacheRetry, NoBackgroundFetchWithinRetryAfterWhileAPolicyIsInForce) {
  Cache cache = with(policy("example.com", "id1", kT0));
  const Seconds failed = kT0 + seconds{100};
  cache.fetch_failed("example.com", failed);
  EXPECT_EQ(cache.after_discovery("example.com", published("id2"), failed + seconds{299}), Next::UsePolicy);
  EXPECT_EQ(cache.after_discovery("example.com", published("id2"), failed + seconds{300}),
            Next::UsePolicyAndFetch);
}

TEST(CacheRetry, NoProactiveRefreshWithinRetryAfter) {
  Cache cache = with(policy("example.com", "id1", kT0));
  const Seconds due = kT0 + seconds{kDay * 3 / 4};
  ASSERT_EQ(cache.due_for_refresh(due), Names{"example.com"});
  cache.fetch_failed("example.com", due);
  EXPECT_EQ(cache.due_for_refresh(due + seconds{299}), Names{});
  EXPECT_EQ(cache.after_discovery("example.com", published("id1"), due + seconds{299}), Next::UsePolicy);
  EXPECT_EQ(cache.due_for_refresh(due + seconds{300}), Names{"example.com"});
}

TEST(CacheRetry, RetryAfterIsAnOption) {
  Cache cache(Cache::Options{.retry_after = seconds{60}});
  cache.fetch_failed("example.com", kT0);
  EXPECT_EQ(cache.after_discovery("example.com", published("id1"), kT0 + seconds{59}), Next::NoPolicy);
  EXPECT_EQ(cache.after_discovery("example.com", published("id1"), kT0 + seconds{60}), Next::Fetch);
}

TEST(CacheRetry, ConsecutiveFailuresAreCountedUntilAPolicyIsStored) {
  Cache cache = with(policy("example.com", "id1", kT0));
  EXPECT_EQ(cache.consecutive_failures("example.com"), 0u);
  cache.fetch_failed("example.com", kT0 + seconds{1000});
  cache.fetch_failed("example.com", kT0 + seconds{2000});
  EXPECT_EQ(cache.consecutive_failures("example.com"), 2u);
  cache.store(policy("example.com", "id1", kT0 + seconds{3000}));
  EXPECT_EQ(cache.consecutive_failures("example.com"), 0u);
  EXPECT_EQ(cache.after_discovery("example.com", published("id2"), kT0 + seconds{3000}),
            Next::UsePolicyAndFetch);
}

// --- proactive refresh ---

TEST(CacheRefresh, DueFromThreeQuartersOfMaxAgePlusJitter) {
  Cache cache;
  cache.store(policy("example.com", "id1", kT0), seconds{600});
  const Seconds due = kT0 + seconds{kDay * 3 / 4 + 600};
  EXPECT_EQ(cache.due_for_refresh(due - seconds{1}), Names{});
  EXPECT_EQ(cache.after_discovery("example.com", published("id1"), due - seconds{1}), Next::UsePolicy);
  EXPECT_EQ(cache.due_for_refresh(due), Names{"example.com"});
  EXPECT_EQ(cache.after_discovery("example.com", published("id1"), due), Next::UsePolicyAndFetch);
  EXPECT_EQ(cache.due_for_refresh(kT0 + seconds{kDay - 1}), Names{"example.com"});
}

TEST(CacheRefresh, JitterIsClampedSoTheRefreshIsDueBeforeExpiry) {
  Cache cache;
  cache.store(policy("late.example", "id1", kT0), seconds{kDay});   // more than max_age: clamped to 1/8
  cache.store(policy("early.example", "id1", kT0), -seconds{kDay});   // negative: clamped to 0
  EXPECT_EQ(cache.due_for_refresh(kT0 + seconds{kDay * 3 / 4 - 1}), Names{});
  EXPECT_EQ(cache.due_for_refresh(kT0 + seconds{kDay * 3 / 4}), Names{"early.example"});
  EXPECT_EQ(cache.due_for_refresh(kT0 + seconds{kDay * 7 / 8}), (Names{"early.example", "late.example"}));
}

TEST(CacheRefresh, ExpiredPoliciesAreNotRefreshedProactively) {
  Cache cache = with(policy("example.com", "id1", kT0));
  EXPECT_EQ(cache.due_for_refresh(kT0 + seconds{kDay}), Names{});
}

TEST(CacheRefresh, ListsOnlyTheDueDomainsInOrder) {
  Cache cache;
  cache.store(policy("b.example", "id1", kT0));
  cache.store(policy("a.example", "id1", kT0));
  cache.store(policy("fresh.example", "id1", kT0 + seconds{kDay / 2}));
  EXPECT_EQ(cache.due_for_refresh(kT0 + seconds{kDay * 3 / 4}), (Names{"a.example", "b.example"}));
}

// --- the clock ---

TEST(CacheClock, ASmallStepBackKeepsThePolicyAndMakesItDueForRefresh) {
  Cache cache = with(policy("example.com", "id1", kT0));
  const Seconds stepped_back = kT0 - seconds{3600};
  EXPECT_NE(cache.in_force("example.com", stepped_back), nullptr);
  EXPECT_EQ(cache.due_for_refresh(stepped_back), Names{"example.com"});
  EXPECT_EQ(cache.after_discovery("example.com", published("id1"), stepped_back), Next::UsePolicyAndFetch);

  cache.store(policy("example.com", "id1", stepped_back));   // the refresh puts it back on the time line
  EXPECT_EQ(cache.due_for_refresh(stepped_back), Names{});
  EXPECT_NE(cache.in_force("example.com", stepped_back + seconds{kDay - 1}), nullptr);
}

TEST(CacheClock, APolicyFromFarInTheFutureIsNotInForce) {
  // fetched_at more than max_age ahead: a clock that was wrong when it was fetched, or a clock set back
  // by years. Keeping it would keep it for as long as the clock takes to catch up.
  Cache cache = with(policy("example.com", "id1", kT0 + seconds{365LL * kDay}));
  EXPECT_EQ(cache.in_force("example.com", kT0), nullptr);
  EXPECT_EQ(cache.after_discovery("example.com", published("id1"), kT0), Next::Fetch);
  EXPECT_EQ(cache.after_discovery("example.com", servfail(), kT0), Next::NoPolicy);
  EXPECT_EQ(cache.due_for_refresh(kT0), Names{});
}

TEST(CacheClock, AFailureNoteFromTheFutureHoldsBackFetchesOnlyForRetryAfter) {
  Cache cache;
  cache.fetch_failed("example.com", kT0 + seconds{365LL * kDay});
  EXPECT_EQ(cache.after_discovery("example.com", published("id1"), kT0), Next::Fetch);
  cache.fetch_failed("example.com", kT0 + seconds{100});   // clock then stepped back 100 s
  EXPECT_EQ(cache.after_discovery("example.com", published("id1"), kT0), Next::NoPolicy);
  EXPECT_EQ(cache.after_discovery("example.com", published("id1"), kT0 - seconds{200}), Next::Fetch);
}

TEST(CacheClock, ExtremeTimesNeitherOverflowNorKeepAPolicy) {
  const Seconds latest{seconds{std::numeric_limits<std::int64_t>::max()}};
  const Seconds earliest{seconds{std::numeric_limits<std::int64_t>::min()}};
  Cache cache;
  cache.store(policy("late.example", "id1", latest, Mode::Enforce, kMaxAgeLimit), seconds{kMaxAgeLimit});
  cache.store(policy("early.example", "id1", earliest, Mode::Enforce, kMaxAgeLimit));
  cache.fetch_failed("late.example", earliest);
  for (Seconds now : {earliest, kT0, latest}) {
    EXPECT_EQ(cache.in_force("early.example", now) != nullptr, now == earliest);
    EXPECT_EQ(cache.in_force("late.example", now) != nullptr, now == latest);
    cache.due_for_refresh(now);
    cache.after_discovery("late.example", published("id2"), now);
  }
  EXPECT_EQ(cache.drop_expired(kT0), 2u);
}

// --- names, purge, housekeeping ---

TEST(CacheNames, DomainsAreComparedWithoutCaseOrTrailingDot) {
  Cache cache = with(policy("Example.COM.", "id1", kT0));
  EXPECT_NE(cache.in_force("example.com", kT0), nullptr);
  EXPECT_NE(cache.in_force("EXAMPLE.com.", kT0), nullptr);
  EXPECT_EQ(cache.entries().at(0).domain, "example.com");
  EXPECT_EQ(cache.after_discovery("eXample.com", published("id1"), kT0), Next::UsePolicy);
}

TEST(CachePurge, EraseForgetsThePolicyAndTheFailureNote) {
  Cache cache = with(policy("example.com", "id1", kT0));
  cache.fetch_failed("example.com", kT0);
  EXPECT_TRUE(cache.erase("example.com"));
  EXPECT_EQ(cache.in_force("example.com", kT0), nullptr);
  EXPECT_EQ(cache.consecutive_failures("example.com"), 0u);
  EXPECT_EQ(cache.after_discovery("example.com", published("id1"), kT0), Next::Fetch);
  EXPECT_FALSE(cache.erase("example.com"));
}

TEST(CacheHousekeeping, DropExpiredKeepsWhatIsInForceAndTheFailureCountsItNeeds) {
  Cache cache;
  cache.store(policy("live.example", "id1", kT0));
  cache.store(policy("gone.example", "id1", kT0 - seconds{kDay}));
  cache.fetch_failed("live.example", kT0);
  cache.fetch_failed("never.example", kT0);
  cache.fetch_failed("recent.example", kT0 + seconds{500});
  EXPECT_EQ(cache.drop_expired(kT0 + seconds{600}), 1u);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.entries().at(0).domain, "live.example");
  EXPECT_EQ(cache.consecutive_failures("live.example"), 1u);
  EXPECT_EQ(cache.consecutive_failures("never.example"), 0u);
  EXPECT_EQ(cache.consecutive_failures("recent.example"), 1u);
  EXPECT_EQ(cache.after_discovery("recent.example", published("id1"), kT0 + seconds{600}), Next::NoPolicy);
}

TEST(CacheEntries, AreListedByDomain) {
  Cache cache;
  cache.store(policy("zeta.example", "id1", kT0));
  cache.store(policy("alpha.example", "id2", kT0));
  std::vector<CachedPolicy> all = cache.entries();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].domain, "alpha.example");
  EXPECT_EQ(all[1].domain, "zeta.example");
}

}  // namespace
}  // namespace mxguard::mta_sts
