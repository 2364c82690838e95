#include "proxy/outbound/destination_name.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "proxy/smtp/proxy_header.h"

namespace mxguard::outbound {
namespace {

// The 16 bytes of an IPv6 address, or of the IPv4-mapped form of an IPv4 one, so both spellings compare.
bool ip_bytes(const sockaddr_storage& s, unsigned char (&out)[16]) {
  if (s.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(s);
    std::memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    std::memcpy(out + 12, &a.sin_addr, 4);
    return true;
  }
  if (s.ss_family == AF_INET6) {
    std::memcpy(out, &reinterpret_cast<const sockaddr_in6&>(s).sin6_addr, 16);
    return true;
  }
  return false;
}

bool has_address(const HostAddresses& host, const sockaddr_storage& destination) {
  if (host.status != dns::Status::Ok) return false;
  return std::any_of(host.addresses.begin(), host.addresses.end(),
                     [&](const sockaddr_storage& a) { return same_ip(a, destination); });
}

}  // namespace

bool same_ip(const sockaddr_storage& a, const sockaddr_storage& b) {
  unsigned char x[16], y[16];
  return ip_bytes(a, x) && ip_bytes(b, y) && std::memcmp(x, y, sizeof x) == 0;
}

bool policy_needs_name(const policy::EffectivePolicy& policy) {
  if (policy.testing) return false;
  return policy::requires_authentication(policy.level) || !policy.mx_patterns.empty();
}

bool names_destination(const policy::EffectivePolicy& policy, const sockaddr_storage& destination,
                       const HostAddresses& host) {
  return has_address(host, destination) && policy::mx_allowed(policy, host.host);
}

DestinationName name_destination(const policy::EffectivePolicy& policy, const sockaddr_storage& destination,
                                 const dns::MxPlan& plan, const std::vector<HostAddresses>& looked_up) {
  const std::string address = smtp::address_text(destination);
  // A name the policy allows first: two MX hosts on one address (a provider's shared front end) must
  // not make the mail fail on the one the domain's policy does not list.
  for (const HostAddresses& host : looked_up) {
    if (names_destination(policy, destination, host)) {
      return {DestinationName::Kind::MxHost, host.host, "MX host of " + policy.domain + " with address " + address,
              plan.authenticated_data};
    }
  }
  for (const HostAddresses& host : looked_up) {
    if (has_address(host, destination)) {
      return {DestinationName::Kind::MxHost, host.host, "MX host of " + policy.domain + " with address " + address,
              plan.authenticated_data};
    }
  }
  bool temporary = plan.kind == dns::MxPlan::Kind::Temporary ||
                   std::any_of(looked_up.begin(), looked_up.end(),
                               [](const HostAddresses& h) { return h.status == dns::Status::Temporary; });
  std::string why;
  switch (plan.kind) {
    case dns::MxPlan::Kind::Temporary: why = "the MX lookup of " + policy.domain + " failed: " + plan.reason; break;
    case dns::MxPlan::Kind::NullMx: why = policy.domain + " has a null MX"; break;
    case dns::MxPlan::Kind::NoSuchDomain: why = policy.domain + " does not exist"; break;
    case dns::MxPlan::Kind::Hosts:
    case dns::MxPlan::Kind::ImplicitMx:
      why = temporary ? "an address lookup of an MX host of " + policy.domain + " failed"
                      : "no MX host of " + policy.domain + " has address " + address;
      break;
  }
  if (temporary && policy_needs_name(policy)) {
    return {DestinationName::Kind::Unknown, address, "cannot tell the name of " + address + " now: " + why, false};
  }
  return {DestinationName::Kind::Address, address, why + ": using the address itself", false};
}

}  // namespace mxguard::outbound
