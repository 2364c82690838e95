#include "proxy/audit/report/svg_chart.h"

#include <algorithm>
#include <cstdio>

namespace mxguard::audit::report {

namespace {
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string pct(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", r * 100.0);
  return buf;
}

std::string text_at(double x, double y, std::string_view text, std::string_view extra = "") {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\"" + (extra.empty() ? "" : " " + std::string(extra)) + ">" +
         html_escape(text) + "</text>";
}
}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        // Control bytes from a peer never reach the page; other bytes are the audit log's UTF-8.
        out.push_back(static_cast<unsigned char>(c) < 0x20 ? '?' : c);
    }
  }
  return out;
}

std::string svg_share_chart(const std::vector<std::string>& x_labels, const std::vector<LineSeries>& series,
                            const std::string& title) {
  const double width = 760, height = 300, left = 56, right = 150, top = 34, bottom = 56;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  std::size_t n = x_labels.size();
  auto x_of = [&](std::size_t i) { return left + (n <= 1 ? plot_w / 2 : plot_w * static_cast<double>(i) / static_cast<double>(n - 1)); };
  auto y_of = [&](double v) { return top + plot_h * (1.0 - std::clamp(v, 0.0, 1.0)); };
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"" + num(width) + "\" height=\"" +
                  num(height) + "\" viewBox=\"0 0 " + num(width) + " " + num(height) + "\">";
  s += "<title>" + html_escape(title) + "</title>";
  s += "<rect x=\"0\" y=\"0\" width=\"" + num(width) + "\" height=\"" + num(height) + "\" fill=\"#ffffff\"/>";
  s += text_at(left, 20, title, "font-weight=\"bold\" font-size=\"14\"");
  for (int g = 0; g <= 4; ++g) {
    double y = y_of(g / 4.0);
    s += "<line x1=\"" + num(left) + "\" y1=\"" + num(y) + "\" x2=\"" + num(left + plot_w) + "\" y2=\"" + num(y) +
         "\" stroke=\"#dddddd\"/>";
    s += text_at(left - 8, y + 4, std::to_string(g * 25) + " %", "text-anchor=\"end\" font-size=\"11\"");
  }
  std::size_t step = std::max<std::size_t>(1, (n + 7) / 8);
  for (std::size_t i = 0; i < n; i += step) {
    s += text_at(x_of(i), top + plot_h + 18, x_labels[i], "text-anchor=\"middle\" font-size=\"10\"");
  }
  if (n == 0) s += text_at(left + plot_w / 2, top + plot_h / 2, "no data", "text-anchor=\"middle\" fill=\"#888888\"");
  double legend_y = top + 10;
  for (const LineSeries& line : series) {
    std::string path;
    bool pen_down = false;
    for (std::size_t i = 0; i < line.values.size() && i < n; ++i) {
      if (!line.values[i]) {
        pen_down = false;   // no data: a gap, never a fall to 0 %
        continue;
      }
      path += std::string(pen_down ? " L " : " M ") + num(x_of(i)) + " " + num(y_of(*line.values[i]));
      pen_down = true;
      s += "<circle cx=\"" + num(x_of(i)) + "\" cy=\"" + num(y_of(*line.values[i])) + "\" r=\"3\" fill=\"" +
           html_escape(line.color) + "\"/>";
    }
    if (!path.empty()) {
      s += "<path d=\"" + path + "\" fill=\"none\" stroke=\"" + html_escape(line.color) + "\" stroke-width=\"2.5\"/>";
    }
    s += "<rect x=\"" + num(left + plot_w + 16) + "\" y=\"" + num(legend_y - 9) + "\" width=\"12\" height=\"12\" fill=\"" +
         html_escape(line.color) + "\"/>";
    s += text_at(left + plot_w + 34, legend_y + 1, line.name, "font-size=\"12\"");
    legend_y += 20;
  }
  s += "</svg>";
  return s;
}

std::string svg_bar_chart(const std::vector<std::pair<std::string, std::uint64_t>>& bars, const std::string& title,
                          const std::string& color) {
  const double width = 760, left = 300, right = 70, top = 34, row = 24;
  double height = top + row * static_cast<double>(std::max<std::size_t>(bars.size(), 1)) + 12;
  std::uint64_t max = 1;
  for (const auto& [label, n] : bars) max = std::max(max, n);
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"" + num(width) + "\" height=\"" +
                  num(height) + "\" viewBox=\"0 0 " + num(width) + " " + num(height) + "\">";
  s += "<title>" + html_escape(title) + "</title>";
  s += "<rect x=\"0\" y=\"0\" width=\"" + num(width) + "\" height=\"" + num(height) + "\" fill=\"#ffffff\"/>";
  s += text_at(8, 20, title, "font-weight=\"bold\" font-size=\"14\"");
  if (bars.empty()) s += text_at(left, top + 16, "none", "fill=\"#888888\"");
  double y = top;
  for (const auto& [label, n] : bars) {
    double w = (width - left - right) * static_cast<double>(n) / static_cast<double>(max);
    std::string shown = label.size() > 48 ? label.substr(0, 45) + "..." : label;
    s += text_at(left - 8, y + 15, shown, "text-anchor=\"end\" font-size=\"12\"");
    s += "<rect x=\"" + num(left) + "\" y=\"" + num(y + 3) + "\" width=\"" + num(std::max(w, 1.0)) +
         "\" height=\"16\" fill=\"" + html_escape(color) + "\"/>";
    s += text_at(left + w + 6, y + 15, std::to_string(n), "font-size=\"12\"");
    y += row;
  }
  s += "</svg>";
  return s;
}

std::string svg_rate_bars(const std::vector<std::pair<std::string, std::optional<double>>>& rates,
                          const std::string& title) {
  const double width = 760, left = 200, right = 90, top = 34, row = 30;
  double height = top + row * static_cast<double>(rates.size()) + 10;
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"" + num(width) + "\" height=\"" +
                  num(height) + "\" viewBox=\"0 0 " + num(width) + " " + num(height) + "\">";
  s += "<title>" + html_escape(title) + "</title>";
  s += "<rect x=\"0\" y=\"0\" width=\"" + num(width) + "\" height=\"" + num(height) + "\" fill=\"#ffffff\"/>";
  s += text_at(8, 20, title, "font-weight=\"bold\" font-size=\"14\"");
  double y = top;
  double full = width - left - right;
  for (const auto& [label, rate] : rates) {
    s += text_at(left - 8, y + 17, label, "text-anchor=\"end\" font-size=\"12\"");
    s += "<rect x=\"" + num(left) + "\" y=\"" + num(y + 4) + "\" width=\"" + num(full) +
         "\" height=\"18\" fill=\"#eeeeee\"/>";
    if (rate) {
      std::string color = *rate >= 0.95 ? "#2ca02c" : *rate >= 0.8 ? "#ff7f0e" : "#d62728";
      s += "<rect x=\"" + num(left) + "\" y=\"" + num(y + 4) + "\" width=\"" + num(full * std::clamp(*rate, 0.0, 1.0)) +
           "\" height=\"18\" fill=\"" + color + "\"/>";
    }
    s += text_at(left + full + 8, y + 18, rate ? pct(*rate) : "no data", "font-size=\"12\"");
    y += row;
  }
  s += "</svg>";
  return s;
}

}  // namespace mxguard::audit::report
