#include "proxy/audit/report/summary_render.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "base/log_text.h"

namespace mxguard::audit::report {

namespace {
using nlohmann::ordered_json;

std::string percent(std::optional<double> r) {
  if (!r) return "no data";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", *r * 100.0);
  return buf;
}

std::string count_of(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) return "no data";
  return percent(ratio(part, whole)) + " (" + std::to_string(part) + " of " + std::to_string(whole) + ")";
}

void row(std::string& out, std::string_view label, const std::string& value) {
  std::string l = "  " + std::string(label) + ":";
  l.resize(std::max<std::size_t>(l.size() + 1, 36), ' ');
  out += l + value + "\n";
}

// Largest first, then by name; at most `limit` entries.
std::vector<std::pair<std::string, std::uint64_t>> ranked(const std::map<std::string, std::uint64_t>& m,
                                                          std::size_t limit = SIZE_MAX) {
  std::vector<std::pair<std::string, std::uint64_t>> v(m.begin(), m.end());
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (v.size() > limit) v.resize(limit);
  return v;
}

void counted_list(std::string& out, std::string_view title, const std::map<std::string, std::uint64_t>& m,
                  std::size_t limit = SIZE_MAX) {
  if (m.empty()) return;
  out += "  " + std::string(title) + ":\n";
  for (const auto& [name, n] : ranked(m, limit)) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "    %8llu  ", static_cast<unsigned long long>(n));
    out += buf + log_text::sanitize(name, 200) + "\n";
  }
}

std::string inline_counts(const std::map<std::string, std::uint64_t>& m) {
  std::string out;
  for (const auto& [name, n] : ranked(m)) out += (out.empty() ? "" : ", ") + name + " " + std::to_string(n);
  return out.empty() ? "-" : out;
}

std::string dash(const std::string& s) { return s.empty() ? "-" : log_text::sanitize(s, 200); }

ordered_json share(std::optional<double> r) { return r ? ordered_json(*r) : ordered_json(nullptr); }

ordered_json counts(const std::map<std::string, std::uint64_t>& m) {
  ordered_json j = ordered_json::object();
  for (const auto& [name, n] : ranked(m)) j[name] = n;
  return j;
}
}  // namespace

std::string render_summary_text(const Summary& s, const ReadStats& stats) {
  std::string out = "mxguard audit: " + std::to_string(s.records) + " event(s)";
  if (s.first) {
    out += " from " + format_rfc3339_seconds(std::chrono::floor<std::chrono::seconds>(*s.first)) + " to " +
           format_rfc3339_seconds(std::chrono::floor<std::chrono::seconds>(*s.last));
  }
  out += "; " + std::to_string(stats.lines) + " line(s) read, " + std::to_string(stats.bad) + " bad\n\n";

  const Summary::Inbound& in = s.inbound;
  out += "Inbound (remote MTAs -> mxguard -> legacy MTA)\n";
  row(out, "sessions", std::to_string(in.sessions));
  row(out, "encrypted", count_of(in.established, in.sessions));
  row(out, "STARTTLS success rate", count_of(in.established, in.established + in.failed));
  row(out, "plaintext (no STARTTLS)", std::to_string(in.skipped));
  if (in.implicit_tls > 0) row(out, "implicit TLS", std::to_string(in.implicit_tls));
  row(out, "TLS versions", inline_counts(in.tls_versions));
  counted_list(out, "handshake failures by reason", in.failures_by_reason);

  const Summary::Outbound& ob = s.outbound;
  out += "\nOutbound (legacy MTA -> mxguard -> remote MX)\n";
  row(out, "legacy MTA sessions", std::to_string(ob.sessions));
  row(out, "MX decisions", std::to_string(ob.decisions));
  std::uint64_t deliveries = ob.delivered_tls + ob.delivered_plaintext;
  row(out, "deliveries", std::to_string(deliveries));
  row(out, "encrypted", count_of(ob.delivered_tls, deliveries));
  row(out, "STARTTLS success rate", count_of(ob.tls_established, ob.tls_attempted));
  row(out, "refused by policy", std::to_string(ob.refused));
  row(out, "allowed in testing mode", std::to_string(ob.allowed_testing));
  row(out, "TLS failed, retried in plaintext", std::to_string(ob.tls_failed));
  row(out, "TLS reports relayed", std::to_string(ob.reports_relayed));
  row(out, "TLS versions", inline_counts(ob.tls_versions));
  counted_list(out, "handshake failures by reason", ob.failures_by_reason);
  counted_list(out, "top failing MX hosts", ob.failures_by_mx, 10);

  const Summary::Fetches& f = s.mta_sts;
  out += "\nMTA-STS policy fetches\n";
  row(out, "fetched", std::to_string(f.fetched) + " (" + std::to_string(f.changed) + " new or changed)");
  row(out, "failed", std::to_string(f.failed));
  counted_list(out, "failures by reason", f.failures_by_reason);
  counted_list(out, "failures by domain", f.failures_by_domain, 20);

  out += "\nDowngrade attempts (" + std::to_string(s.downgrades.size()) + ")\n";
  for (const DowngradeAttempt& d : s.downgrades) {
    out += "  " + d.ts_text + "  " + d.kind + "  " + d.direction + "  peer " + dash(d.peer) + "  domain " +
           dash(d.domain) + "  mx " + dash(d.mx) + "  reason " + dash(d.reason) + "\n";
  }

  if (stats.bad > 0) {
    out += "\nBad lines (" + std::to_string(stats.bad) + ")\n";
    for (const BadLine& b : stats.bad_lines) {
      out += "  " + b.file + ":" + std::to_string(b.line) + ": " + log_text::sanitize(b.why, 200) + "\n";
    }
    if (stats.bad > stats.bad_lines.size()) {
      out += "  ... and " + std::to_string(stats.bad - stats.bad_lines.size()) + " more\n";
    }
  }
  return out;
}

