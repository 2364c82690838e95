#include "proxy/session/connection_limiter.h"

namespace mxguard::session {
namespace {
// A full table is swept at most this often: under an attack from more addresses than it holds, a sweep
// per penalty (all of it under the mutex every accept takes) would cost more than the penalties save.
constexpr std::chrono::seconds kPruneInterval{1};
}  // namespace

ConnectionLimiter::Decision ConnectionLimiter::acquire(const std::string& address, const std::string& penalty_key,
                                                       std::size_t max_total, std::size_t max_per_address,
                                                       Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (!penalties_.empty()) {
    if (auto it = penalties_.find(penalty_key); it != penalties_.end()) {
      if (now == Clock::time_point{}) now = Clock::now();
      if (now < it->second.until) return {Verdict::Penalized, ++it->second.refused};
      penalties_.erase(it);
    }
  }
  if (max_total != 0 && total_ >= max_total) return {Verdict::TooManyTotal, ++refused_streak_};
  if (descriptor_cap_ != 0 && total_ >= descriptor_cap_) return {Verdict::TooFewDescriptors, ++refused_streak_};
  std::size_t& count = per_address_[address];
  if (max_per_address != 0 && count >= max_per_address) {
    if (count == 0) per_address_.erase(address);
    return {Verdict::TooManyFromAddress, ++refused_streak_};
  }
  ++count;
  ++total_;
  refused_streak_ = 0;
  return {Verdict::Admitted};
}

bool ConnectionLimiter::penalize(const std::string& key, Clock::time_point until, Clock::time_point now) {
  if (now == Clock::time_point{}) now = Clock::now();
  std::lock_guard lock(mutex_);
  auto it = penalties_.find(key);
  if (it != penalties_.end()) {
    if (it->second.until < until) it->second.until = until;
    return true;
  }
  if (penalties_.size() >= kMaxPenalized) {
    if (now < next_prune_) return false;
    prune_expired(now);
    next_prune_ = now + kPruneInterval;
    if (penalties_.size() >= kMaxPenalized) return false;
  }
  penalties_.emplace(key, Penalty{until, 0});
  return true;
}

void ConnectionLimiter::prune_expired(Clock::time_point now) {
  for (auto it = penalties_.begin(); it != penalties_.end();) {
    it = now >= it->second.until ? penalties_.erase(it) : std::next(it);
  }
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

std::size_t ConnectionLimiter::penalized() const {
  std::lock_guard lock(mutex_);
  return penalties_.size();
}

}  // namespace mxguard::session
