#pragma once
// A worker's metrics as an observer: of its sessions (session::SessionObserver), of its outbound links'
// MX decisions and connections (outbound::MxObserver), and of its MTA-STS agent's fetch reports. One per
// worker, called only on that worker's loop thread, writing only that worker's WorkerMetrics; it keeps
// no per-session state (what it needs at a session's end, the session itself tells).
#include "policy/mta_sts/agent.h"
#include "proxy/metrics/worker_metrics.h"
#include "proxy/outbound/mx_observer.h"
#include "proxy/session/observer.h"

namespace mxguard::metrics {

class MetricsObserver : public session::SessionObserver, public outbound::MxObserver {
 public:
  explicit MetricsObserver(WorkerMetrics& metrics) : m_(metrics) {}

  // session::SessionObserver
  void on_start(const session::SessionCore& s) override;
  void on_state(const session::SessionCore& s, session::Phase from, session::Phase to) override;
  void on_starttls_offered(const session::SessionCore& s) override;
  void on_tls(const session::SessionCore& s, const session::TlsOutcome& outcome) override;
  void on_downgrade_refused(const session::SessionCore& s) override;
  void on_refused_at_door(const session::SessionCore& s, session::ConnectionLimiter::Verdict why) override;
  void on_abuse_penalty(const session::SessionCore& s) override;
  void on_end(const session::SessionCore& s) override;

  // outbound::MxObserver
  void on_mx_decision(const outbound::MxDecision& decision) override;
  void on_mx_connection(const outbound::MxConnection& connection) override;

  // The loop's MTA-STS agent reported a fetch (or an unusable TXT record).
  void on_fetch(const mta_sts::FetchReport& report);

 private:
  WorkerMetrics& m_;
};

}  // namespace mxguard::metrics
