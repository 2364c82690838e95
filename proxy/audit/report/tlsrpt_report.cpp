#include "proxy/audit/report/tlsrpt_report.h"

#include <algorithm>
#include <cstdio>

#include "base/ascii.h"
#include "policy/mta_sts/policy_file.h"

namespace mxguard::audit::report {

namespace {
using nlohmann::ordered_json;

constexpr std::string_view kResultTypes[] = {
    "starttls-not-supported", "certificate-host-mismatch", "certificate-expired", "certificate-not-trusted",
    "validation-failure",     "tlsa-invalid",              "dnssec-invalid",      "dane-required",
    "sts-policy-fetch-error", "sts-policy-invalid",        "sts-webpki-invalid"};

std::string result_type(const std::string& reason) {
  for (std::string_view t : kResultTypes) {
    if (reason == t) return reason;
  }
  return "validation-failure";   // RFC 8460 §4.3.1: the catch-all
}

bool ascii_name(std::string_view d) {
  if (d.empty()) return false;
  for (char c : d) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  return true;
}

// "198.51.100.1:25" -> "198.51.100.1", "[2001:db8::1]:25" -> "2001:db8::1".
std::string address_without_port(std::string_view a) {
  if (a.starts_with('[')) {
    std::size_t close = a.find(']');
    return std::string(a.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
  }
  std::size_t colon = a.rfind(':');
  if (colon != std::string_view::npos && a.find(':') == colon) return std::string(a.substr(0, colon));
  return std::string(a);
}

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& l : lines) text += l + "\n";
  return text;
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}
}  // namespace

void TlsrptBuilder::add(const Record& r, bool counted) {
  if (!r.kind) return;
  if (*r.kind == EventKind::MtaStsFetch && r.verdict == Verdict::Fetched && !r.id.empty() && !r.policy_lines.empty()) {
    texts_[{ascii::lower(r.domain), r.id}] = r.policy_lines;   // the last fetch of an id wins
    return;
  }
  if (*r.kind == EventKind::TlsReportRelayed && r.transaction) {
    report_transactions_.insert({r.session, *r.transaction});
    return;
  }
  if (*r.kind != EventKind::TlsPolicy || !counted) return;
  if (r.policy == "none" || r.plaintext_retry) return;
  std::string domain = ascii::lower(r.domain);
  if (domain.ends_with('.')) domain.pop_back();
  if (!ascii_name(domain)) {
    if (!domain.empty()) skipped_domains_.insert(domain);
    return;
  }
  Decision d;
  d.session = r.session;
  d.transaction = r.transaction.value_or(0);
  d.domain = std::move(domain);
  d.policy_id = r.policy_source == "mta-sts" ? r.policy_id : std::string();
  if (r.policy_source == "dane" && !r.tlsa.empty()) {
    d.tlsa_key = ascii::lower(r.mx);
    for (const std::string& rr : r.tlsa) d.tlsa_key += "\n" + rr;
  }
  d.day = day_of(r.ts);
  d.success = r.verdict == Verdict::Delivered && r.reason.empty();
  if (!d.success) {
    d.failure = FailureDetail{result_type(r.reason), r.sending_ip, ascii::lower(r.mx),
                              address_without_port(r.mx_address), 1};
  }
  decisions_.push_back(std::move(d));
}

