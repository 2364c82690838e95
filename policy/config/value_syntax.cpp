#include "policy/config/value_syntax.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>

#include "base/ascii.h"
#include "policy/config/message_text.h"
#include "policy/names.h"
#include "policy/net/cidr.h"

namespace mxguard::config {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_digit); }

}  // namespace

bool is_ipv4(std::string_view s) {
  in_addr a{};
  return inet_pton(AF_INET, std::string(s).c_str(), &a) == 1;
}

bool is_ipv6(std::string_view s) {
  in6_addr a{};
  return inet_pton(AF_INET6, std::string(s).c_str(), &a) == 1;
}

std::string name_problem(std::string_view name, bool allow_underscore) {
  return policy::domain_syntax_problem(name, allow_underscore ? policy::NameSyntax::ServiceName : policy::NameSyntax::Dns);
}

std::string domain_problem(std::string_view name) { return policy::domain_syntax_problem(name); }

std::optional<std::uint16_t> parse_port(std::string_view s) {
  if (!all_digits(s) || s.size() > 5) return std::nullopt;
  int value = 0;
  for (char c : s) value = value * 10 + (c - '0');
  if (value < 1 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

std::string endpoint_problem(std::string_view text, HostKind kind, Endpoint& out) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) return "missing ']' after the IPv6 address";
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.starts_with(':')) return "a port is required after ']', e.g. \"[::1]:25\"";
    port = rest.substr(1);
    if (!is_ipv6(host)) return quoted(host) + " is not an IPv6 address";
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return "a port is required, e.g. \"127.0.0.1:25\"";
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return "an IPv6 address needs brackets: " + quoted("[" + std::string(host) + "]:" + std::string(port));
    }
    if (host.empty()) return "the host is empty (every address is \"0.0.0.0:PORT\" or \"[::]:PORT\")";
    std::string_view last_label = host.substr(host.rfind('.') + 1);
    if (all_digits(last_label) && !is_ipv4(host)) return quoted(host) + " is not a valid IPv4 address";
    if (!is_ipv4(host)) {
      if (kind == HostKind::AddressOnly) return "expected an IP address here, not a host name";
      if (std::string why = name_problem(host, true); !why.empty()) return quoted(host) + " is not a host name: " + why;
    }
  }
  std::optional<std::uint16_t> number = parse_port(port);
  if (!number) return "the port must be a number from 1 to 65535";
  out = Endpoint{std::string(host), *number, std::string(text)};
  return {};
}

std::string cidr_problem(std::string_view text) {
  policy::CidrParse parsed = policy::parse_cidr(text);
  switch (parsed.error) {
    case policy::CidrError::None: return {};
    case policy::CidrError::MissingPrefix:
      return "a prefix length is required, e.g. \"192.0.2.0/24\" or \"2001:db8::/32\"";
    case policy::CidrError::BadAddress: return quoted(text.substr(0, text.find('/'))) + " is not an IP address";
    case policy::CidrError::BadPrefix:
      return "the prefix length must be a number from 0 to " +
             std::string(parsed.cidr.network.family == policy::IpFamily::V4 ? "32" : "128");
    case policy::CidrError::HostBitsSet:
      return "bits are set after the prefix; did you mean " + quoted(policy::to_string(parsed.cidr)) + "?";
  }
  return "cannot be read as a CIDR";
}

std::optional<std::int64_t> parse_duration(std::string_view text) {
  if (text.size() < 2 || text.size() > 10) return std::nullopt;
  std::string_view digits = text.substr(0, text.size() - 1);
  if (!all_digits(digits)) return std::nullopt;
  std::int64_t value = std::stoll(std::string(digits));
  switch (text.back()) {
    case 's': return value;
    case 'm': return value * 60;
    case 'h': return value * 3600;
    default: return std::nullopt;
  }
}

std::string range_text(std::int64_t min, std::int64_t max, std::string_view unit) {
  auto n = [&](std::int64_t v) { return std::to_string(v) + std::string(unit); };
  if (max == kNoMax) return "at least " + n(min);
  return "between " + n(min) + " and " + n(max);
}

std::string machine_hostname() {
  char buffer[256] = {};
  if (gethostname(buffer, sizeof buffer - 1) != 0) return {};
  return buffer;
}

std::string check_domain(std::string& value) {
  value = ascii::lower(value);
  std::string why = domain_problem(value);
  return why.empty() ? why : quoted(value) + " is not a domain name: " + why;
}

std::string check_mx_pattern(std::string& value) {
  value = ascii::lower(value);
  std::string why = policy::mx_pattern_problem(value);
  return why.empty() ? why : quoted(value) + " is not an MX host name or pattern: " + why;
}

std::string check_cidr(std::string& value) {
  value = ascii::lower(value);
  std::string why = cidr_problem(value);
  return why.empty() ? why : quoted(value) + " is not a CIDR: " + why;
}

}  // namespace mxguard::config
