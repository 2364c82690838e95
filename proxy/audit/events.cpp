#include "proxy/audit/events.h"

#include <array>

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
    case EventKind::TlsReportRelayed: return "tls-report-relayed";
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
  }
  return "?";
}

namespace {
// Every value of each enum, so that reading goes through the one spelling to_string() gives.
constexpr std::array kDirections{Direction::Inbound, Direction::Outbound};
constexpr std::array kEventKinds{EventKind::Starttls,        EventKind::PlaintextInjection, EventKind::DowngradeAttempt,
                                 EventKind::ReplyUndelivered, EventKind::SessionRefused,     EventKind::TlsPolicy,
                                 EventKind::ExceptionLapsed,  EventKind::MtaStsFetch,        EventKind::TlsReportRelayed};
constexpr std::array kVerdicts{Verdict::Established, Verdict::Failed,         Verdict::Skipped,
                               Verdict::Discarded,   Verdict::Refused,        Verdict::Delivered,
                               Verdict::AllowedTesting, Verdict::Lapsed,      Verdict::Fetched};

template <typename T, std::size_t N>
std::optional<T> lookup(const std::array<T, N>& values, std::string_view text) {
  for (T v : values) {
    if (to_string(v) == text) return v;
  }
  return std::nullopt;
}
}  // namespace

std::optional<Direction> direction_from(std::string_view text) { return lookup(kDirections, text); }
std::optional<EventKind> event_kind_from(std::string_view text) { return lookup(kEventKinds, text); }
std::optional<Verdict> verdict_from(std::string_view text) { return lookup(kVerdicts, text); }

}  // namespace mxguard::audit
