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

std::string_view to_string(DoorRefusal r) {
  switch (r) {
    case DoorRefusal::AbusePenalty: return "abuse-penalty";
    case DoorRefusal::TooManyConnections: return "max-connections";
    case DoorRefusal::TooManyFromAddress: return "max-connections-per-ip";
    case DoorRefusal::TooFewDescriptors: return "descriptors";
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