ordered_json summary_json(const Summary& s, const ReadStats& stats) {
  ordered_json j;
  j["events"] = s.records;
  j["first"] = s.first ? ordered_json(format_rfc3339_seconds(std::chrono::floor<std::chrono::seconds>(*s.first)))
                       : ordered_json(nullptr);
  j["last"] = s.last ? ordered_json(format_rfc3339_seconds(std::chrono::floor<std::chrono::seconds>(*s.last)))
                     : ordered_json(nullptr);
  ordered_json bad = ordered_json::array();
  for (const BadLine& b : stats.bad_lines) bad.push_back({{"file", b.file}, {"line", b.line}, {"why", b.why}});
  j["lines"] = stats.lines;
  j["bad_lines"] = {{"count", stats.bad}, {"first", bad}};

  const Summary::Inbound& in = s.inbound;
  j["inbound"] = {{"sessions", in.sessions},
                  {"established", in.established},
                  {"failed", in.failed},
                  {"skipped", in.skipped},
                  {"implicit_tls", in.implicit_tls},
                  {"encrypted_share", share(ratio(in.established, in.sessions))},
                  {"starttls_success_rate", share(ratio(in.established, in.established + in.failed))},
                  {"failures_by_reason", counts(in.failures_by_reason)},
                  {"tls_versions", counts(in.tls_versions)}};
  const Summary::Outbound& ob = s.outbound;
  std::uint64_t deliveries = ob.delivered_tls + ob.delivered_plaintext;
  j["outbound"] = {{"sessions", ob.sessions},
                   {"decisions", ob.decisions},
                   {"deliveries", deliveries},
                   {"delivered_tls", ob.delivered_tls},
                   {"delivered_plaintext", ob.delivered_plaintext},
                   {"refused", ob.refused},
                   {"allowed_testing", ob.allowed_testing},
                   {"tls_failed", ob.tls_failed},
                   {"tls_attempted", ob.tls_attempted},
                   {"tls_established", ob.tls_established},
                   {"reports_relayed", ob.reports_relayed},
                   {"encrypted_share", share(ratio(ob.delivered_tls, deliveries))},
                   {"starttls_success_rate", share(ratio(ob.tls_established, ob.tls_attempted))},
                   {"failures_by_reason", counts(ob.failures_by_reason)},
                   {"failures_by_mx", counts(ob.failures_by_mx)},
                   {"tls_versions", counts(ob.tls_versions)}};
  const Summary::Fetches& f = s.mta_sts;
  j["mta_sts"] = {{"fetched", f.fetched},
                  {"changed", f.changed},
                  {"failed", f.failed},
                  {"failures_by_reason", counts(f.failures_by_reason)},
                  {"failures_by_domain", counts(f.failures_by_domain)}};
  ordered_json list = ordered_json::array();
  for (const DowngradeAttempt& d : s.downgrades) {
    list.push_back({{"kind", d.kind},
                    {"ts", d.ts_text},
                    {"direction", d.direction},
                    {"session", d.session},
                    {"peer", d.peer},
                    {"domain", d.domain},
                    {"mx", d.mx},
                    {"reason", d.reason},
                    {"detail", d.detail}});
  }
  j["downgrades"] = list;
  ordered_json by = ordered_json::array();
  for (const auto& [key, n] : s.downgrades_by_domain_reason) {
    by.push_back({{"domain", key.first}, {"reason", key.second}, {"count", n}});
  }
  j["downgrades_by_domain_reason"] = by;
  j["events_by_name"] = counts(s.events);
  return j;
}

}  // namespace mxguard::audit::report
