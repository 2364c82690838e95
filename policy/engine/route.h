#pragma once
// [outbound.route]: the static next hop of a recipient domain, looked up the way policies are (the same
// normalisation), so that a domain spelled "Partner.Example." finds both its entry and its route.
#include <optional>
#include <string_view>

#include "policy/config/config.h"

namespace mxguard::policy {

// The route configured for exactly this domain (subdomains do not inherit it), or std::nullopt when its
// MX hosts are to be used.
std::optional<config::Endpoint> static_route(std::string_view recipient_domain, const config::Outbound& outbound);

}  // namespace mxguard::policy
