// What the observer counts for outbound connections, policy decisions and MTA-STS fetches (the session
// hooks are exercised with real sessions in tests/integration/test_metrics.py).
#include "proxy/metrics/metrics_observer.h"

#include <gtest/gtest.h>

namespace mxguard::metrics {
namespace {

using outbound::MxConnection;
using outbound::TlsAttempt;
constexpr std::size_t kOut = ix(audit::Direction::Outbound);

TEST(MetricsObserver, AnMxConnectionCountsItsStarttlsStepsAndItsTlsState) {
  WorkerMetrics m;
  MetricsObserver o(m);
  o.on_mx_connection({.decided = true, .starttls_offered = true, .tls = TlsAttempt::Established,
                      .handshake_time = std::chrono::milliseconds(3)});
  o.on_mx_connection({.decided = true, .starttls_offered = true, .tls = TlsAttempt::Failed,
                      .handshake_failure = session::HandshakeFailure::Certificate});
  o.on_mx_connection({.decided = true, .starttls_offered = true, .tls = TlsAttempt::Declined});
  o.on_mx_connection({.decided = true, .starttls_offered = false, .tls = TlsAttempt::None});
  // A dialogue that never reached a TLS decision (a 554 greeting): no session, but what it showed counts.
  o.on_mx_connection({.decided = false, .starttls_offered = true, .tls = TlsAttempt::Sent});
  EXPECT_EQ(m.starttls_offered[kOut].value(), 4u);
  EXPECT_EQ(m.starttls_attempted[kOut].value(), 4u);
  EXPECT_EQ(m.starttls_succeeded[kOut].value(), 1u);
  EXPECT_EQ(m.sessions[kOut][ix(TlsState::Established)].value(), 1u);
  EXPECT_EQ(m.sessions[kOut][ix(TlsState::Failed)].value(), 1u);
  EXPECT_EQ(m.sessions[kOut][ix(TlsState::None)].value(), 2u) << "declined and not offered: no TLS";
  EXPECT_EQ(m.handshake_failures[kOut][ix(session::HandshakeFailure::Certificate)].value(), 1u);
  EXPECT_EQ(m.handshake_seconds[kOut].counts()[3].value(), 1u) << "3 ms: le 0.005";
  EXPECT_EQ(m.handshake_seconds[kOut].sum_ns(), 3'000'000u);
  EXPECT_EQ(m.sessions[0][0].value() + m.starttls_offered[0].value(), 0u) << "nothing inbound";
}

TEST(MetricsObserver, DecisionsCountByLevelSourceAndVerdictAndFailuresByReason) {
  WorkerMetrics m;
  MetricsObserver o(m);
  policy::EffectivePolicy sts{.domain = "example.org", .level = policy::TlsLevel::MtaSts, .source = policy::PolicySource::MtaSts};
  policy::EffectivePolicy may{.domain = "example.net"};
  o.on_mx_decision({&sts, audit::Verdict::Refused, policy::ResultType::CertificateHostMismatch});
  o.on_mx_decision({&sts, audit::Verdict::AllowedTesting, policy::ResultType::StarttlsNotSupported});
  o.on_mx_decision({&may, audit::Verdict::Delivered, policy::ResultType::StarttlsNotSupported});
  const auto& v = m.policy_verdicts;
  EXPECT_EQ(v[ix(policy::TlsLevel::MtaSts)][ix(policy::PolicySource::MtaSts)][ix(PolicyVerdict::Refused)].value(), 1u);
  EXPECT_EQ(v[ix(policy::TlsLevel::MtaSts)][ix(policy::PolicySource::MtaSts)][ix(PolicyVerdict::AllowedTesting)].value(), 1u);
  EXPECT_EQ(v[ix(policy::TlsLevel::May)][ix(policy::PolicySource::Default)][ix(PolicyVerdict::Delivered)].value(), 1u);
  EXPECT_EQ(m.policy_failures[0][ix(policy::ResultType::CertificateHostMismatch)].value(), 1u);
  EXPECT_EQ(m.policy_failures[1][ix(policy::ResultType::StarttlsNotSupported)].value(), 1u);
  EXPECT_EQ(m.policy_failures[0][ix(policy::ResultType::StarttlsNotSupported)].value(), 0u)
      << "a delivery at may is no failure, whatever it lacked";
}

TEST(MetricsObserver, FetchReportsCountByResult) {
  WorkerMetrics m;
  MetricsObserver o(m);
  mta_sts::FetchReport r;
  r.result = mta_sts::FetchReport::Result::Fetched;
  o.on_fetch(r);
  o.on_fetch(r);
  r.result = mta_sts::FetchReport::Result::PolicyInvalid;
  o.on_fetch(r);
  EXPECT_EQ(m.sts_fetches[ix(StsFetch::Fetched)].value(), 2u);
  EXPECT_EQ(m.sts_fetches[ix(StsFetch::PolicyInvalid)].value(), 1u);
  EXPECT_EQ(m.sts_fetches[ix(StsFetch::FetchError)].value(), 0u);
}

}  // namespace
}  // namespace mxguard::metrics