std::vector<DomainReport> TlsrptBuilder::finish(const PolicyTexts& more_texts) {
  // By (day, domain), then by policy id ("" = no-policy-found, placed last).
  struct Counts {
    std::uint64_t successful = 0, failed = 0;
    std::map<std::tuple<std::string, std::string, std::string, std::string>, std::uint64_t> failures;
  };
  std::map<std::pair<Day, std::string>, std::map<std::string, Counts>> by_report;
  for (const Decision& d : decisions_) {
    if (d.transaction > 0 && report_transactions_.count({d.session, d.transaction})) {
      ++excluded_;
      continue;
    }
    // The inner key orders the policies: "1<id>" sts, "2<mx>\n<records>" tlsa, "3" no-policy-found.
    std::string key = !d.policy_id.empty() ? "1" + d.policy_id : !d.tlsa_key.empty() ? "2" + d.tlsa_key : "3";
    Counts& c = by_report[{d.day, d.domain}][key];
    if (d.success) {
      ++c.successful;
    } else {
      ++c.failed;
      ++c.failures[{d.failure.result_type, d.failure.sending_ip, d.failure.mx_host, d.failure.receiving_ip}];
    }
  }
  decisions_.clear();

  std::vector<DomainReport> reports;
  for (auto& [key, policies] : by_report) {
    DomainReport report{key.second, key.first, {}};
    for (const auto& [policy_key, c] : policies) {
      PolicyReport p;
      p.successful = c.successful;
      p.failed = c.failed;
      if (policy_key[0] == '2') {
        // DANE: the MX host, then its TLSA records (RFC 8460 §4.4: policy-string holds the records).
        std::string rest = policy_key.substr(1);
        std::size_t cut = rest.find('\n');
        p.type = "tlsa";
        p.mx_patterns = {rest.substr(0, cut)};
        while (cut != std::string::npos) {
          std::size_t next = rest.find('\n', cut + 1);
          p.policy_lines.push_back(rest.substr(cut + 1, next == std::string::npos ? std::string::npos : next - cut - 1));
          cut = next;
        }
      } else if (policy_key[0] == '1') {
        std::string id = policy_key.substr(1);
        p.type = "sts";
        p.policy_id = id;
        const std::vector<std::string>* lines = nullptr;
        if (auto t = texts_.find({report.domain, id}); t != texts_.end()) {
          lines = &t->second;
        } else if (auto m = more_texts.find({report.domain, id}); m != more_texts.end()) {
          lines = &m->second;
        }
        if (lines) {
          p.policy_lines = *lines;
          auto parsed = mta_sts::parse_policy(joined(p.policy_lines));
          if (auto* policy = std::get_if<mta_sts::Policy>(&parsed)) p.mx_patterns = policy->mx;
        } else {
          p.missing_text = true;
        }
      } else {
        p.type = "no-policy-found";
      }
      for (const auto& [f, n] : c.failures) {
        p.failures.push_back(FailureDetail{std::get<0>(f), std::get<1>(f), std::get<2>(f), std::get<3>(f), n});
      }
      std::stable_sort(p.failures.begin(), p.failures.end(),
                       [](const FailureDetail& a, const FailureDetail& b) { return a.sessions > b.sessions; });
      report.policies.push_back(std::move(p));
    }
    reports.push_back(std::move(report));
  }
  return reports;
}

std::string report_id(const DomainReport& report, const ReportIdentity& who) {
  return format_day(report.day) + "." + report.domain + "@" + who.submitter;
}

std::string report_file_name(const DomainReport& report, const ReportIdentity& who) {
  auto begin = std::chrono::sys_seconds{report.day}.time_since_epoch().count();
  auto end = begin + 86399;
  char unique[24];
  std::snprintf(unique, sizeof unique, "%010llx",
                static_cast<unsigned long long>(fnv1a(report_id(report, who)) & 0xffffffffffull));
  return who.submitter + "!" + report.domain + "!" + std::to_string(begin) + "!" + std::to_string(end) + "!" + unique +
         ".json.gz";
}

ordered_json report_json(const DomainReport& report, const ReportIdentity& who) {
  std::chrono::sys_seconds begin{report.day};
  ordered_json j;
  j["organization-name"] = who.organization;
  j["date-range"] = {{"start-datetime", format_rfc3339_seconds(begin)},
                     {"end-datetime", format_rfc3339_seconds(begin + std::chrono::seconds(86399))}};
  j["contact-info"] = who.contact;
  j["report-id"] = report_id(report, who);
  ordered_json policies = ordered_json::array();
  for (const PolicyReport& p : report.policies) {
    ordered_json policy;
    policy["policy-type"] = p.type;
    if (!p.policy_lines.empty()) policy["policy-string"] = p.policy_lines;
    policy["policy-domain"] = report.domain;
    if (!p.mx_patterns.empty()) policy["mx-host"] = p.mx_patterns;
    ordered_json entry;
    entry["policy"] = policy;
    entry["summary"] = {{"total-successful-session-count", p.successful}, {"total-failure-session-count", p.failed}};
    if (!p.failures.empty()) {
      ordered_json details = ordered_json::array();
      for (const FailureDetail& f : p.failures) {
        ordered_json d;
        d["result-type"] = f.result_type;
        if (!f.sending_ip.empty()) d["sending-mta-ip"] = f.sending_ip;
        if (!f.mx_host.empty()) d["receiving-mx-hostname"] = f.mx_host;
        if (!f.receiving_ip.empty()) d["receiving-ip"] = f.receiving_ip;
        d["failed-session-count"] = f.sessions;
        details.push_back(std::move(d));
      }
      entry["failure-details"] = std::move(details);
    }
    policies.push_back(std::move(entry));
  }
  j["policies"] = std::move(policies);
  return j;
}

}  // namespace mxguard::audit::report
