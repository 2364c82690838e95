#pragma once
// What the link to a recipient domain's MX hosts tells the rest of the process, beside the audit events
// it writes itself: each policy decision about an MX, and what became of TLS on each connection. The
// metrics implement it (proxy/metrics); the outbound code knows only this interface. Calls come on the
// session's loop thread.
#include <chrono>
#include <optional>

#include "policy/verdict.h"
#include "proxy/audit/events.h"
#include "proxy/outbound/mx_dialogue.h"
#include "proxy/session/observer.h"

namespace mxguard::outbound {

// One TLS decision about an MX: one tls-policy audit event with verdict delivered, refused or
// allowed-testing (an MX the policy's mx patterns exclude is refused without a connection).
struct MxDecision {
  const policy::EffectivePolicy* policy = nullptr;
  audit::Verdict verdict = audit::Verdict::Refused;   // Delivered | Refused | AllowedTesting
  policy::ResultType reason = policy::ResultType::None;
};

// One connection to an MX, once its dialogue is over (ready to carry the mail, refused, failed, or
// abandoned with the session).
struct MxConnection {
  bool decided = false;                    // the dialogue reached a TLS verdict about this connection
  bool starttls_offered = false;           // in the MX's EHLO reply
  TlsAttempt tls = TlsAttempt::None;
  // The handshake began and did not complete: why.
  std::optional<session::HandshakeFailure> handshake_failure;
  std::chrono::nanoseconds handshake_time{0};   // TlsAttempt::Established: how long the handshake took
};

class MxObserver {
 public:
  virtual ~MxObserver() = default;
  virtual void on_mx_decision(const MxDecision& decision) {}
  virtual void on_mx_connection(const MxConnection& connection) {}
};

}  // namespace mxguard::outbound
