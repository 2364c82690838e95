// resolve_policy: which of [policy] default and [policy.domain."x"] applies to a recipient domain, on a
// given day.
#include "policy/engine/resolution.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/config/config_loader.h"

namespace mxguard::policy {
namespace {

using std::chrono::day;
using std::chrono::month;
using std::chrono::year;
using std::chrono::year_month_day;

year_month_day ymd(int y, unsigned m, unsigned d) { return year_month_day{year{y}, month{m}, day{d}}; }

config::DomainPolicy entry(TlsLevel level, std::vector<std::string> mx = {},
                           std::optional<year_month_day> expires = std::nullopt, std::string reason = "") {
  return config::DomainPolicy{level, std::move(mx), expires, std::move(reason)};
}

// One configuration for the whole table: a default of `may` and entries of every kind.
config::Policy table_policy() {
  config::Policy p;
  p.default_level = TlsLevel::May;
  p.domains = {
      {"example.org", entry(TlsLevel::Verify, {"*.example.org", "mx.backup.example"})},
      {"partner.example", entry(TlsLevel::None, {}, ymd(2027, 1, 31), "their MX certificate expired, ticket 4711")},
      {"pinned.example", entry(TlsLevel::Encrypt, {}, std::nullopt, "no CA-signed certificate, agreed by phone")},
      {"newyear.example", entry(TlsLevel::May, {}, ymd(2026, 12, 31))},
      {"leap.example", entry(TlsLevel::May, {}, ymd(2028, 2, 28), "leap year")},
      {"feb.example", entry(TlsLevel::May, {}, ymd(2027, 2, 28))},
      {"sts.example", entry(TlsLevel::MtaSts)},
  };
  return p;
}

struct Case {
  const char* label;
  const char* domain;
  year_month_day today;
  // want
  const char* domain_out;
  TlsLevel level;
  PolicySource source;
  std::vector<std::string> mx;
  std::optional<std::string> reason;
  std::optional<LapsedException> lapsed;
};

void PrintTo(const Case& c, std::ostream* out) { *out << c.label; }

class Resolve : public ::testing::TestWithParam<Case> {};

TEST_P(Resolve, GivesTheEntryInForceOrTheDefault) {
  const Case& c = GetParam();
  Resolution r = resolve_policy(c.domain, table_policy(), c.today);
  EXPECT_EQ(r.policy.domain, c.domain_out);
  EXPECT_EQ(r.policy.level, c.level) << to_string(r.policy.level);
  EXPECT_EQ(r.policy.source, c.source) << to_string(r.policy.source);
  EXPECT_EQ(r.policy.mx_patterns, c.mx);
  EXPECT_EQ(r.policy.exception_reason, c.reason);
  EXPECT_FALSE(r.policy.testing) << "the configuration never sets MTA-STS testing mode";
  EXPECT_EQ(r.lapsed, c.lapsed);
}

const year_month_day kToday = ymd(2027, 1, 15);
const std::vector<std::string> kNoMx;

LapsedException lapsed(const char* domain, TlsLevel level, year_month_day expires, const char* reason = "") {
  return LapsedException{domain, level, expires, reason};
}

INSTANTIATE_TEST_SUITE_P(
    Table, Resolve,
    ::testing::Values(
        // no entry: the default, nothing else
        Case{"no entry", "other.example", kToday, "other.example", TlsLevel::May, PolicySource::Default, kNoMx, {}, {}},
        Case{"empty domain", "", kToday, "", TlsLevel::May, PolicySource::Default, kNoMx, {}, {}},
        // entries are exact domains: neither a subdomain nor a parent inherits them
        Case{"subdomain", "mail.example.org", kToday, "mail.example.org", TlsLevel::May, PolicySource::Default, kNoMx, {}, {}},
        Case{"parent", "org", kToday, "org", TlsLevel::May, PolicySource::Default, kNoMx, {}, {}},
        Case{"suffix only", "xexample.org", kToday, "xexample.org", TlsLevel::May, PolicySource::Default, kNoMx, {}, {}},
        // an entry without expires: level and mx patterns, no reason when none is written
        Case{"entry", "example.org", kToday, "example.org", TlsLevel::Verify, PolicySource::Config,
             {"*.example.org", "mx.backup.example"}, {}, {}},
        Case{"mta-sts entry", "sts.example", kToday, "sts.example", TlsLevel::MtaSts, PolicySource::Config, kNoMx, {}, {}},
        Case{"entry with reason, no expiry", "pinned.example", ymd(9999, 12, 31), "pinned.example", TlsLevel::Encrypt,
             PolicySource::Config, kNoMx, "no CA-signed certificate, agreed by phone", {}},
        // case and the root's trailing dot
        Case{"upper case", "EXAMPLE.Org", kToday, "example.org", TlsLevel::Verify, PolicySource::Config,
             {"*.example.org", "mx.backup.example"}, {}, {}},
        Case{"trailing dot", "example.org.", kToday, "example.org", TlsLevel::Verify, PolicySource::Config,
             {"*.example.org", "mx.backup.example"}, {}, {}},
        Case{"upper case and trailing dot", "Partner.EXAMPLE.", kToday, "partner.example", TlsLevel::None,
             PolicySource::Config, kNoMx, "their MX certificate expired, ticket 4711", {}},
        Case{"two trailing dots", "example.org..", kToday, "example.org.", TlsLevel::May, PolicySource::Default, kNoMx, {}, {}},
        // an exception is in force through its expires day (UTC) and lapses the day after
        Case{"long before expiry", "partner.example", ymd(2020, 6, 1), "partner.example", TlsLevel::None,
             PolicySource::Config, kNoMx, "their MX certificate expired, ticket 4711", {}},
        Case{"day before expiry", "partner.example", ymd(2027, 1, 30), "partner.example", TlsLevel::None,
             PolicySource::Config, kNoMx, "their MX certificate expired, ticket 4711", {}},
        Case{"on the expires day", "partner.example", ymd(2027, 1, 31), "partner.example", TlsLevel::None,
             PolicySource::Config, kNoMx, "their MX certificate expired, ticket 4711", {}},
        Case{"day after expiry", "partner.example", ymd(2027, 2, 1), "partner.example", TlsLevel::May,
             PolicySource::Default, kNoMx, {},
             lapsed("partner.example", TlsLevel::None, ymd(2027, 1, 31), "their MX certificate expired, ticket 4711")},
        Case{"years after expiry", "PARTNER.example.", ymd(2031, 1, 1), "partner.example", TlsLevel::May,
             PolicySource::Default, kNoMx, {},
             lapsed("partner.example", TlsLevel::None, ymd(2027, 1, 31), "their MX certificate expired, ticket 4711")},
        // calendar edges
        Case{"new year's eve in force", "newyear.example", ymd(2026, 12, 31), "newyear.example", TlsLevel::May,
             PolicySource::Config, kNoMx, {}, {}},
        Case{"lapsed on new year's day", "newyear.example", ymd(2027, 1, 1), "newyear.example", TlsLevel::May,
             PolicySource::Default, kNoMx, {}, lapsed("newyear.example", TlsLevel::May, ymd(2026, 12, 31))},
        Case{"leap day still lapsed", "leap.example", ymd(2028, 2, 29), "leap.example", TlsLevel::May,
             PolicySource::Default, kNoMx, {}, lapsed("leap.example", TlsLevel::May, ymd(2028, 2, 28), "leap year")},
        Case{"leap year's 28th in force", "leap.example", ymd(2028, 2, 28), "leap.example", TlsLevel::May,
             PolicySource::Config, kNoMx, "leap year", {}},
        Case{"end of february in force", "feb.example", ymd(2027, 2, 28), "feb.example", TlsLevel::May,
             PolicySource::Config, kNoMx, {}, {}},
        Case{"first of march lapsed", "feb.example", ymd(2027, 3, 1), "feb.example", TlsLevel::May,
             PolicySource::Default, kNoMx, {}, lapsed("feb.example", TlsLevel::May, ymd(2027, 2, 28))}));

TEST(Resolve, TheDefaultIsTheConfiguredOne) {
  config::Policy p = table_policy();
  p.default_level = TlsLevel::Verify;
  EXPECT_EQ(resolve_policy("other.example", p, kToday).policy.level, TlsLevel::Verify);
  // A lapsed exception falls back to that default, not to `may`.
  Resolution r = resolve_policy("partner.example", p, ymd(2027, 2, 1));
  EXPECT_EQ(r.policy.level, TlsLevel::Verify);
  EXPECT_EQ(r.policy.source, PolicySource::Default);
  EXPECT_TRUE(r.lapsed.has_value());
}

TEST(Resolve, ALapsedEntryKeepsNoneOfItsSettings) {
  config::Policy p;
  p.domains = {{"x.example", entry(TlsLevel::Verify, {"mx.x.example"}, ymd(2027, 1, 31), "why")}};
  Resolution r = resolve_policy("x.example", p, ymd(2027, 2, 1));
  EXPECT_TRUE(r.policy.mx_patterns.empty()) << "the mx list belonged to the lapsed entry";
  EXPECT_FALSE(r.policy.exception_reason.has_value());
}

TEST(Resolve, WorksOnALoadedConfiguration) {
  constexpr std::string_view kText =
      "[inbound]\nbackend = \"127.0.0.1:2525\"\nbackend_protocol = \"proxy-v2\"\n"
      "[policy]\ndefault = \"encrypt\"\n"
      "[policy.domain.\"Example.ORG\"]\nlevel = \"verify\"\nmx = [\"*.Example.org\"]\n"
      "[policy.domain.\"partner.example\"]\nlevel = \"may\"\nexpires = 2027-01-31\nreason = \"ticket 4711\"\n";
  config::LoadResult loaded = config::parse_config(kText, "mxguard.toml");
  ASSERT_TRUE(std::holds_alternative<config::Config>(loaded)) << std::get<config::ConfigError>(loaded).to_string();
  const config::Policy& p = std::get<config::Config>(loaded).policy;

  Resolution pinned = resolve_policy("example.org.", p, kToday);
  EXPECT_EQ(pinned.policy.level, TlsLevel::Verify);
  EXPECT_EQ(pinned.policy.mx_patterns, std::vector<std::string>{"*.example.org"});
  Resolution lapsed_entry = resolve_policy("partner.example", p, ymd(2027, 2, 1));
  EXPECT_EQ(lapsed_entry.policy.level, TlsLevel::Encrypt);
  EXPECT_EQ(lapsed_entry.lapsed, lapsed("partner.example", TlsLevel::May, ymd(2027, 1, 31), "ticket 4711"));
}

TEST(LapseDay, IsTheDayAfterExpires) {
  EXPECT_EQ(lapse_day(ymd(2027, 1, 31)), ymd(2027, 2, 1));
  EXPECT_EQ(lapse_day(ymd(2026, 12, 31)), ymd(2027, 1, 1));
  EXPECT_EQ(lapse_day(ymd(2028, 2, 28)), ymd(2028, 2, 29));
  EXPECT_EQ(lapse_day(ymd(2027, 2, 28)), ymd(2027, 3, 1));
}

TEST(Describe, NamesDomainLevelDayAndReason) {
  EXPECT_EQ(describe(lapsed("partner.example", TlsLevel::May, ymd(2027, 1, 31), "ticket 4711")),
            "exception for partner.example (may) lapsed on 2027-02-01 (reason: ticket 4711)");
  EXPECT_EQ(describe(lapsed("x.example", TlsLevel::None, ymd(2026, 12, 31))),
            "exception for x.example (none) lapsed on 2027-01-01");
}

TEST(NormalizeDomain, LowersAndDropsOneTrailingDot) {
  EXPECT_EQ(normalize_domain("Example.ORG."), "example.org");
  EXPECT_EQ(normalize_domain("example.org"), "example.org");
  EXPECT_EQ(normalize_domain("."), "");
  EXPECT_EQ(normalize_domain("x.."), "x.");
  EXPECT_EQ(normalize_domain("XN--BCHER-KVA.example"), "xn--bcher-kva.example");
}

}  // namespace
}  // namespace mxguard::policy
