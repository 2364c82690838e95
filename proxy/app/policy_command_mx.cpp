// The DNS half of `mxguard policy`. The resolver (policy/dns/) is not part of this build yet: this says
// so instead of printing hosts it cannot know. Replace this file's body once the resolver is merged.
#include "proxy/app/policy_command.h"

namespace mxguard::app {

std::string describe_next_hops(const config::Config& config, const policy::EffectivePolicy& policy,
                               const std::optional<config::Endpoint>& route) {
  // A routed domain's MX records are never used; its next hop is already in the report.
  if (route) return {};
  return "MX lookup: not available in this build\n";
}

}  // namespace mxguard::app
