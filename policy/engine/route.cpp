#include "policy/engine/route.h"

#include <algorithm>

#include "policy/engine/resolution.h"

namespace mxguard::policy {

std::optional<config::Endpoint> static_route(std::string_view recipient_domain, const config::Outbound& outbound) {
  std::string domain = normalize_domain(recipient_domain);
  auto route = std::find_if(outbound.routes.begin(), outbound.routes.end(),
                            [&](const auto& named) { return named.first == domain; });
  if (route == outbound.routes.end()) return std::nullopt;
  return route->second;
}

}  // namespace mxguard::policy
