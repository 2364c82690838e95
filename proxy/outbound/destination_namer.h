#pragma once
// Transparent mode: looks up the recipient domain's MX hosts and their addresses on the loop's resolver,
// one query at a time, until one of them has the original destination's address, and hands the result
// of name_destination (destination_name.h) to its callback. Cancelled by destruction or cancel(). The
// callback runs from the resolver's callbacks, never from inside start() but for a loop without a
// resolver, where it runs at once.
#include <sys/socket.h>

#include <functional>
#include <string>
#include <vector>

#include "policy/dns/mx_plan.h"
#include "policy/dns/resolver.h"
#include "policy/verdict.h"
#include "proxy/outbound/destination_name.h"

namespace mxguard::outbound {

class DestinationNamer {
 public:
  using Callback = std::function<void(DestinationName)>;

  // `resolver` may be null (a loop without one): judged as if the MX lookup had failed.
  void start(dns::Resolver* resolver, policy::EffectivePolicy policy, const sockaddr_storage& destination,
             Callback callback);
  void cancel();

 private:
  // An MX answer has a few hosts; a list longer than this is not worth one query per host before
  // each delivery (the destination is then named by its address).
  static constexpr std::size_t kMaxHostsLookedUp = 10;

  void on_mx(dns::MxResult result);
  void next_host();
  void on_addresses(dns::AddressResult result);
  void finish();

  dns::Resolver* resolver_ = nullptr;
  policy::EffectivePolicy policy_;
  sockaddr_storage destination_{};
  Callback callback_;
  dns::MxPlan plan_;
  std::vector<HostAddresses> looked_up_;
  dns::Query query_;
};

}  // namespace mxguard::outbound
