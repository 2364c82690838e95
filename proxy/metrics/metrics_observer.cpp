#include "proxy/metrics/metrics_observer.h"

#include <uv.h>

#include "proxy/session/session_core.h"

namespace mxguard::metrics {

using audit::Direction;

namespace {
std::uint64_t ns(std::chrono::nanoseconds d) { return d.count() < 0 ? 0 : static_cast<std::uint64_t>(d.count()); }
}  // namespace

void MetricsObserver::on_start(const session::SessionCore& s) { m_.active[ix(s.direction())].add(1); }

void MetricsObserver::on_state(const session::SessionCore& s, session::Phase, session::Phase to) {
  // Only an accepted STARTTLS enters this phase (a refused one is answered in Command).
  if (to == session::Phase::StarttlsPending) m_.starttls_attempted[ix(s.direction())].add();
}

void MetricsObserver::on_starttls_offered(const session::SessionCore& s) {
  m_.starttls_offered[ix(s.direction())].add();
}

void MetricsObserver::on_tls(const session::SessionCore& s, const session::TlsOutcome& outcome) {
  // Outbound, the client is the legacy MTA next door, which is never offered TLS: the TLS that counts
  // there is the MX's (on_mx_connection).
  if (s.direction() == Direction::Outbound) return;
  std::size_t d = ix(s.direction());
  if (outcome.verdict == audit::Verdict::Established) {
    if (!outcome.implicit) m_.starttls_succeeded[d].add();   // implicit TLS (RFC 8314) is not STARTTLS
    m_.handshake_seconds[d].observe_ns(ns(outcome.handshake_time));
  } else if (outcome.verdict == audit::Verdict::Failed) {
    m_.handshake_failures[d][ix(outcome.failure)].add();
  }
}

void MetricsObserver::on_downgrade_refused(const session::SessionCore&) { m_.downgrades_refused.add(); }
void MetricsObserver::on_refused_at_door(const session::SessionCore& s, session::ConnectionLimiter::Verdict why) {
  m_.refused_at_door[ix(s.direction())][ix(why)].add();
}
void MetricsObserver::on_abuse_penalty(const session::SessionCore& s) { m_.abuse_penalties[ix(s.direction())].add(); }

void MetricsObserver::on_end(const session::SessionCore& s) {
  std::size_t d = ix(s.direction());
  m_.active[d].add(-1);
  m_.session_seconds[d].observe_ns(uv_hrtime() - s.started_ns());
  m_.relayed_bytes[d].add(s.content_bytes_relayed());
  if (s.direction() == Direction::Inbound) {
    TlsState state = s.tls_active()                                  ? TlsState::Established
                     : s.tls_verdict() == audit::Verdict::Failed ? TlsState::Failed
                                                                     : TlsState::None;
    m_.sessions[d][ix(state)].add();
  }
}

void MetricsObserver::on_mx_decision(const outbound::MxDecision& decision) {
  PolicyVerdict verdict = decision.verdict == audit::Verdict::Delivered        ? PolicyVerdict::Delivered
                          : decision.verdict == audit::Verdict::AllowedTesting ? PolicyVerdict::AllowedTesting
                                                                               : PolicyVerdict::Refused;
  m_.policy_verdicts[ix(decision.policy->level)][ix(decision.policy->source)][ix(verdict)].add();
  if (verdict != PolicyVerdict::Delivered && decision.reason != policy::ResultType::None) {
    m_.policy_failures[verdict == PolicyVerdict::Refused ? 0 : 1][ix(decision.reason)].add();
  }
}

void MetricsObserver::on_mx_connection(const outbound::MxConnection& c) {
  constexpr std::size_t d = ix(Direction::Outbound);
  if (c.starttls_offered) m_.starttls_offered[d].add();
  if (c.tls != outbound::TlsAttempt::None) m_.starttls_attempted[d].add();
  if (c.tls == outbound::TlsAttempt::Established) {
    m_.starttls_succeeded[d].add();
    m_.handshake_seconds[d].observe_ns(ns(c.handshake_time));
  }
  if (c.handshake_failure) m_.handshake_failures[d][ix(*c.handshake_failure)].add();
  if (c.decided) {
    TlsState state = c.tls == outbound::TlsAttempt::Established ? TlsState::Established
                     : c.tls == outbound::TlsAttempt::Failed    ? TlsState::Failed
                                                                : TlsState::None;
    m_.sessions[d][ix(state)].add();
  }
}

void MetricsObserver::on_fetch(const mta_sts::FetchReport& report) {
  StsFetch f = StsFetch::FetchError;
  switch (report.result) {
    case mta_sts::FetchReport::Result::Fetched: f = StsFetch::Fetched; break;
    case mta_sts::FetchReport::Result::FetchError: f = StsFetch::FetchError; break;
    case mta_sts::FetchReport::Result::PolicyInvalid: f = StsFetch::PolicyInvalid; break;
    case mta_sts::FetchReport::Result::WebPkiInvalid: f = StsFetch::WebPkiInvalid; break;
  }
  m_.sts_fetches[ix(f)].add();
}

}  // namespace mxguard::metrics
