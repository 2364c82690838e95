#include "proxy/session/connection_limiter.h"

namespace mxguard::session {

ConnectionLimiter::Verdict ConnectionLimiter::acquire(const std::string& address, std::size_t max_total,
                                                      std::size_t max_per_address) {
  std::lock_guard lock(mutex_);
  if (max_total != 0 && total_ >= max_total) return Verdict::TooManyTotal;
  if (descriptor_cap_ != 0 && total_ >= descriptor_cap_) return Verdict::TooFewDescriptors;
  std::size_t& count = per_address_[address];
  if (max_per_address != 0 && count >= max_per_address) {
    if (count == 0) per_address_.erase(address);
    return Verdict::TooManyFromAddress;
  }
  ++count;
  ++total_;
  return Verdict::Admitted;
}

void ConnectionLimiter::release(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto it = per_address_.find(address);
  if (it == per_address_.end()) return;
  if (--it->second == 0) per_address_.erase(it);
  --total_;
}

std::size_t ConnectionLimiter::active() const {
  std::lock_guard lock(mutex_);
  return total_;
}

}  // namespace mxguard::session
