#pragma once
// One immutable snapshot of everything the workers run with, built per configuration load (start and
// every SIGHUP). Sessions capture the parts they use at their start and keep them to their end, so a
// reload never changes a session half-way. The outbound settings and the policy join it here.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proxy/app/mta_sts_loop.h"
#include "proxy/inbound/inbound_settings.h"
#include "proxy/outbound/outbound_settings.h"
#include "proxy/session/session_core.h"

namespace mxguard::app {

struct Runtime {
  std::shared_ptr<const inbound::InboundSettings> inbound;     // null: inbound disabled
  std::shared_ptr<const outbound::OutboundSettings> outbound;  // null: no outbound listener
  std::vector<config::Endpoint> dns_servers;                   // [dns] servers (empty: /etc/resolv.conf)
  bool dns_trust_ad = false;                                   // [dns] trust_ad
  std::shared_ptr<const MtaStsSettings> mta_sts;               // null: no outbound, or [mta_sts] disabled
};

// A worker's per-loop services, handed to the sessions of its loop.
struct LoopServices {
  unsigned worker = 0;   // the worker's index: which of the per-worker TLS contexts its sessions use
  outbound::LoopServices outbound;
};

// Makes the session for one accepted connection. `env` is filled in by the worker but for the parts
// only the direction knows (its limits).
using SessionFactory = std::function<std::unique_ptr<session::SessionCore>(const Runtime& runtime, session::Environment env,
                                                                           const LoopServices& services)>;

// A listening address and what its connections become.
struct ListenerPlan {
  config::Endpoint endpoint;
  std::string description;   // for the start-up log
  SessionFactory factory;
};

// The listeners a configuration asks for, in a fixed order (the workers' sockets follow it).
std::vector<ListenerPlan> plan_listeners(const config::Config& config);

}  // namespace mxguard::app
