#pragma once
// `mxguard policy DOMAIN --connect`: tries each next hop the way an outbound session would (greeting,
// EHLO, STARTTLS, the handshake with the domain's policy and [outbound] ca_file) and says what each one
// offered: STARTTLS or not, the TLS version and cipher, the certificate's names, the chain's verdict, and
// what the policy would decide. No mail is sent: once decided, the probe says QUIT.
#include <sys/socket.h>

#include <string>
#include <vector>

#include "policy/config/config.h"
#include "policy/verdict.h"

namespace mxguard::app {

struct ProbeTarget {
  std::string host;                        // the MX host (or route host): SNI and the name checked
  std::vector<sockaddr_storage> addresses; // with the port set
  policy::EffectivePolicy policy;          // the host's policy (policy::policy_for_host: its DANE facts)
};

// One line block per address, in order, ending in '\n'. Each address gets at most `timeout_seconds`.
std::string probe_next_hops(const config::Config& config, const policy::EffectivePolicy& policy,
                            const std::vector<ProbeTarget>& targets, int timeout_seconds = 20);

}  // namespace mxguard::app
