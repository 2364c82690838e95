#include "proxy/outbound/mx_audit.h"

namespace mxguard::outbound {

audit::Event tls_policy_event(std::string_view session, std::string_view peer, std::string_view domain,
                              const policy::EffectivePolicy& host_policy) {
  audit::Event event(audit::EventKind::TlsPolicy, audit::Direction::Outbound, session, peer);
  event.set("domain", domain)
      .set("policy", policy::to_string(host_policy.level))
      .set("policy_source", policy::to_string(host_policy.source));
  const policy::DaneFacts& dane = host_policy.dane;
  if (dane.status != policy::DaneStatus::NotLookedUp) event.set("dane", policy::to_string(dane.status));
  if (!dane.records.empty()) event.set("tlsa", policy::to_strings(dane.records));
  return event;
}

}  // namespace mxguard::outbound
