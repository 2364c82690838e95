#include "policy/dns/ad_trust.h"

#include <algorithm>

#include "policy/net/cidr.h"

namespace mxguard::dns {

bool ad_bit_trusted(const std::vector<std::string>& addresses, bool trust_ad) {
  if (trust_ad) return true;
  return !addresses.empty() && std::all_of(addresses.begin(), addresses.end(), [](const std::string& a) {
    auto ip = policy::parse_ip(a);
    return ip && policy::is_loopback(*ip);
  });
}

}  // namespace mxguard::dns
