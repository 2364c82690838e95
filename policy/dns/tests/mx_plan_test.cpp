// plan_mx: every rule of RFC 5321 §5.1 / RFC 7505 that mxguard applies to an MX answer, as a table.
#include "policy/dns/mx_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <ostream>
#include <string>
#include <vector>

namespace mxguard::dns {
namespace {

using Kind = MxPlan::Kind;
using Hosts = std::vector<std::string>;

// Fisher-Yates with j = n-1 at every step swaps nothing: equal preferences keep the answer's order, so
// the table's expectations are exact.
std::size_t keep_order(std::size_t bound) { return bound - 1; }

MxResult ok(std::vector<MxRecord> records, bool ad = false) { return {Status::Ok, std::move(records), ad}; }

struct PlanCase {
  const char* name;
  MxResult input;
  const char* domain;
  Kind kind;
  Hosts hosts;
};

std::string label(std::size_t n) { return std::string(n, 'a'); }

const std::vector<PlanCase>& plan_cases() {
  static const std::vector<PlanCase> cases = {
      {"OneHost", ok({{10, "mx.example.com"}}), "example.com", Kind::Hosts, {"mx.example.com"}},
      {"PreferenceOrder", ok({{30, "c.example"}, {10, "a.example"}, {20, "b.example"}}), "example",
       Kind::Hosts, {"a.example", "b.example", "c.example"}},
      {"ExtremePreferences", ok({{65535, "last.example"}, {0, "first.example"}}), "example", Kind::Hosts,
       {"first.example", "last.example"}},
      {"EqualPreferencesKeepAnswerOrderWithoutShuffle",
       ok({{20, "y.example"}, {10, "b.example"}, {20, "x.example"}, {10, "a.example"}}), "example", Kind::Hosts,
       {"b.example", "a.example", "y.example", "x.example"}},
      {"LowerCased", ok({{10, "MX1.Example.COM"}}), "example.com", Kind::Hosts, {"mx1.example.com"}},
      {"TrailingDotStripped", ok({{10, "mx.example.com."}}), "example.com", Kind::Hosts, {"mx.example.com"}},
      {"DuplicateSamePreference", ok({{10, "mx.example"}, {10, "mx.example"}}), "example", Kind::Hosts,
       {"mx.example"}},
      {"DuplicateKeepsBestPreference", ok({{20, "b.example"}, {30, "a.example"}, {10, "a.example"}}), "example",
       Kind::Hosts, {"a.example", "b.example"}},
      {"DuplicateAfterNormalising", ok({{10, "MX.example."}, {20, "mx.EXAMPLE"}}), "example", Kind::Hosts,
       {"mx.example"}},
      {"NullMx", ok({{0, ""}}), "example", Kind::NullMx, {}},
      {"NullMxSpelledWithDot", ok({{0, "."}}), "example", Kind::NullMx, {}},
      {"NullMxOtherPreference", ok({{10, ""}}), "example", Kind::NullMx, {}},
      {"TwoRootRecords", ok({{0, ""}, {10, "."}}), "example", Kind::NullMx, {}},
      {"RootAlongsideHostsIgnored", ok({{0, ""}, {10, "mx.example"}}), "example", Kind::Hosts, {"mx.example"}},
      {"RootAfterHostsIgnored", ok({{10, "mx.example"}, {0, "."}}), "example", Kind::Hosts, {"mx.example"}},
      {"RootAndOnlyInvalidHosts", ok({{0, ""}, {10, "192.0.2.1"}}), "example", Kind::Temporary, {}},
      {"Ipv4LiteralOnly", ok({{10, "192.0.2.1"}}), "example", Kind::Temporary, {}},
      {"Ipv4LiteralSkipped", ok({{5, "192.0.2.1"}, {10, "mx.example"}}), "example", Kind::Hosts, {"mx.example"}},
      {"Ipv4LiteralWithDotSkipped", ok({{5, "192.0.2.1."}, {10, "mx.example"}}), "example", Kind::Hosts,
       {"mx.example"}},
      {"ShortNumericSkipped", ok({{5, "10.1"}, {10, "mx.example"}}), "example", Kind::Hosts, {"mx.example"}},
      {"NumericTopLabelSkipped", ok({{5, "mx.123"}, {10, "mx.example"}}), "example", Kind::Hosts, {"mx.example"}},
      {"NumericInnerLabelsFine", ok({{10, "123.45.example"}}), "example", Kind::Hosts, {"123.45.example"}},
      {"BracketedLiteralSkipped", ok({{5, "[192.0.2.1]"}, {10, "mx.example"}}), "example", Kind::Hosts,
       {"mx.example"}},
      {"Ipv6LiteralSkipped", ok({{5, "2001:db8::1"}, {10, "mx.example"}}), "example", Kind::Hosts, {"mx.example"}},
      {"Ipv6TagSkipped", ok({{5, "IPv6:2001:db8::1"}, {10, "mx.example"}}), "example", Kind::Hosts,
       {"mx.example"}},
      {"EscapedDotSkipped", ok({{5, "a\\.b.example"}, {10, "mx.example"}}), "example", Kind::Hosts, {"mx.example"}},
      {"EscapedByteSkipped", ok({{5, "mx\\032.example"}, {10, "mx.example"}}), "example", Kind::Hosts,
       {"mx.example"}},
      {"SpaceSkipped", ok({{5, "mx .example"}, {10, "mx.example"}}), "example", Kind::Hosts, {"mx.example"}},
      {"EmptyLabelSkipped", ok({{5, "a..example"}, {10, "mx.example"}}), "example", Kind::Hosts, {"mx.example"}},
      {"LeadingDotSkipped", ok({{5, ".example"}, {10, "mx.example"}}), "example", Kind::Hosts, {"mx.example"}},
      {"NonAsciiSkipped", ok({{5, "m\xc3\xa4il.example"}, {10, "mx.example"}}), "example", Kind::Hosts,
       {"mx.example"}},
      {"Label63Fine", ok({{10, label(63) + ".example"}}), "example", Kind::Hosts, {label(63) + ".example"}},
      {"Label64Skipped", ok({{5, label(64) + ".example"}, {10, "mx.example"}}), "example", Kind::Hosts,
       {"mx.example"}},
      {"Name253Fine", ok({{10, label(63) + "." + label(63) + "." + label(63) + "." + label(61)}}), "example",
       Kind::Hosts, {label(63) + "." + label(63) + "." + label(63) + "." + label(61)}},
      {"Name254Skipped", ok({{5, label(63) + "." + label(63) + "." + label(63) + "." + label(62)}, {10, "m.x"}}),
       "example", Kind::Hosts, {"m.x"}},
      {"UnderscoreTolerated", ok({{10, "mx_1.example"}}), "example", Kind::Hosts, {"mx_1.example"}},
      {"HyphenFine", ok({{10, "mx-1.example-mail.com"}}), "example", Kind::Hosts, {"mx-1.example-mail.com"}},
      {"AllInvalid", ok({{10, "192.0.2.1"}, {20, "a..b"}}), "example", Kind::Temporary, {}},
      {"NoDataIsImplicitMx", {Status::NoData, {}, false}, "example.com", Kind::ImplicitMx, {"example.com"}},
      {"ImplicitMxNormalisesDomain", {Status::NoData, {}, false}, "Example.COM.", Kind::ImplicitMx,
       {"example.com"}},
      {"OkWithoutRecordsIsImplicitMx", ok({}), "example.com", Kind::ImplicitMx, {"example.com"}},
      {"ImplicitMxOfIpLiteralRefused", {Status::NoData, {}, false}, "192.0.2.1", Kind::Temporary, {}},
      {"NxDomain", {Status::NxDomain, {}, false}, "example.com", Kind::NoSuchDomain, {}},
      {"TemporaryIsNeverImplicit", {Status::Temporary, {}, false}, "example.com", Kind::Temporary, {}},
      {"MalformedIsTemporary", {Status::Malformed, {}, false}, "example.com", Kind::Temporary, {}},
      {"TemporaryIgnoresStrayRecords", {Status::Temporary, {{10, "mx.example.com"}}, false}, "example.com",
       Kind::Temporary, {}},
  };
  return cases;
}

// ctest lists each case by this (instead of the struct's bytes).
void PrintTo(const PlanCase& c, std::ostream* os) { *os << c.name; }

class PlanTable : public testing::TestWithParam<PlanCase> {};

TEST_P(PlanTable, Plans) {
  const PlanCase& c = GetParam();
  MxPlan plan = plan_mx(c.input, c.domain, keep_order);
  EXPECT_EQ(to_string(plan.kind), to_string(c.kind));
  EXPECT_EQ(plan.hosts, c.hosts);
  // Every outcome but a list of hosts explains itself; the reason is what the 4xx/5xx reply will say.
  if (plan.kind == Kind::Hosts || plan.kind == Kind::ImplicitMx) {
    EXPECT_TRUE(plan.reason.empty()) << plan.reason;
  } else {
    EXPECT_FALSE(plan.reason.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(MxPlan, PlanTable, testing::ValuesIn(plan_cases()),
                         [](const testing::TestParamInfo<PlanCase>& info) { return info.param.name; });

TEST(MxPlan, AFailedLookupSaysWhyInItsReason) {
  MxResult timed_out{Status::Temporary, {}, false, "no answer from the DNS server (timeout)"};
  EXPECT_EQ(plan_mx(timed_out, "example", keep_order).reason,
            "MX lookup failed temporarily: no answer from the DNS server (timeout)");
  EXPECT_EQ(plan_mx({Status::Temporary, {}, false}, "example", keep_order).reason, "MX lookup failed temporarily");
}

TEST(MxPlan, AuthenticatedDataIsCarried) {
  EXPECT_TRUE(plan_mx(ok({{10, "mx.example"}}, true), "example", keep_order).authenticated_data);
  EXPECT_FALSE(plan_mx(ok({{10, "mx.example"}}, false), "example", keep_order).authenticated_data);
  EXPECT_TRUE(plan_mx({Status::NoData, {}, true}, "example", keep_order).authenticated_data);
  EXPECT_TRUE(plan_mx(ok({{0, ""}}, true), "example", keep_order).authenticated_data);
  // A failed lookup authenticates nothing, whatever the input claims.
  EXPECT_FALSE(plan_mx({Status::Temporary, {}, true}, "example", keep_order).authenticated_data);
}

// The injected source decides the order within a preference, and only there: a scripted source that
// always picks index 0 rotates each group in a known way, and groups never mix.
TEST(MxPlan, RandomnessOnlyWithinEqualPreferences) {
  std::vector<std::size_t> bounds;
  auto first = [&](std::size_t bound) {
    bounds.push_back(bound);
    return std::size_t{0};
  };
  MxResult r = ok({{10, "a1"}, {10, "a2"}, {10, "a3"}, {20, "b1"}, {30, "c1"}, {30, "c2"}});
  for (auto& rec : r.records) rec.host += ".example";
  MxPlan plan = plan_mx(r, "example", first);
  // Fisher-Yates with j = 0: [a1 a2 a3] -> swap(2,0) [a3 a2 a1] -> swap(1,0) [a2 a3 a1].
  EXPECT_EQ(plan.hosts, (Hosts{"a2.example", "a3.example", "a1.example", "b1.example", "c2.example", "c1.example"}));
  // Asked for the groups of three and two only, with the bounds Fisher-Yates needs; never for a lone host.
  EXPECT_EQ(bounds, (std::vector<std::size_t>{3, 2, 2}));
}

TEST(MxPlan, OutOfRangeRandomnessStaysInRange) {
  auto broken = [](std::size_t bound) { return bound * 7 + 3; };
  MxPlan plan = plan_mx(ok({{10, "a.example"}, {10, "b.example"}, {10, "c.example"}}), "example", broken);
  EXPECT_EQ(std::set<std::string>(plan.hosts.begin(), plan.hosts.end()),
            (std::set<std::string>{"a.example", "b.example", "c.example"}));
}

// With the real source every order of three equal hosts shows up (6 orders, 600 plans: the chance that
// one never appears is below 1e-45), and the better preference always stays first.
TEST(MxPlan, SystemRandomSpreadsEqualPreferences) {
  RandomIndex random = system_random_index();
  std::map<Hosts, int> seen;
  for (int i = 0; i < 600; ++i) {
    MxPlan plan = plan_mx(ok({{20, "b.example"}, {20, "c.example"}, {5, "first.example"}, {20, "a.example"}}),
                          "example", random);
    ASSERT_EQ(plan.hosts.size(), 4u);
    ASSERT_EQ(plan.hosts[0], "first.example");
    ++seen[Hosts(plan.hosts.begin() + 1, plan.hosts.end())];
  }
  EXPECT_EQ(seen.size(), 6u);
}

TEST(MxPlan, HostNameRules) {
  EXPECT_TRUE(is_mx_host_name("mx.example.com"));
  EXPECT_TRUE(is_mx_host_name("localhost"));
  EXPECT_FALSE(is_mx_host_name(""));
  EXPECT_FALSE(is_mx_host_name("example.com."));   // callers strip the dot first
  EXPECT_FALSE(is_mx_host_name("MX.example.com"));  // and lower-case
  EXPECT_FALSE(is_mx_host_name("127.0.0.1"));
  EXPECT_FALSE(is_mx_host_name("1"));
  EXPECT_FALSE(is_mx_host_name("::1"));
}

}  // namespace
}  // namespace mxguard::dns
