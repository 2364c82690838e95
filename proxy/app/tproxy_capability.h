#pragma once
// What backend_protocol = "tproxy" needs from the process, in words for check-config and the start-up
// log: IP_TRANSPARENT on the backend socket is allowed only with CAP_NET_ADMIN (kernels since 4.19 also
// take CAP_NET_RAW), and without it every backend connection fails with EPERM.
#include <optional>
#include <string>

#include "policy/config/config.h"

namespace mxguard::app {

// The explanation, for check-config ("note:"), when the configuration uses tproxy; nullopt otherwise.
std::optional<std::string> tproxy_note(const config::Config& config);

// A warning when the configuration uses tproxy and this process lacks both capabilities (capget of
// its effective set); nullopt when it has one, or tproxy is not used.
std::optional<std::string> tproxy_capability_warning(const config::Config& config);

}  // namespace mxguard::app
