#include "proxy/audit/report/summary.h"

#include <algorithm>

namespace mxguard::audit::report {

std::optional<double> ratio(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) return std::nullopt;
  return static_cast<double>(part) / static_cast<double>(whole);
}

namespace {
std::int64_t hour_of(Time t) {
  return std::chrono::floor<std::chrono::hours>(t).time_since_epoch().count();
}
std::string or_unknown(const std::string& s) { return s.empty() ? "(none given)" : s; }
}  // namespace

void SummaryBuilder::add(const Record& r) {
  ++s_.records;
  ++s_.events[r.event];
  if (!s_.first || r.ts < *s_.first) s_.first = r.ts;
  if (!s_.last || r.ts > *s_.last) s_.last = r.ts;
  if (!r.kind) return;
  switch (*r.kind) {
    case EventKind::Starttls: add_starttls(r); break;
    case EventKind::TlsPolicy: add_tls_policy(r); break;
    case EventKind::MtaStsFetch: add_fetch(r); break;
    case EventKind::PlaintextInjection: note_downgrade(r, "plaintext-injection", r.reason); break;
    case EventKind::DowngradeAttempt: note_downgrade(r, "downgrade-attempt", r.reason); break;
    case EventKind::TlsReportRelayed: ++s_.outbound.reports_relayed; break;
    case EventKind::ReplyUndelivered:
    case EventKind::DeliveryUnknown:
    case EventKind::SessionRefused:
    case EventKind::ExceptionLapsed: break;   // counted in `events` only: not TLS outcomes
  }
}

void SummaryBuilder::add_starttls(const Record& r) {
  Summary::Inbound& in = s_.inbound;
  HourCounts& hour = s_.hours[hour_of(r.ts)];
  ++in.sessions;
  ++hour.inbound_sessions;
  if (r.implicit_tls) ++in.implicit_tls;
  if (r.verdict == Verdict::Established) {
    ++in.established;
    ++hour.inbound_encrypted;
    ++in.tls_versions[or_unknown(r.tls_version)];
  } else if (r.verdict == Verdict::Failed) {
    ++in.failed;
    ++in.failures_by_reason[or_unknown(r.reason)];
    note_downgrade(r, "starttls-failed", r.reason);
  } else {
    ++in.skipped;
  }
}

void SummaryBuilder::add_tls_policy(const Record& r) {
  Summary::Outbound& out = s_.outbound;
  ++out.decisions;
  if (!r.session.empty() && outbound_sessions_.insert(r.session).second) ++out.sessions;
  bool tls = !r.tls_version.empty();
  bool delivered = r.verdict == Verdict::Delivered || r.verdict == Verdict::AllowedTesting;
  if (delivered) {
    HourCounts& hour = s_.hours[hour_of(r.ts)];
    ++hour.outbound_deliveries;
    if (tls) ++hour.outbound_encrypted;
    ++(tls ? out.delivered_tls : out.delivered_plaintext);
  }
  if (tls) {
    ++out.tls_established;
    ++out.tls_versions[r.tls_version];
  }
  bool connected = !r.mx_address.empty();
  if (tls || (connected && !r.plaintext_retry && !r.reason.empty() && r.reason != "starttls-not-supported" &&
              r.verdict != Verdict::Delivered)) {
    ++out.tls_attempted;
  }
  if (!r.reason.empty() && !r.plaintext_retry) {
    ++out.failures_by_reason[r.reason];
    ++out.failures_by_mx[or_unknown(r.mx)];
  }
  if (r.verdict == Verdict::Refused) {
    ++out.refused;
    note_downgrade(r, "refused", r.reason);
  } else if (r.verdict == Verdict::AllowedTesting) {
    ++out.allowed_testing;
    note_downgrade(r, "allowed-testing", r.reason);
  } else if (r.verdict == Verdict::Failed) {
    ++out.tls_failed;
    note_downgrade(r, "tls-failed", r.reason);
  } else if (r.verdict == Verdict::Delivered && !tls && !r.plaintext_retry && r.reason == "starttls-not-supported") {
    // STARTTLS missing from the EHLO reply and the policy let the mail go in plaintext: the one thing a
    // stripping attacker produces, and indistinguishable from an MX without TLS.
    note_downgrade(r, "starttls-missing", r.reason);
  }
}

void SummaryBuilder::add_fetch(const Record& r) {
  Summary::Fetches& f = s_.mta_sts;
  if (r.verdict == Verdict::Fetched) {
    ++f.fetched;
    if (r.changed) ++f.changed;
  } else {
    ++f.failed;
    ++f.failures_by_reason[or_unknown(r.reason)];
    ++f.failures_by_domain[or_unknown(r.domain)];
  }
}

void SummaryBuilder::note_downgrade(const Record& r, std::string kind, std::string reason) {
  ++s_.downgrades_by_domain_reason[{r.domain.empty() ? "(no domain)" : r.domain, or_unknown(reason)}];
  s_.downgrades.push_back(DowngradeAttempt{std::move(kind), r.ts, r.ts_text, std::string(to_string(r.direction)),
                                           r.session, r.peer, r.domain, r.mx, std::move(reason), r.detail});
}

Summary SummaryBuilder::finish() {
  outbound_sessions_.clear();
  // Files may come in any order (audit.jsonl before audit.jsonl.1): the listing is by time.
  std::stable_sort(s_.downgrades.begin(), s_.downgrades.end(),
                   [](const DowngradeAttempt& a, const DowngradeAttempt& b) { return a.ts < b.ts; });
  return std::move(s_);
}

}  // namespace mxguard::audit::report
