#pragma once
// Inline SVG charts for the HTML report: no script, no external asset, text escaped. Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mxguard::audit::report {

std::string html_escape(std::string_view text);

struct LineSeries {
  std::string name;
  std::string color;                         // a CSS color, e.g. "#1f77b4"
  std::vector<std::optional<double>> values;  // one per x label, 0..1; nullopt: no data (a gap in the line)
};

// Shares over time (0 % .. 100 %), one line per series, x labels thinned to fit.
std::string svg_share_chart(const std::vector<std::string>& x_labels, const std::vector<LineSeries>& series,
                            const std::string& title);

// Horizontal bars, largest first as given; each label with its count.
std::string svg_bar_chart(const std::vector<std::pair<std::string, std::uint64_t>>& bars, const std::string& title,
                          const std::string& color);

// One bar per label filled to its rate (0..1), with the percentage written; "no data" where nullopt.
std::string svg_rate_bars(const std::vector<std::pair<std::string, std::optional<double>>>& rates, const std::string& title);

}  // namespace mxguard::audit::report
