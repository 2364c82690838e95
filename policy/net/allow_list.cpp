#include "policy/net/allow_list.h"

#include <algorithm>

#include "policy/net/socket_address.h"

namespace mxguard::policy {

std::variant<AllowList, std::string> AllowList::parse(const std::vector<std::string>& cidrs) {
  AllowList list;
  for (const std::string& text : cidrs) {
    CidrParse parsed = parse_cidr(text);
    if (parsed.error != CidrError::None) return "\"" + text + "\" is not a network in CIDR notation";
    // As IPv4 entries, mapped ones also match peers that arrive on an IPv4 socket.
    Cidr entry = ipv4_form(parsed.cidr);
    (entry.network.family == IpFamily::V4 ? list.v4_ : list.v6_).push_back(entry);
  }
  return list;
}

bool AllowList::allows(const IpAddress& peer) const {
  IpAddress address = unmapped_ipv4(peer).value_or(peer);
  const std::vector<Cidr>& entries = address.family == IpFamily::V4 ? v4_ : v6_;
  return std::any_of(entries.begin(), entries.end(), [&](const Cidr& entry) { return contains(entry, address); });
}

bool AllowList::allows(const sockaddr_storage& peer) const {
  std::optional<IpAddress> address = ip_address(peer);
  return address && allows(*address);
}

}  // namespace mxguard::policy
