#pragma once
// Everything an outbound session reads from the configuration, frozen for its lifetime, and the per-loop
// services it uses. A reload builds new settings; sessions already running keep the ones they started with.
#include <memory>
#include <string>

#include "policy/config/config.h"
#include "policy/net/allow_list.h"
#include "proxy/tls/client_context.h"

namespace mxguard::dns {
class Resolver;
}
namespace mxguard::mta_sts {
class Agent;
}
namespace mxguard::outbound {
class MxObserver;
}

namespace mxguard::outbound {

struct OutboundSettings {
  config::Outbound outbound;
  config::Policy policy;
  std::string hostname;                                // [server] hostname: our greeting and our EHLO
  std::uint64_t max_message_size = 52428800;           // announced in EHLO SIZE
  std::shared_ptr<const tls::ClientContext> tls;       // trust for remote MX certificates ([outbound] ca_file)
  policy::AllowList allow;                             // [outbound] allow
};

// What a worker's loop provides to its outbound sessions.
struct LoopServices {
  unsigned worker = 0;                 // the loop's worker: whose TLS client contexts its links use
  dns::Resolver* resolver = nullptr;   // the loop's one resolver ([dns] servers)
  mta_sts::Agent* sts = nullptr;       // the loop's MTA-STS agent; null when [mta_sts] is disabled
  MxObserver* observer = nullptr;      // told of every MX decision and connection (the metrics); may be null
  // The resolver's AD bit is believed (dns/ad_trust.h: loopback servers, or [dns] trust_ad): without it
  // no answer counts as DNSSEC-validated and DANE never applies.
  bool ad_trusted = false;
};

}  // namespace mxguard::outbound
