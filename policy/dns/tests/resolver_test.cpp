// The resolver against a real validating DNS server (unbound on loopback, started by
// tests/fixtures/dns_server.py with the zones in tests/zones/): what each kind of answer becomes.
#include <gtest/gtest.h>

#include <set>

#include "policy/dns/mx_plan.h"
#include "policy/dns/resolver.h"
#include "policy/dns/tests/resolver_fixture.h"

namespace mxguard::dns {
namespace {

using namespace testing_support;
using Strings = std::vector<std::string>;

class ResolverLookup : public LoopTest {
 protected:
  void SetUp() override {
    LoopTest::SetUp();
    live();
  }
};

TEST_F(ResolverLookup, MxWithSeveralPreferences) {
  MxResult r = mx("mx.test");
  ASSERT_EQ(to_string(r.status), "ok");
  EXPECT_TRUE(r.authenticated_data);   // signed zone, validated by unbound, AD asked for
  std::vector<std::pair<int, std::string>> got;
  for (const auto& rec : r.records) got.emplace_back(rec.preference, rec.host);
  EXPECT_EQ(sorted(got), (std::vector<std::pair<int, std::string>>{
                             {10, "mx1.mx.test"}, {20, "mx2.mx.test"}, {20, "mx3.mx.test"}, {30, "MX4.mx.test"}}));

  MxPlan plan = plan_mx(r, "mx.test", system_random_index());
  ASSERT_EQ(plan.kind, MxPlan::Kind::Hosts);
  ASSERT_EQ(plan.hosts.size(), 4u);
  EXPECT_EQ(plan.hosts[0], "mx1.mx.test");
  EXPECT_EQ(sorted(Strings(plan.hosts.begin() + 1, plan.hosts.begin() + 3)), (Strings{"mx2.mx.test", "mx3.mx.test"}));
  EXPECT_EQ(plan.hosts[3], "mx4.mx.test");
  EXPECT_TRUE(plan.authenticated_data);
}

TEST_F(ResolverLookup, NamesAreCaseInsensitiveAndMayEndInADot) {
  EXPECT_EQ(mx("MX.Test.").records.size(), 4u);
}

TEST_F(ResolverLookup, NoMxIsNoDataAndPlansTheImplicitMx) {
  MxResult r = mx("nomx.mx.test");
  EXPECT_EQ(to_string(r.status), "no-data");
  EXPECT_TRUE(r.authenticated_data);   // an authenticated denial (NSEC)
  MxPlan plan = plan_mx(r, "nomx.mx.test", system_random_index());
  ASSERT_EQ(plan.kind, MxPlan::Kind::ImplicitMx);
  EXPECT_EQ(plan.hosts, Strings{"nomx.mx.test"});
  EXPECT_EQ(texts(addresses(plan.hosts[0])), Strings{"127.0.0.5"});
}

TEST_F(ResolverLookup, NxDomain) {
  MxResult r = mx("nope.mx.test");
  EXPECT_EQ(to_string(r.status), "nxdomain");
  EXPECT_TRUE(r.authenticated_data);
  EXPECT_EQ(plan_mx(r, "nope.mx.test", system_random_index()).kind, MxPlan::Kind::NoSuchDomain);
  EXPECT_EQ(to_string(addresses("nope.mx.test").status), "nxdomain");
  EXPECT_EQ(to_string(txt("nope.mx.test").status), "nxdomain");
}

TEST_F(ResolverLookup, NullMx) {
  MxResult r = mx("nullmx.mx.test");
  ASSERT_EQ(to_string(r.status), "ok");
  EXPECT_EQ(r.records, (std::vector<MxRecord>{{0, ""}}));
  EXPECT_EQ(plan_mx(r, "nullmx.mx.test", system_random_index()).kind, MxPlan::Kind::NullMx);
}

TEST_F(ResolverLookup, MxThroughCname) {
  MxResult r = mx("cname-mx.mx.test");
  ASSERT_EQ(to_string(r.status), "ok");
  EXPECT_EQ(r.records, (std::vector<MxRecord>{{5, "mx1.mx.test"}}));
}

TEST_F(ResolverLookup, BothAddressFamiliesIPv6First) {
  AddressResult r = addresses("dual.mx.test");
  ASSERT_EQ(to_string(r.status), "ok");
  EXPECT_TRUE(r.authenticated_data);
  ASSERT_EQ(r.addresses.size(), 4u);
  EXPECT_EQ(r.addresses[0].ss_family, AF_INET6);
  EXPECT_EQ(r.addresses[1].ss_family, AF_INET6);
  EXPECT_EQ(r.addresses[2].ss_family, AF_INET);
  EXPECT_EQ(r.addresses[3].ss_family, AF_INET);
  Strings all = texts(r);
  EXPECT_EQ(sorted(Strings(all.begin(), all.begin() + 2)), (Strings{"2001:db8::2", "::1"}));
  EXPECT_EQ(sorted(Strings(all.begin() + 2, all.end())), (Strings{"127.0.0.2", "127.0.0.3"}));
}

TEST_F(ResolverLookup, OneAddressFamilyIsEnough) {
  EXPECT_EQ(texts(addresses("v4only.mx.test")), Strings{"127.0.0.4"});
  EXPECT_EQ(texts(addresses("v6only.mx.test")), Strings{"2001:db8::6"});
}

TEST_F(ResolverLookup, NameWithoutAddressesIsNoData) {
  AddressResult r = addresses("nullmx.mx.test");
  EXPECT_EQ(to_string(r.status), "no-data");
  EXPECT_TRUE(r.addresses.empty());
}

TEST_F(ResolverLookup, TxtCharacterStringsJoinedWithoutSpaces) {
  TxtResult r = txt("_mta-sts.mx.test");
  ASSERT_EQ(to_string(r.status), "ok");
  EXPECT_EQ(r.records, Strings{"v=STSv1;id=20240101T000000;"});
  EXPECT_TRUE(r.authenticated_data);
}

TEST_F(ResolverLookup, SeveralTxtRecords) {
  EXPECT_EQ(sorted(txt("multi.mx.test").records), (Strings{"abc", "second record"}));
}

TEST_F(ResolverLookup, TxtThroughCname) {
  TxtResult r = txt("alias.mx.test");
  ASSERT_EQ(to_string(r.status), "ok");
  EXPECT_EQ(r.records, Strings{"v=STSv1;id=20240101T000000;"});
  EXPECT_TRUE(r.authenticated_data);
}

// Ten 200-byte records do not fit in 1232 bytes: unbound truncates, c-ares asks again over TCP.
TEST_F(ResolverLookup, TxtTooLargeForUdpComesOverTcp) {
  TxtResult r = txt("big.mx.test");
  ASSERT_EQ(to_string(r.status), "ok");
  ASSERT_EQ(r.records.size(), 10u);
  Strings got = sorted(r.records);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(got[static_cast<std::size_t>(i)], "0" + std::to_string(i) + std::string(198, 'x'));
  }
}

TEST_F(ResolverLookup, TxtNoData) {
  EXPECT_EQ(to_string(txt("dual.mx.test").status), "no-data");
}

TEST_F(ResolverLookup, UnsignedZoneNeverAuthenticated) {
  MxResult r = mx("plain.test");
  ASSERT_EQ(to_string(r.status), "ok");
  EXPECT_FALSE(r.authenticated_data);
  EXPECT_EQ(r.records, (std::vector<MxRecord>{{10, "mx.plain.test"}}));
  EXPECT_FALSE(addresses("mx.plain.test").authenticated_data);
}

// A zone whose signatures do not validate answers SERVFAIL: Temporary for every kind of lookup, never
// NoData (which would send mail to the implicit MX or skip MTA-STS), and never authenticated.
TEST_F(ResolverLookup, ServfailIsTemporaryNeverNoData) {
  MxResult m = mx("bogus.test");
  EXPECT_EQ(to_string(m.status), "temporary");
  EXPECT_FALSE(m.authenticated_data);
  EXPECT_EQ(plan_mx(m, "bogus.test", system_random_index()).kind, MxPlan::Kind::Temporary);
  EXPECT_EQ(to_string(txt("_mta-sts.bogus.test").status), "temporary");
  EXPECT_EQ(to_string(addresses("mx.bogus.test").status), "temporary");
  EXPECT_EQ(to_string(mx("nothing-here.bogus.test").status), "temporary");
}

TEST_F(ResolverLookup, TlsaRecordsOfASignedZoneAreAuthenticated) {
  TlsaResult r = tlsa("mx1.mx.test", 25);
  ASSERT_EQ(to_string(r.status), "ok");
  EXPECT_TRUE(r.authenticated_data);
  Strings got;
  for (const auto& rec : r.records) got.push_back(policy::to_string(rec));
  EXPECT_EQ(sorted(got), (Strings{"2 0 1 fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
                                  "3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}));
  TlsaResult other_port = tlsa("mx1.mx.test.", 2525);
  ASSERT_EQ(other_port.records.size(), 1u);
  EXPECT_EQ(other_port.records[0].matching_type, 2);
  EXPECT_EQ(other_port.records[0].data.size(), 64u);
}

TEST_F(ResolverLookup, TlsaDenialIsAuthenticated) {
  TlsaResult r = tlsa("mx2.mx.test", 25);
  EXPECT_EQ(to_string(r.status), "nxdomain");
  EXPECT_TRUE(r.authenticated_data);
  EXPECT_TRUE(r.records.empty());
}

TEST_F(ResolverLookup, TlsaThroughCname) {
  TlsaResult r = tlsa("mx3.mx.test", 25);
  ASSERT_EQ(to_string(r.status), "ok");
  EXPECT_EQ(r.records.size(), 2u);
  EXPECT_TRUE(r.authenticated_data);
}

TEST_F(ResolverLookup, TlsaOfAnUnsignedZoneIsNotAuthenticated) {
  TlsaResult r = tlsa("mx.plain.test", 25);
  ASSERT_EQ(to_string(r.status), "ok");
  EXPECT_FALSE(r.authenticated_data);
}

TEST_F(ResolverLookup, BogusTlsaIsTemporaryNeverNoRecords) {
  TlsaResult r = tlsa("mx.bogus.test", 25);
  EXPECT_EQ(to_string(r.status), "temporary");
  EXPECT_FALSE(r.authenticated_data);
}

TEST_F(ResolverLookup, RefusedIsTemporary) {
  EXPECT_EQ(to_string(mx("outside.example").status), "temporary");
  EXPECT_EQ(to_string(addresses("outside.example").status), "temporary");
}

TEST_F(ResolverLookup, UnaskableNameIsMalformedAndNotSent) {
  for (const char* name : {"", ".", "a..b", "a\\.b", "with space.test", "ctl\x01.test"}) {
    bool called = false;
    std::optional<MxResult> result;
    Query q = resolver_->query_mx(name, [&](MxResult r) {
      called = true;
      result = std::move(r);
    });
    EXPECT_FALSE(called) << "a callback must never run inside query_mx";
    EXPECT_EQ(resolver_->in_flight(), 0u);
    ASSERT_TRUE(run_until([&] { return result.has_value(); }));
    EXPECT_EQ(to_string(result->status), "malformed") << name;
  }
  EXPECT_EQ(to_string(mx(std::string(64, 'a') + ".test").status), "malformed");
  EXPECT_EQ(to_string(addresses(std::string(254, 'a')).status), "malformed");
}

// Query IDs never clash among exchanges in flight (a clash would lose an answer and cost a timeout).
// 200 stays below what a default-sized socket buffer holds when every answer comes back before the
// loop reads the first one; past that the kernel drops answers and the test is merely slow.
TEST_F(ResolverLookup, ManyQueriesAtOnce) {
  constexpr int kCount = 200;
  int answered = 0, ok = 0;
  std::vector<Query> queries;
  for (int i = 0; i < kCount; ++i) {
    queries.push_back(resolver_->query_mx("mx.test", [&](MxResult r) {
      ++answered;
      ok += r.status == Status::Ok && r.records.size() == 4;
    }));
  }
  EXPECT_EQ(resolver_->in_flight(), static_cast<std::size_t>(kCount));
  ASSERT_TRUE(run_until([&] { return answered == kCount; }));
  EXPECT_EQ(ok, kCount);
  EXPECT_EQ(resolver_->in_flight(), 0u);
}

TEST_F(ResolverLookup, CallbackMayStartTheNextLookup) {
  std::optional<AddressResult> result;
  Query second;
  Query first = resolver_->query_mx("cname-mx.mx.test", [&](MxResult r) {
    ASSERT_EQ(r.records.size(), 1u);
    second = resolver_->query_addresses(r.records[0].host, [&](AddressResult a) { result = std::move(a); });
  });
  ASSERT_TRUE(run_until([&] { return result.has_value(); }));
  EXPECT_EQ(texts(*result), Strings{"127.0.0.11"});
}

TEST_F(ResolverLookup, ServersAreTheConfiguredOnes) {
  EXPECT_EQ(resolver_->servers(), std::vector<Server>{*test_dns_server()});
}

TEST_F(ResolverLookup, OverIPv6) {
  auto server6 = test_dns_server("MXGUARD_TEST_DNS6");
  if (!server6) GTEST_SKIP() << "this machine has no IPv6 loopback (MXGUARD_TEST_DNS6 unset)";
  resolver_ = make({*server6});
  EXPECT_EQ(resolver_->servers(), std::vector<Server>{*server6});
  EXPECT_EQ(mx("mx.test").records.size(), 4u);
}

// The first server refuses (nothing listens), the second answers: c-ares moves on within one query.
TEST_F(ResolverLookup, NextServerAfterAnUnreachableOne) {
  resolver_ = make({closed_port(), *test_dns_server()}, {.timeout = 500ms, .tries = 2});
  EXPECT_EQ(to_string(mx("mx.test").status), "ok");
}

}  // namespace
}  // namespace mxguard::dns
