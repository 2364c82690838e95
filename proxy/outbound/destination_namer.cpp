#include "proxy/outbound/destination_namer.h"

namespace mxguard::outbound {

void DestinationNamer::start(dns::Resolver* resolver, policy::EffectivePolicy policy,
                             const sockaddr_storage& destination, Callback callback) {
  resolver_ = resolver;
  policy_ = std::move(policy);
  destination_ = destination;
  callback_ = std::move(callback);
  looked_up_.clear();
  if (!resolver_) {
    // Judged like a lookup that failed.
    plan_ = dns::MxPlan{};
    plan_.kind = dns::MxPlan::Kind::Temporary;
    plan_.reason = "no DNS resolver on this loop";
    finish();
    return;
  }
  query_ = resolver_->query_mx(policy_.domain, [this](dns::MxResult r) { on_mx(std::move(r)); });
}

void DestinationNamer::cancel() {
  query_.cancel();
  callback_ = nullptr;
}

void DestinationNamer::on_mx(dns::MxResult result) {
  // The same plan relay mode would make (random order among equal preferences does not matter here:
  // every host of the plan is a candidate).
  plan_ = dns::plan_mx(result, policy_.domain, dns::system_random_index());
  next_host();
}

void DestinationNamer::next_host() {
  bool settled = !looked_up_.empty() && names_destination(policy_, destination_, looked_up_.back());
  std::size_t next = looked_up_.size();
  if (settled || next >= plan_.hosts.size() || next >= kMaxHostsLookedUp) {
    finish();
    return;
  }
  query_ = resolver_->query_addresses(plan_.hosts[next], [this](dns::AddressResult r) { on_addresses(std::move(r)); });
}

void DestinationNamer::on_addresses(dns::AddressResult result) {
  looked_up_.push_back({plan_.hosts[looked_up_.size()], result.status, std::move(result.addresses)});
  next_host();
}

void DestinationNamer::finish() {
  Callback callback;
  callback.swap(callback_);
  if (callback) callback(name_destination(policy_, destination_, plan_, looked_up_));
}

}  // namespace mxguard::outbound
