#include "proxy/session/delivery_unknown.h"

#include <spdlog/spdlog.h>

#include "proxy/session/session_core.h"

namespace mxguard::session {

void report_delivery_unknown(const SessionCore& s, audit::Log* audit, const UnknownDelivery& d) {
  bool outbound = s.direction() == audit::Direction::Outbound;
  spdlog::warn("[{}] {}{} {} with its reply to the end of data owed: the message's fate is unknown, the {} may "
               "have accepted it (from={}, {} recipient(s), {} bytes; state {})",
               s.id(), outbound ? "outbound " + d.domain + ": " : std::string(), d.far, d.what,
               outbound ? "remote" : "backend", d.from, d.recipients, d.size, s.state_name());
  if (!audit) return;
  audit::Event event(audit::EventKind::DeliveryUnknown, s.direction(), s.id(), s.peer_text());
  event.verdict(audit::Verdict::Unknown)
      .set("from", d.from)
      .set("size", static_cast<std::int64_t>(d.size))
      .set("recipients", static_cast<std::int64_t>(d.recipients))
      .reason(d.far + " " + d.what);
  if (outbound) event.set("domain", d.domain).set("mx", d.far);
  audit->write(event);
}

}  // namespace mxguard::session
