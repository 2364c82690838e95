#pragma once
// The audit log's view of a session: the one TLS verdict each inbound session gets (established, failed
// or skipped), written as design.md's `starttls` event. One per worker; it keeps no per-session state.
#include "proxy/audit/audit_log.h"
#include "proxy/session/observer.h"

namespace mxguard::session {

class AuditObserver : public SessionObserver {
 public:
  explicit AuditObserver(audit::Log* log) : log_(log) {}
  void on_tls(const SessionCore& s, const TlsOutcome& outcome) override;

 private:
  audit::Log* log_;
};

}  // namespace mxguard::session
