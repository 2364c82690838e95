#include "policy/config/config.h"

#include <algorithm>
#include <cstdio>

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
  // The legacy MTA waits reply_timeout (5 min) for its RCPT's answer while mxguard looks for a usable MX:
  // a tarpitting first MX must leave time for the next one, so a greeting gets one minute, not the RFC's
  // five (which is what a queueing client may wait; mxguard has none).
  limits.greeting_timeout = std::chrono::seconds(60);
  return limits;
}

bool uses_dane(const Policy& policy) {
  if (policy.default_level >= TlsLevel::Dane) return true;
  return std::any_of(policy.domains.begin(), policy.domains.end(),
                     [](const auto& entry) { return entry.second.level >= TlsLevel::Dane; });
}

bool lapsed(const DomainPolicy& entry, std::chrono::year_month_day today) {
  return entry.expires.has_value() && *entry.expires < today;
}

std::vector<std::string> lapsed_exceptions(const Config& config, std::chrono::year_month_day today) {
  std::vector<std::string> domains;
  for (const auto& [domain, entry] : config.policy.domains) {
    if (lapsed(entry, today)) domains.push_back(domain);
  }
  return domains;
}

std::string to_string(std::chrono::year_month_day day) {
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(day.year()), static_cast<unsigned>(day.month()),
                static_cast<unsigned>(day.day()));
  return text;
}

std::string_view to_string(BackendProtocol p) {
  switch (p) {
    case BackendProtocol::Plain: return "plain";
    case BackendProtocol::ProxyV1: return "proxy-v1";
    case BackendProtocol::ProxyV2: return "proxy-v2";
    case BackendProtocol::Xclient: return "xclient";
    case BackendProtocol::Tproxy: return "tproxy";
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
