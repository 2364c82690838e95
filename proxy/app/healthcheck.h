#pragma once
#include <string>

namespace mxguard::app {

// `mxguard healthcheck`: connects to the first inbound listen address of the configuration (a wildcard
// address becomes loopback), expects mxguard to relay the backend's 220 greeting within `timeout_s`, and
// says QUIT. Exit 0 when mail can flow, 1 otherwise (with the reason on stderr). For container HEALTHCHECKs.
int healthcheck(const std::string& config_path, int timeout_s);

}  // namespace mxguard::app
