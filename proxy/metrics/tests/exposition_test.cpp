// The text exposition format 0.0.4: escaping, sample lines, and the histogram layout (cumulative
// buckets, +Inf, _sum and _count).
#include "proxy/metrics/exposition.h"

#include <gtest/gtest.h>

#include <array>

namespace mxguard::metrics {
namespace {

TEST(Exposition, LabelValuesEscapeBackslashQuoteAndLineFeedOnly) {
  EXPECT_EQ(escape_label_value(R"(a\b"c)" "\n" "d\te"), R"(a\\b\"c\nd)" "\te");
  EXPECT_EQ(escape_label_value(""), "");
  EXPECT_EQ(escape_label_value("plain-value_1.2"), "plain-value_1.2");
}

TEST(Exposition, HelpEscapesBackslashAndLineFeedButNotQuotes) {
  EXPECT_EQ(escape_help("say \"hi\"\\\nbye"), "say \"hi\"\\\\\\nbye");
}

TEST(Exposition, ValuesAreTheShortestRoundTripAndInfinitiesAreSpelledOut) {
  EXPECT_EQ(format_value(0.005), "0.005");
  EXPECT_EQ(format_value(2.5), "2.5");
  EXPECT_EQ(format_value(300), "300");
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_value(0.0 / 0.0), "NaN");
  EXPECT_EQ(std::stod(format_value(0.1 + 0.2)), 0.1 + 0.2);
}

TEST(Exposition, AFamilyIsHelpTypeThenItsSamples) {
  TextWriter w;
  w.family("mxguard_x_total", "Things.\nMore \\ things.", Type::Counter);
  w.sample("mxguard_x_total", {{"direction", "inbound"}, {"tls", "none"}}, std::uint64_t{18446744073709551615u});
  w.sample("mxguard_x_total", {}, std::uint64_t{0});
  w.family("mxguard_g", "A gauge.", Type::Gauge);
  w.sample("mxguard_g", {{"v", "a\"b"}}, std::int64_t{-3});
  w.sample("mxguard_g", {}, 1.5);
  EXPECT_EQ(w.text(),
            "# HELP mxguard_x_total Things.\\nMore \\\\ things.\n"
            "# TYPE mxguard_x_total counter\n"
            "mxguard_x_total{direction=\"inbound\",tls=\"none\"} 18446744073709551615\n"
            "mxguard_x_total 0\n"
            "# HELP mxguard_g A gauge.\n"
            "# TYPE mxguard_g gauge\n"
            "mxguard_g{v=\"a\\\"b\"} -3\n"
            "mxguard_g 1.5\n");
}

TEST(Exposition, HistogramBucketsAreCumulativeEndWithInfAndCountEqualsInf) {
  TextWriter w;
  w.family("h_seconds", "H.", Type::Histogram);
  const std::array<double, 3> bounds = {0.1, 1, 2.5};
  const std::array<std::uint64_t, 4> counts = {2, 0, 3, 4};   // 4 above 2.5
  w.histogram("h_seconds", {{"direction", "outbound"}}, bounds, counts, 12.25);
  EXPECT_EQ(w.text(),
            "# HELP h_seconds H.\n"
            "# TYPE h_seconds histogram\n"
            "h_seconds_bucket{direction=\"outbound\",le=\"0.1\"} 2\n"
            "h_seconds_bucket{direction=\"outbound\",le=\"1\"} 2\n"
            "h_seconds_bucket{direction=\"outbound\",le=\"2.5\"} 5\n"
            "h_seconds_bucket{direction=\"outbound\",le=\"+Inf\"} 9\n"
            "h_seconds_sum{direction=\"outbound\"} 12.25\n"
            "h_seconds_count{direction=\"outbound\"} 9\n");
}

TEST(Exposition, AHistogramWithoutLabelsOrObservations) {
  TextWriter w;
  const std::array<double, 1> bounds = {0.5};
  const std::array<std::uint64_t, 2> counts = {0, 0};
  w.histogram("h", {}, bounds, counts, 0);
  EXPECT_EQ(w.text(), "h_bucket{le=\"0.5\"} 0\nh_bucket{le=\"+Inf\"} 0\nh_sum 0\nh_count 0\n");
}

}  // namespace
}  // namespace mxguard::metrics
