#include "policy/config/config.h"

namespace mxguard::config {

// These spellings are the ones the TOML file uses, so logs and error messages read like the configuration.

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
