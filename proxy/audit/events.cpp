#include "proxy/audit/events.h"

namespace mxguard::audit {

std::string_view to_string(Direction d) {
  switch (d) {
    case Direction::Inbound: return "inbound";
    case Direction::Outbound: return "outbound";
  }
  return "?";
}

std::string_view to_string(EventKind e) {
  switch (e) {
    case EventKind::Starttls: return "starttls";
    case EventKind::PlaintextInjection: return "plaintext-injection";
    case EventKind::DowngradeAttempt: return "downgrade-attempt";
    case EventKind::ReplyUndelivered: return "reply-undelivered";
    case EventKind::SessionRefused: return "session-refused";
    case EventKind::TlsPolicy: return "tls-policy";
    case EventKind::ExceptionLapsed: return "exception-lapsed";
    case EventKind::MtaStsFetch: return "mta-sts-fetch";
    case EventKind::DeliveryUnknown: return "delivery-unknown";
  }
  return "?";
}

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::Established: return "established";
    case Verdict::Failed: return "failed";
    case Verdict::Skipped: return "skipped";
    case Verdict::Discarded: return "discarded";
    case Verdict::Refused: return "refused";
    case Verdict::Delivered: return "delivered";
    case Verdict::AllowedTesting: return "allowed-testing";
    case Verdict::Lapsed: return "lapsed";
    case Verdict::Fetched: return "fetched";
    case Verdict::Unknown: return "unknown";
  }
  return "?";
}

}  // namespace mxguard::audit
