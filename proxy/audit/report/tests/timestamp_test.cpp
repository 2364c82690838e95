#include "proxy/audit/report/timestamp.h"

#include <gtest/gtest.h>

#include "proxy/audit/report/filter.h"

namespace mxguard::audit::report {
namespace {

using namespace std::chrono;

Time at(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0, int ms = 0) {
  return Time{sys_days{year{y} / month{m} / day{d}}} + hours{hh} + minutes{mm} + seconds{ss} + milliseconds{ms};
}

TEST(Timestamp, ReadsWhatTheAuditLogWrites) {
  EXPECT_EQ(parse_rfc3339("2026-11-23T12:34:56.789Z"), at(2026, 11, 23, 12, 34, 56, 789));
  EXPECT_EQ(parse_rfc3339("2026-11-23T12:34:56Z"), at(2026, 11, 23, 12, 34, 56));
}

TEST(Timestamp, ReadsOtherRfc3339Spellings) {
  EXPECT_EQ(parse_rfc3339("2026-11-23t13:34:56+01:00"), at(2026, 11, 23, 12, 34, 56));
  EXPECT_EQ(parse_rfc3339("2026-11-23T00:30:00-02:30"), at(2026, 11, 23, 3, 0, 0));
  EXPECT_EQ(parse_rfc3339("2026-11-23T12:34:56.5z"), at(2026, 11, 23, 12, 34, 56, 500));
  EXPECT_EQ(parse_rfc3339("2026-11-23T12:34:56.123456789Z"), at(2026, 11, 23, 12, 34, 56, 123));
}

TEST(Timestamp, RefusesWhatIsNotATime) {
  for (const char* bad : {"", "yesterday", "2026-11-23", "2026-11-23 12:34:56Z", "2026-02-30T00:00:00Z",
                          "2026-11-23T24:00:00Z", "2026-11-23T12:60:00Z", "2026-11-23T12:00:60Z",
                          "2026-11-23T12:00:00", "2026-11-23T12:00:00.Z", "2026-11-23T12:00:00Zjunk",
                          "2026-11-23T12:00:00+0100", "26-11-23T12:00:00Z", "2026-1-23T12:00:00Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
  }
}

TEST(Timestamp, Days) {
  EXPECT_EQ(parse_day("2026-11-23"), sys_days{2026y / 11 / 23});
  EXPECT_FALSE(parse_day("2026-11-31").has_value());
  EXPECT_FALSE(parse_day("2026-11-23T00:00:00Z").has_value());
  EXPECT_EQ(format_day(sys_days{2026y / 1 / 5}), "2026-01-05");
  EXPECT_EQ(day_of(at(2026, 11, 23, 23, 59, 59, 999)), sys_days{2026y / 11 / 23});
}

TEST(Timestamp, Formats) {
  sys_seconds t = floor<seconds>(at(2026, 11, 23, 7, 8, 9));
  EXPECT_EQ(format_rfc3339_seconds(t), "2026-11-23T07:08:09Z");
  EXPECT_EQ(format_rfc5322(t), "Mon, 23 Nov 2026 07:08:09 +0000");
  EXPECT_EQ(format_rfc5322(sys_seconds{}), "Thu, 1 Jan 1970 00:00:00 +0000");
}

TEST(Filter, SinceAndUntilDaysIncludeTheWholeDay) {
  EXPECT_EQ(parse_since("2026-11-22"), at(2026, 11, 22));
  EXPECT_EQ(parse_until("2026-11-22"), at(2026, 11, 23));
  EXPECT_EQ(parse_until("2026-11-22T12:00:00Z"), at(2026, 11, 22, 12));
  EXPECT_FALSE(parse_since("last week").has_value());

  Filter f;
  f.since = parse_since("2026-11-22");
  f.until = parse_until("2026-11-22");
  Record r;
  r.ts = at(2026, 11, 22);
  EXPECT_TRUE(f.matches(r));
  r.ts = at(2026, 11, 22, 23, 59, 59, 999);
  EXPECT_TRUE(f.matches(r));
  r.ts = at(2026, 11, 23);
  EXPECT_FALSE(f.matches(r));
  r.ts = at(2026, 11, 21, 23, 59, 59, 999);
  EXPECT_FALSE(f.matches(r));
}

TEST(Filter, DomainAndDirection) {
  Filter f;
  f.domain = "example.com";
  Record r;
  r.domain = "Example.COM.";
  EXPECT_TRUE(f.matches(r));
  r.domain = "";
  EXPECT_FALSE(f.matches(r)) << "a record without a domain does not match one";
  r.domain = "sub.example.com";
  EXPECT_FALSE(f.matches(r));
  Filter g;
  g.direction = Direction::Outbound;
  r.direction = Direction::Inbound;
  EXPECT_FALSE(g.matches(r));
  r.direction = Direction::Outbound;
  EXPECT_TRUE(g.matches(r));
}

}  // namespace
}  // namespace mxguard::audit::report
