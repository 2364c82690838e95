#include "proxy/audit/report/html_report.h"

#include <gtest/gtest.h>

#include "proxy/audit/report/input.h"
#include "proxy/audit/report/svg_chart.h"
#include "proxy/audit/report/tests/golden.h"

namespace mxguard::audit::report {
namespace {

using testing_golden::expect_golden;
using testing_golden::golden_path;

TEST(HtmlReport, GoldenTwoDays) {
  SummaryBuilder builder;
  ReadStats stats;
  ASSERT_EQ(read_audit_files({golden_path("two_days.jsonl")}, [&](Record&& r) { builder.add(r); }, stats), "");
  Summary s = builder.finish();
  std::string html = render_html_report(s, stats);
  expect_golden("two_days.report.html", html);
  // Self-contained: nothing is fetched, nothing runs.
  for (const char* banned : {"<script", "src=", "href=", "@import", "url(", "http://", "https://"}) {
    if (std::string(banned) == "http://") {
      // the one allowed: the SVG namespace name, which is never fetched
      std::string copy = html;
      for (std::size_t at; (at = copy.find("xmlns=\"http://www.w3.org/2000/svg\"")) != std::string::npos;) copy.erase(at, 34);
      EXPECT_EQ(copy.find(banned), std::string::npos) << banned;
      continue;
    }
    EXPECT_EQ(html.find(banned), std::string::npos) << banned;
  }
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("mx2.backup.example.com"), std::string::npos);
}

TEST(HtmlReport, HourlyThenDailyBuckets) {
  Summary s;
  s.hours[100] = HourCounts{2, 1, 0, 0};
  s.hours[103] = HourCounts{1, 1, 4, 4};
  TimeBuckets hourly = time_buckets(s);
  ASSERT_EQ(hourly.labels.size(), 4u);   // 100, 101, 102, 103: the empty hours too
  EXPECT_EQ(hourly.counts[1].inbound_sessions, 0u);
  s.hours[100 + 24 * 5] = HourCounts{1, 0, 0, 0};
  TimeBuckets daily = time_buckets(s);
  EXPECT_EQ(daily.labels.size(), 6u);
  EXPECT_EQ(daily.counts[0].inbound_sessions, 3u);
  EXPECT_EQ(daily.labels[0].size(), 10u) << daily.labels[0];
}

TEST(HtmlReport, TextIsEscaped) {
  EXPECT_EQ(html_escape("<a href='x'>&\"\x01"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;?");
  std::string bars = svg_bar_chart({{"<script>alert(1)</script>", 3}}, "t", "#000");
  EXPECT_EQ(bars.find("<script>"), std::string::npos);
  std::string chart = svg_share_chart({"a", "b", "c"}, {{"x", "#123456", {0.5, std::nullopt, 1.0}}}, "t");
  // The missing middle value breaks the line: two "M" moves, no "L" across the gap.
  EXPECT_EQ(chart.find(" L "), std::string::npos) << chart;
}

}  // namespace
}  // namespace mxguard::audit::report
