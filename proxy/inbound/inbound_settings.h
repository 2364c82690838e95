#pragma once
// Everything an inbound session reads from the configuration, frozen for its lifetime. A reload builds a
// new InboundSettings; sessions already running keep the one they started with.
#include <memory>
#include <string>

#include "policy/config/config.h"
#include "proxy/tls/server_context.h"

namespace mxguard::inbound {

struct InboundSettings {
  config::Inbound inbound;
  std::string hostname;                              // [server] hostname, for our own replies
  std::shared_ptr<const tls::ServerContext> tls;     // null: STARTTLS is not offered
};

}  // namespace mxguard::inbound
