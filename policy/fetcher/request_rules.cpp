#include "policy/fetcher/request_rules.h"

#include <arpa/inet.h>

#include "policy/names.h"

namespace mxguard::fetch {
namespace {

bool is_ipv6_literal(const std::string& address) {
  unsigned char bytes[16];
  return inet_pton(AF_INET6, address.c_str(), bytes) == 1;
}

bool is_ip_literal(const std::string& address) {
  if (address.find('\0') != std::string::npos) return false;
  unsigned char bytes[16];
  return inet_pton(AF_INET, address.c_str(), bytes) == 1 || is_ipv6_literal(address);
}

}  // namespace

std::string request_violation(const Request& request) {
  if (request.port == 0) return "port 0";
  for (const std::string& address : request.addresses) {
    if (!is_ip_literal(address)) return "an address that is not an IP literal";
  }
  if (request.ca_file.empty()) return "no CA file";
  if (request.ca_file.find('\0') != std::string::npos) return "a NUL byte in the CA file name";
  if (request.connect_timeout_ms == 0 || request.total_timeout_ms == 0) return "a zero timeout";
  return {};
}

std::string request_refusal(const Request& request) {
  if (request.addresses.empty()) return "no addresses for " + policy_host(request.domain);
  // The domain ends up in a URL and in the "host:port:addresses" resolve string: anything but a host
  // name (a ':', '/', ',' or control byte) could change what curl connects to.
  std::string host = policy_host(request.domain);
  if (std::string problem = policy::domain_syntax_problem(host); !problem.empty()) {
    return "the policy host is not a host name: " + problem;
  }
  return {};
}

std::string policy_host(std::string_view domain) { return "mta-sts." + std::string(domain); }

std::string policy_url(std::string_view domain, std::uint16_t port) {
  std::string url = "https://" + policy_host(domain);
  if (port != 443) url += ":" + std::to_string(port);
  return url + "/.well-known/mta-sts.txt";
}

std::string resolve_entry(std::string_view domain, std::uint16_t port, std::span<const std::string> addresses) {
  std::string entry = policy_host(domain) + ":" + std::to_string(port) + ":";
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    if (i > 0) entry += ',';
    entry += is_ipv6_literal(addresses[i]) ? "[" + addresses[i] + "]" : addresses[i];
  }
  return entry;
}

bool same_question(const Request& a, const Request& b) {
  return a.domain == b.domain && a.port == b.port && a.addresses == b.addresses && a.ca_file == b.ca_file &&
         a.connect_timeout_ms == b.connect_timeout_ms && a.total_timeout_ms == b.total_timeout_ms;
}

}  // namespace mxguard::fetch
