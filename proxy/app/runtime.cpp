#include "proxy/app/runtime.h"

#include "proxy/inbound/inbound_session.h"
#include "proxy/outbound/outbound_session.h"

namespace mxguard::app {

namespace {
SessionFactory inbound_factory(bool implicit_tls) {
  return [implicit_tls](const Runtime& runtime, session::Environment env,
                        const LoopServices& services) -> std::unique_ptr<session::SessionCore> {
    env.direction = audit::Direction::Inbound;
    env.hostname = runtime.inbound->hostname;
    env.limits = &runtime.inbound->inbound.limits;
    return std::make_unique<inbound::InboundSession>(std::move(env), runtime.inbound, implicit_tls, services.worker);
  };
}
SessionFactory outbound_factory() {
  return [](const Runtime& runtime, session::Environment env,
            const LoopServices& services) -> std::unique_ptr<session::SessionCore> {
    env.direction = audit::Direction::Outbound;
    env.hostname = runtime.outbound->hostname;
    env.limits = &runtime.outbound->outbound.limits;
    return std::make_unique<outbound::OutboundSession>(std::move(env), runtime.outbound, services.outbound);
  };
}
}  // namespace

std::vector<ListenerPlan> plan_listeners(const config::Config& config) {
  std::vector<ListenerPlan> plans;
  if (config.inbound.enabled) {
    for (const config::Listener& listener : config.inbound.listen) {
      const config::Endpoint& endpoint = listener.endpoint;
      bool implicit_tls = listener.implicit_tls;
      plans.push_back({endpoint,
                       "inbound" + std::string(implicit_tls ? " (implicit TLS)" : "") + ": listening on " +
                           endpoint.text + " -> backend " + config.inbound.backend.text + " (" +
                           std::string(config::to_string(config.inbound.backend_protocol)) + ")",
                       inbound_factory(implicit_tls)});
    }
  }
  for (const config::Endpoint& endpoint : config.outbound.listen) {
    plans.push_back({endpoint,
                     "outbound: listening on " + endpoint.text + " (" + config.outbound.mode + " mode) for " +
                         std::to_string(config.outbound.allow.size()) + " allowed network(s)",
                     outbound_factory()});
  }
  return plans;
}

}  // namespace mxguard::app
