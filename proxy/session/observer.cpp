#include "proxy/session/observer.h"

namespace mxguard::session {

std::string_view to_string(HandshakeFailure f) {
  switch (f) {
    case HandshakeFailure::Protocol: return "protocol";
    case HandshakeFailure::PeerAlert: return "peer-alert";
    case HandshakeFailure::Certificate: return "certificate";
    case HandshakeFailure::VersionTooLow: return "version-too-low";
    case HandshakeFailure::Record: return "record";
    case HandshakeFailure::Eof: return "eof";
    case HandshakeFailure::Timeout: return "timeout";
    case HandshakeFailure::ConnectionError: return "connection-error";
    case HandshakeFailure::Local: return "local";
  }
  return "protocol";
}

// The metrics index their counters by verdict: the count must follow the enum (Penalized is its last).
static_assert(static_cast<std::size_t>(ConnectionLimiter::Verdict::Penalized) + 1 == kLimiterVerdicts);

std::string_view to_string(ConnectionLimiter::Verdict v) {
  using Verdict = ConnectionLimiter::Verdict;
  switch (v) {
    case Verdict::Admitted: return "admitted";
    case Verdict::Penalized: return "abuse-penalty";
    case Verdict::TooManyTotal: return "max-connections";
    case Verdict::TooManyFromAddress: return "max-connections-per-ip";
    case Verdict::TooFewDescriptors: return "descriptors";
  }
  return "max-connections";
}

HandshakeFailure handshake_failure(tls::FailureKind kind) {
  switch (kind) {
    case tls::FailureKind::None:
    case tls::FailureKind::Protocol: return HandshakeFailure::Protocol;
    case tls::FailureKind::PeerAlert: return HandshakeFailure::PeerAlert;
    case tls::FailureKind::CertificateVerify: return HandshakeFailure::Certificate;
    case tls::FailureKind::VersionTooLow: return HandshakeFailure::VersionTooLow;
    case tls::FailureKind::Record: return HandshakeFailure::Record;
    case tls::FailureKind::UnexpectedEof: return HandshakeFailure::Eof;
    case tls::FailureKind::Local: return HandshakeFailure::Local;
  }
  return HandshakeFailure::Protocol;
}

}  // namespace mxguard::session
