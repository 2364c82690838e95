#include "proxy/session/audit_observer.h"

#include "proxy/session/session_core.h"

namespace mxguard::session {

void AuditObserver::on_tls(const SessionCore& s, const TlsOutcome& outcome) {
  // Outbound, the client is the legacy MTA next door, which is never offered STARTTLS: the TLS that
  // matters there is the MX's, audited per MX as tls-policy.
  if (!log_ || s.direction() == audit::Direction::Outbound) return;
  audit::Event event(audit::EventKind::Starttls, s.direction(), s.id(), s.peer_text());
  event.verdict(outcome.verdict);
  if (outcome.verdict == audit::Verdict::Established) {
    event.set("tls_version", outcome.version).set("cipher", outcome.cipher);
    if (!outcome.sni.empty()) event.set("sni", outcome.sni);
    if (outcome.implicit) event.set("implicit_tls", true);
  } else {
    event.reason(outcome.reason);
  }
  log_->write(event);
}

}  // namespace mxguard::session
