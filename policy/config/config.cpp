#include "policy/config/config.h"

namespace mxguard::config {

// These spellings are the ones the TOML file uses, so logs and error messages read like the configuration.

Limits default_inbound_limits() {
  Limits limits;
  limits.greeting_timeout = std::chrono::seconds(15);
  return limits;
}

Limits default_outbound_limits() {
  Limits limits;
  limits.max_connections_per_ip = limits.max_connections;
  return limits;
}

std::string_view to_string(BackendProtocol p) {
  switch (p) {
    case BackendProtocol::Plain: return "plain";
    case BackendProtocol::ProxyV1: return "proxy-v1";
    case BackendProtocol::ProxyV2: return "proxy-v2";
    case BackendProtocol::Xclient: return "xclient";
  }
  return "unknown";
}

std::string_view to_string(BareNewlines b) {
  switch (b) {
    case BareNewlines::Reject: return "reject";
    case BareNewlines::Normalize: return "normalize";
  }
  return "unknown";
}

}  // namespace mxguard::config
