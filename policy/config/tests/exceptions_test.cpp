// [policy.domain."x"] expires / reason: operator exceptions that lapse on their own.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "policy/config/config_loader.h"
#include "policy/config/tests/load_helpers.h"

namespace mxguard::config {
namespace {

using std::chrono::day;
using std::chrono::month;
using std::chrono::year;
using std::chrono::year_month_day;

using testing::kFile;
using testing::load_error;
using testing::load_ok;

// proxy-v2, so that the only warnings are the ones under test.
constexpr const char* kMinimal = "[inbound]\nbackend = \"127.0.0.1:2525\"\nbackend_protocol = \"proxy-v2\"\n";

std::string exception(const std::string& domain, const std::string& expires, const std::string& reason = "") {
  std::string text = "[policy.domain.\"" + domain + "\"]\nlevel = \"may\"\nexpires = " + expires + "\n";
  if (!reason.empty()) text += "reason = \"" + reason + "\"\n";
  return text;
}

TEST(Exceptions, KeepTheirExpiryDayAndReason) {
  Config c = load_ok(std::string(kMinimal) + exception("partner.example", "2027-01-31", "ticket 4711"));
  ASSERT_EQ(c.policy.domains.size(), 1u);
  const DomainPolicy& p = c.policy.domains[0].second;
  ASSERT_TRUE(p.expires.has_value());
  EXPECT_EQ(*p.expires, year_month_day(year(2027), month(1), day(31)));
  EXPECT_EQ(p.reason, "ticket 4711");
  EXPECT_EQ(to_string(*p.expires), "2027-01-31");
}

TEST(Exceptions, WithoutExpiresNeverLapse) {
  Config c = load_ok(std::string(kMinimal) + "[policy.domain.\"example.org\"]\nlevel = \"verify\"\n");
  EXPECT_FALSE(c.policy.domains[0].second.expires.has_value());
  EXPECT_TRUE(c.policy.domains[0].second.reason.empty());
  EXPECT_FALSE(lapsed(c.policy.domains[0].second, year_month_day(year(9999), month(12), day(31))));
}

TEST(Exceptions, ApplyThroughTheirLastDayAndLapseTheDayAfter) {
  DomainPolicy p;
  p.expires = year_month_day(year(2027), month(1), day(31));
  EXPECT_FALSE(lapsed(p, year_month_day(year(2026), month(12), day(31))));
  EXPECT_FALSE(lapsed(p, year_month_day(year(2027), month(1), day(31))));
  EXPECT_TRUE(lapsed(p, year_month_day(year(2027), month(2), day(1))));
  EXPECT_TRUE(lapsed(p, year_month_day(year(2030), month(1), day(1))));
}

TEST(Exceptions, LapsedOnesAreListedInFileOrder) {
  Config c = load_ok(std::string(kMinimal) + exception("zeta.example", "2027-03-01") + exception("alpha.example", "2027-01-31") +
                     "[policy.domain.\"pinned.example\"]\nlevel = \"verify\"\n" + exception("later.example", "2027-06-30"));
  EXPECT_EQ(lapsed_exceptions(c, year_month_day(year(2027), month(1), day(31))), std::vector<std::string>{});
  EXPECT_EQ(lapsed_exceptions(c, year_month_day(year(2027), month(3), day(2))),
            (std::vector<std::string>{"zeta.example", "alpha.example"}));
}

TEST(Exceptions, OneThatHasLapsedAtLoadTimeWarns) {
  Config c = load_ok(std::string(kMinimal) + exception("partner.example", "2001-01-31", "their certificate expired"));
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_EQ(c.warnings[0],
            "mxguard.toml:6: policy.domain.\"partner.example\".expires: the exception expired at the end of 2001-01-31 "
            "and no longer applies: partner.example is back to the default policy or its MTA-STS policy (reason: "
            "\"their certificate expired\")");
}

TEST(Exceptions, TheWarningNamesTheTableAsWritten) {
  Config c = load_ok(std::string(kMinimal) + exception("Partner.Example", "2001-01-31"));
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_EQ(c.warnings[0].find("mxguard.toml:6: policy.domain.\"Partner.Example\".expires: "), 0u) << c.warnings[0];
  EXPECT_EQ(c.warnings[0].find("(reason"), std::string::npos) << "no reason given, none shown";
}

TEST(Exceptions, OnesStillInForceDoNotWarn) {
  EXPECT_TRUE(load_ok(std::string(kMinimal) + exception("partner.example", "2999-12-31")).warnings.empty());
}

TEST(Exceptions, ExpiresIsATomlDate) {
  ConfigError quoted = load_error(std::string(kMinimal) + exception("partner.example", "\"2027-01-31\""));
  EXPECT_EQ(quoted.to_string(),
            "mxguard.toml:6: policy.domain.\"partner.example\".expires: expected a date such as 2027-01-31, got a "
            "string (write the date without quotes)");
  ConfigError with_time = load_error(std::string(kMinimal) + exception("partner.example", "2027-01-31T00:00:00Z"));
  EXPECT_EQ(with_time.message, "expected a date such as 2027-01-31, got a date-time");
  ConfigError number = load_error(std::string(kMinimal) + exception("partner.example", "20270131"));
  EXPECT_EQ(number.message, "expected a date such as 2027-01-31, got an integer");
}

TEST(Exceptions, ImpossibleDatesAreTomlErrors) {
  ConfigError e = load_error(std::string(kMinimal) + exception("partner.example", "2027-02-30"));
  EXPECT_EQ(e.line, 6);
  EXPECT_NE(e.message.find("invalid TOML"), std::string::npos) << e.message;
}

TEST(Exceptions, ReasonsAreOneLineOfText) {
  ConfigError e = load_error(std::string(kMinimal) + exception("partner.example", "2027-01-31", "line one\\nline two"));
  EXPECT_EQ(e.to_string(),
            "mxguard.toml:7: policy.domain.\"partner.example\".reason: \"line one\\x0aline two\" contains a control "
            "character: write it on one line, without tabs or escapes");
  ConfigError number = load_error(std::string(kMinimal) + "[policy.domain.\"partner.example\"]\nlevel = \"may\"\nreason = 4711\n");
  EXPECT_EQ(number.message, "expected a string, got an integer");
}

}  // namespace
}  // namespace mxguard::config
