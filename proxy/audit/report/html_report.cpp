#include "proxy/audit/report/html_report.h"

#include <algorithm>
#include <cstdio>

#include "proxy/audit/report/svg_chart.h"

namespace mxguard::audit::report {

namespace {
constexpr std::int64_t kHoursPerDay = 24;

std::string pct(std::optional<double> r) {
  if (!r) return "no data";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", *r * 100.0);
  return buf;
}

std::vector<std::pair<std::string, std::uint64_t>> top(const std::map<std::string, std::uint64_t>& m, std::size_t n) {
  std::vector<std::pair<std::string, std::uint64_t>> v(m.begin(), m.end());
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (v.size() > n) v.resize(n);
  return v;
}

std::string card(const std::string& label, const std::string& value, const std::string& note) {
  return "<div class=\"card\"><div class=\"label\">" + html_escape(label) + "</div><div class=\"value\">" +
         html_escape(value) + "</div><div class=\"note\">" + html_escape(note) + "</div></div>";
}

std::string hour_label(std::int64_t hour, bool daily) {
  Day day{std::chrono::days{hour / kHoursPerDay}};
  std::string d = format_day(day);
  if (daily) return d;
  char buf[8];
  std::snprintf(buf, sizeof buf, " %02d:00", static_cast<int>(hour % kHoursPerDay));
  return d.substr(5) + buf;
}
}  // namespace

TimeBuckets time_buckets(const Summary& s) {
  TimeBuckets b;
  if (s.hours.empty()) return b;
  std::int64_t first = s.hours.begin()->first, last = s.hours.rbegin()->first;
  bool daily = last - first > 3 * kHoursPerDay;
  std::int64_t width = daily ? kHoursPerDay : 1;
  std::int64_t start = daily ? first - first % kHoursPerDay : first;
  // Every bucket from the first to the last, empty ones too: a quiet night is a gap, not a jump.
  for (std::int64_t at = start; at <= last; at += width) {
    HourCounts sum;
    for (auto it = s.hours.lower_bound(at); it != s.hours.end() && it->first < at + width; ++it) {
      sum.inbound_sessions += it->second.inbound_sessions;
      sum.inbound_encrypted += it->second.inbound_encrypted;
      sum.outbound_deliveries += it->second.outbound_deliveries;
      sum.outbound_encrypted += it->second.outbound_encrypted;
    }
    b.labels.push_back(hour_label(at, daily));
    b.counts.push_back(sum);
  }
  return b;
}

std::string render_html_report(const Summary& s, const ReadStats& stats, const HtmlOptions& options) {
  const Summary::Inbound& in = s.inbound;
  const Summary::Outbound& ob = s.outbound;
  std::uint64_t deliveries = ob.delivered_tls + ob.delivered_plaintext;
  std::string period = s.first ? format_rfc3339_seconds(std::chrono::floor<std::chrono::seconds>(*s.first)) + " to " +
                                     format_rfc3339_seconds(std::chrono::floor<std::chrono::seconds>(*s.last))
                               : "no events";

  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>" +
                  html_escape(options.title) + "</title>\n";
  h += "<style>\nbody{font-family:'DejaVu Sans',Arial,sans-serif;margin:24px;color:#222;background:#fafafa}\n"
       "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}\n"
       ".cards{display:flex;flex-wrap:wrap;gap:12px}.card{background:#fff;border:1px solid #ddd;border-radius:6px;"
       "padding:10px 14px;min-width:150px}\n.label{font-size:12px;color:#666}.value{font-size:24px;font-weight:bold}"
       ".note{font-size:11px;color:#888}\nsvg{display:block;margin:8px 0;border:1px solid #ddd;border-radius:6px}\n"
       "table{border-collapse:collapse;background:#fff;font-size:12px}td,th{border:1px solid #ddd;padding:3px 6px;"
       "text-align:left}\nth{background:#f0f0f0}.muted{color:#888;font-size:12px}\n</style></head><body>\n";
  h += "<h1>" + html_escape(options.title) + "</h1>\n<p class=\"muted\">" + html_escape(period) + "; " +
       std::to_string(s.records) + " events, " + std::to_string(stats.bad) + " bad line(s)</p>\n";

  h += "<div class=\"cards\">";
  h += card("Inbound encrypted", pct(ratio(in.established, in.sessions)), std::to_string(in.sessions) + " sessions");
  h += card("Inbound STARTTLS success", pct(ratio(in.established, in.established + in.failed)),
            std::to_string(in.failed) + " failed handshakes");
  h += card("Outbound encrypted", pct(ratio(ob.delivered_tls, deliveries)), std::to_string(deliveries) + " deliveries");
  h += card("Outbound STARTTLS success", pct(ratio(ob.tls_established, ob.tls_attempted)),
            std::to_string(ob.tls_attempted) + " TLS attempts");
  h += card("Downgrade attempts", std::to_string(s.downgrades.size()),
            std::to_string(ob.refused) + " refused, " + std::to_string(ob.allowed_testing) + " testing");
  h += card("MTA-STS fetches", std::to_string(s.mta_sts.fetched + s.mta_sts.failed),
            std::to_string(s.mta_sts.failed) + " failed");
  h += "</div>\n";

  TimeBuckets buckets = time_buckets(s);
  LineSeries inbound{"inbound", "#1f77b4", {}};
  LineSeries outbound{"outbound", "#ff7f0e", {}};
  for (const HourCounts& c : buckets.counts) {
    inbound.values.push_back(ratio(c.inbound_encrypted, c.inbound_sessions));
    outbound.values.push_back(ratio(c.outbound_encrypted, c.outbound_deliveries));
  }
  h += "<h2>Encrypted share over time</h2>\n" +
       svg_share_chart(buckets.labels, {inbound, outbound}, "Share of sessions (inbound) and deliveries (outbound) over TLS") +
       "\n";
  h += "<h2>STARTTLS success rate</h2>\n" +
       svg_rate_bars({{"inbound", ratio(in.established, in.established + in.failed)},
                      {"outbound", ratio(ob.tls_established, ob.tls_attempted)}},
                     "TLS established / TLS attempted") +
       "\n";

  std::map<std::string, std::uint64_t> by_domain_reason;
  for (const auto& [key, n] : s.downgrades_by_domain_reason) by_domain_reason[key.first + " - " + key.second] += n;
  h += "<h2>Downgrade attempts by domain and reason</h2>\n" +
       svg_bar_chart(top(by_domain_reason, 20), "Downgrade attempts (domain - reason)", "#d62728") + "\n";
  h += "<h2>Top failing MX hosts</h2>\n" +
       svg_bar_chart(top(ob.failures_by_mx, 15), "MX decisions with a TLS failure, by MX host", "#9467bd") + "\n";
  if (!in.failures_by_reason.empty() || !ob.failures_by_reason.empty()) {
    std::map<std::string, std::uint64_t> reasons;
    for (const auto& [r, n] : in.failures_by_reason) reasons["inbound: " + r] += n;
    for (const auto& [r, n] : ob.failures_by_reason) reasons["outbound: " + r] += n;
    h += "<h2>Handshake failures by reason</h2>\n" +
         svg_bar_chart(top(reasons, 20), "Failures by reason", "#8c564b") + "\n";
  }
  if (!s.mta_sts.failures_by_domain.empty()) {
    h += "<h2>MTA-STS fetch failures</h2>\n" +
         svg_bar_chart(top(s.mta_sts.failures_by_domain, 15), "Failed MTA-STS policy fetches, by domain", "#7f7f7f") + "\n";
  }

  h += "<h2>Downgrade attempts</h2>\n";
  if (s.downgrades.empty()) {
    h += "<p class=\"muted\">none</p>\n";
  } else {
    h += "<table><tr><th>time</th><th>kind</th><th>direction</th><th>peer</th><th>domain</th><th>MX</th>"
         "<th>reason</th></tr>\n";
    std::size_t shown = 0;
    for (const DowngradeAttempt& d : s.downgrades) {
      if (shown++ == options.max_listed) break;
      h += "<tr><td>" + html_escape(d.ts_text) + "</td><td>" + html_escape(d.kind) + "</td><td>" +
           html_escape(d.direction) + "</td><td>" + html_escape(d.peer) + "</td><td>" + html_escape(d.domain) +
           "</td><td>" + html_escape(d.mx) + "</td><td>" + html_escape(d.reason) + "</td></tr>\n";
    }
    h += "</table>\n";
    if (s.downgrades.size() > options.max_listed) {
      h += "<p class=\"muted\">" + std::to_string(s.downgrades.size() - options.max_listed) +
           " more: see mxguard audit --json</p>\n";
    }
  }
  if (!options.generated_at.empty()) {
    h += "<p class=\"muted\">generated by mxguard audit at " + html_escape(options.generated_at) + "</p>\n";
  }
  h += "</body></html>\n";
  return h;
}

}  // namespace mxguard::audit::report
