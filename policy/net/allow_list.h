#pragma once
// Who may hand mail to the outbound listener ([outbound] allow). Without it, mxguard would relay for
// anybody who can reach it: an open relay. Built once per configuration load, then read by every
// worker (immutable, so sharing needs no lock).
#include <sys/socket.h>

#include <string>
#include <variant>
#include <vector>

#include "policy/net/cidr.h"

namespace mxguard::policy {

class AllowList {
 public:
  AllowList() = default;   // allows nobody

  // From the configuration's CIDR strings. An entry that does not parse, or has bits set after its
  // prefix, is an error naming it (`"10.0.0.1/8" is not a network in CIDR notation`; the caller adds
  // file and key). The loader refuses those already, so this is a broken invariant, but a matcher must
  // never quietly allow more or less than was written. An empty list allows nobody.
  static std::variant<AllowList, std::string> parse(const std::vector<std::string>& cidrs);

  // IPv4 peers are matched against the IPv4 entries, also when a dual-stack socket shows them as
  // IPv4-mapped IPv6 (::ffff:127.0.0.1); an IPv4-mapped entry (::ffff:10.0.0.0/104) is an IPv4 entry.
  // Other IPv6 entries, "::/0" included, match native IPv6 peers only, so that an IPv6 rule never lets
  // in IPv4 clients that the IPv4 rules leave out. Any family but AF_INET and AF_INET6 (a Unix socket)
  // is not allowed.
  bool allows(const sockaddr_storage& peer) const;
  bool allows(const IpAddress& peer) const;

  bool empty() const { return v4_.empty() && v6_.empty(); }

 private:
  std::vector<Cidr> v4_;
  std::vector<Cidr> v6_;
};

}  // namespace mxguard::policy
