#pragma once
// What a session tells the rest of the process as it goes: the audit log, the process log and the
// metrics registry each implement this once, so a new counter or event never means editing every place
// a session replies, changes state or settles TLS.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "proxy/audit/events.h"
#include "proxy/session/connection_limiter.h"
#include "proxy/smtp/reply_parser.h"
#include "proxy/tls/tls_engine.h"

namespace mxguard::session {

class SessionCore;
enum class Phase;

enum class ReplyOrigin { Local, FarSide };

// Why a TLS handshake did not complete, as a small fixed set: the metrics count by it (a label value
// must never be peer-supplied text), the reason text of TlsOutcome is for people.
enum class HandshakeFailure {
  Protocol,          // the handshake broke down (no cipher in common, malformed messages, ...)
  PeerAlert,         // the peer ended it with a fatal alert
  Certificate,       // a required check of the peer's certificate failed
  VersionTooLow,     // no protocol version in common (the peer speaks only what we refuse)
  Record,            // a record that does not decrypt or parse
  Eof,               // the peer closed the connection inside the handshake
  Timeout,           // the handshake did not finish within tls_handshake_timeout
  ConnectionError,   // the TCP connection failed (reset) during the handshake
  Local,             // our own side (no TLS session could be made)
};
inline constexpr std::size_t kHandshakeFailures = 9;
// "protocol", "peer-alert", "certificate", "version-too-low", "record", "eof", "timeout",
// "connection-error", "local".
std::string_view to_string(HandshakeFailure f);
// The TLS engine's kind of failure in these terms (None, which no failed engine reports, is Protocol).
HandshakeFailure handshake_failure(tls::FailureKind kind);

// A refusal at the door is the connection limiter's verdict (connection_limiter.h).
inline constexpr std::size_t kLimiterVerdicts = 5;
// "admitted", "abuse-penalty", "max-connections", "max-connections-per-ip", "descriptors": the metric label.
std::string_view to_string(ConnectionLimiter::Verdict v);

struct TlsOutcome {
  static TlsOutcome established(std::string version, std::string cipher, std::string sni, bool implicit) {
    TlsOutcome o;
    o.verdict = audit::Verdict::Established;
    o.version = std::move(version);
    o.cipher = std::move(cipher);
    o.sni = std::move(sni);
    o.implicit = implicit;
    return o;
  }
  static TlsOutcome not_established(audit::Verdict verdict, std::string reason) {
    TlsOutcome o;
    o.verdict = verdict;
    o.reason = std::move(reason);
    return o;
  }
  static TlsOutcome failed(HandshakeFailure failure, std::string reason) {
    TlsOutcome o = not_established(audit::Verdict::Failed, std::move(reason));
    o.failure = failure;
    return o;
  }

  audit::Verdict verdict = audit::Verdict::Skipped;   // Established | Failed | Skipped
  bool implicit = false;                              // RFC 8314 listener: TLS from the first byte
  std::string version, cipher, sni;                   // Established
  std::string reason;                                 // Failed / Skipped
  HandshakeFailure failure = HandshakeFailure::Protocol;   // Failed: the kind, for counting
  std::chrono::nanoseconds handshake_time{0};         // Established / Failed: from the handshake's start
};

// Every call comes on the session's own loop thread. on_start comes first and on_end last, exactly once
// each, for every session a listener accepted (including those refused at once).
class SessionObserver {
 public:
  virtual ~SessionObserver() = default;
  virtual void on_start(const SessionCore& s) {}
  // Refused at once, before anything else (then on_end follows).
  virtual void on_refused_at_door(const SessionCore& s, ConnectionLimiter::Verdict why) {}
  // The session is being ended for abuse and its address's network now serves limits.abuse_penalty (a
  // penalty begun, not one extended by another session of the same network).
  virtual void on_abuse_penalty(const SessionCore& s) {}
  virtual void on_state(const SessionCore& s, Phase from, Phase to) {}
  virtual void on_reply(const SessionCore& s, const smtp::Reply& reply, ReplyOrigin origin) {}
  // The client was offered STARTTLS (in an EHLO reply); at most once per session.
  virtual void on_starttls_offered(const SessionCore& s) {}
  virtual void on_tls(const SessionCore& s, const TlsOutcome& outcome) {}
  // A sender that must arrive over TLS (require_tls_from) came in plaintext and was refused.
  virtual void on_downgrade_refused(const SessionCore& s) {}
  virtual void on_end(const SessionCore& s) {}
};

}  // namespace mxguard::session
