// lapsed_since: every lapse reported once, on or after its day, whatever the rhythm of the checks.
#include "policy/engine/lapses.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace mxguard::policy {
namespace {

using std::chrono::day;
using std::chrono::days;
using std::chrono::month;
using std::chrono::sys_days;
using std::chrono::year;
using std::chrono::year_month_day;

year_month_day ymd(int y, unsigned m, unsigned d) { return year_month_day{year{y}, month{m}, day{d}}; }

config::Policy policy() {
  config::Policy p;
  auto exception = [](TlsLevel level, std::optional<year_month_day> expires, std::string reason = "") {
    return config::DomainPolicy{level, {}, expires, std::move(reason)};
  };
  p.domains = {
      {"zeta.example", exception(TlsLevel::May, ymd(2027, 3, 1), "ticket 1")},
      {"alpha.example", exception(TlsLevel::None, ymd(2027, 1, 31), "ticket 2")},
      {"pinned.example", exception(TlsLevel::Verify, std::nullopt)},
      {"same-day.example", exception(TlsLevel::Encrypt, ymd(2027, 1, 31))},
      {"year-end.example", exception(TlsLevel::May, ymd(2027, 12, 31))},
  };
  return p;
}

std::vector<std::string> domains(const std::vector<LapsedException>& lapsed) {
  std::vector<std::string> out;
  for (const auto& l : lapsed) out.push_back(l.domain);
  return out;
}

using Names = std::vector<std::string>;

struct Case {
  const char* label;
  std::optional<year_month_day> last_checked;
  year_month_day today;
  Names want;
};

void PrintTo(const Case& c, std::ostream* out) { *out << c.label; }

class LapsedSince : public ::testing::TestWithParam<Case> {};

TEST_P(LapsedSince, ListsTheLapsesBetweenTheChecks) {
  EXPECT_EQ(domains(lapsed_since(policy(), GetParam().last_checked, GetParam().today)), GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    Table, LapsedSince,
    ::testing::Values(
        Case{"never checked, nothing lapsed yet", std::nullopt, ymd(2027, 1, 31), {}},
        Case{"never checked, two lapsed", std::nullopt, ymd(2027, 2, 1), {"alpha.example", "same-day.example"}},
        Case{"never checked, all lapsed, in file order", std::nullopt, ymd(2030, 1, 1),
             {"zeta.example", "alpha.example", "same-day.example", "year-end.example"}},
        Case{"on the expires day", ymd(2027, 1, 30), ymd(2027, 1, 31), {}},
        Case{"on the lapse day", ymd(2027, 1, 31), ymd(2027, 2, 1), {"alpha.example", "same-day.example"}},
        Case{"the day after the lapse day", ymd(2027, 2, 1), ymd(2027, 2, 2), {}},
        Case{"checked twice the same day", ymd(2027, 2, 1), ymd(2027, 2, 1), {}},
        Case{"checks a month apart", ymd(2027, 1, 15), ymd(2027, 3, 15), {"zeta.example", "alpha.example", "same-day.example"}},
        Case{"a gap that ends on a lapse day", ymd(2027, 2, 1), ymd(2027, 3, 2), {"zeta.example"}},
        Case{"a gap that ends the day before", ymd(2027, 2, 1), ymd(2027, 3, 1), {}},
        Case{"over new year", ymd(2027, 12, 31), ymd(2028, 1, 1), {"year-end.example"}},
        Case{"clock set back", ymd(2027, 3, 2), ymd(2027, 2, 1), {}}));

TEST(LapsedSince, CarriesLevelExpiryAndReason) {
  std::vector<LapsedException> lapsed = lapsed_since(policy(), ymd(2027, 1, 31), ymd(2027, 2, 1));
  ASSERT_EQ(lapsed.size(), 2u);
  EXPECT_EQ(lapsed[0], (LapsedException{"alpha.example", TlsLevel::None, ymd(2027, 1, 31), "ticket 2"}));
  EXPECT_EQ(describe(lapsed[0]), "exception for alpha.example (none) lapsed on 2027-02-01 (reason: ticket 2)");
  EXPECT_EQ(lapsed[1], (LapsedException{"same-day.example", TlsLevel::Encrypt, ymd(2027, 1, 31), ""}));
}

// A long-running process checking at a given rhythm, each check passing the day of the one before.
std::map<std::string, year_month_day> run_checks(year_month_day first, int every_days, int checks) {
  std::map<std::string, year_month_day> reported;
  std::optional<year_month_day> last;
  sys_days today{first};
  for (int i = 0; i < checks; ++i, today += days{every_days}) {
    for (const LapsedException& l : lapsed_since(policy(), last, year_month_day{today})) {
      EXPECT_TRUE(reported.emplace(l.domain, year_month_day{today}).second) << l.domain << " reported twice";
    }
    last = year_month_day{today};
  }
  return reported;
}

TEST(LapsedSince, DailyChecksReportEachLapseOnceOnItsDay) {
  std::map<std::string, year_month_day> reported = run_checks(ymd(2027, 1, 1), 1, 400);
  EXPECT_EQ(reported, (std::map<std::string, year_month_day>{{"alpha.example", ymd(2027, 2, 1)},
                                                             {"same-day.example", ymd(2027, 2, 1)},
                                                             {"zeta.example", ymd(2027, 3, 2)},
                                                             {"year-end.example", ymd(2028, 1, 1)}}));
}

TEST(LapsedSince, IrregularChecksReportEachLapseOnceNeverEarly) {
  for (int every : {2, 3, 7, 30, 200}) {
    std::map<std::string, year_month_day> reported = run_checks(ymd(2026, 12, 20), every, 800 / every + 2);
    EXPECT_EQ(reported.size(), 4u) << "every " << every << " days";
    for (const auto& [domain, on] : reported) {
      const auto& entries = policy().domains;
      auto entry = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.first == domain; });
      ASSERT_NE(entry, entries.end());
      EXPECT_GE(on, lapse_day(*entry->second.expires)) << domain << ", every " << every << " days";
      EXPECT_LT(sys_days{on} - sys_days{lapse_day(*entry->second.expires)}, days{every}) << domain;
    }
  }
}

TEST(LapsedSince, EntriesWithoutExpiresNeverLapse) {
  config::Policy p;
  p.domains = {{"pinned.example", config::DomainPolicy{TlsLevel::Verify, {}, std::nullopt, ""}}};
  EXPECT_TRUE(lapsed_since(p, std::nullopt, ymd(9999, 12, 31)).empty());
}

}  // namespace
}  // namespace mxguard::policy
