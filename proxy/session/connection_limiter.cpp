#include "proxy/session/connection_limiter.h"

namespace mxguard::session {
namespace {
// A full table is swept at most this often: under an attack from more addresses than it holds, a sweep
// per penalty (all of it under the mutex every accept takes) would cost more than the penalties save.
constexpr std::chrono::seconds kPruneInterval{1};
}  // namespace

std::string ConnectionLimiter::key(const Kind& kind, const policy::IpAddress& ip) {
  return std::to_string(std::get<0>(kind)) + " " + policy::to_string(policy::network_of(ip, std::get<2>(kind)));
}

ConnectionLimiter::Decision ConnectionLimiter::acquire(const Client& client, std::size_t max_total,
                                                       std::size_t max_per_address, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (!penalties_.empty() && client.ip) {
    // Usually one kind of penalty is present (one prefix per family, one direction): one lookup.
    for (auto kind = kinds_.begin(); kind != kinds_.end();) {
      const auto& [direction, family, prefix] = kind->first;
      ++kind;   // the lookup below may forget the last penalty of this kind
      if (direction != client.direction || family != client.ip->family) continue;
      auto it = penalties_.find(key({direction, family, prefix}, *client.ip));
      if (it == penalties_.end()) continue;
      if (now == Clock::time_point{}) now = Clock::now();
      if (now < it->second.until) return {Verdict::Penalized, ++it->second.refused};
      forget(it);
    }
  }
  if (max_total != 0 && total_ >= max_total) return {Verdict::TooManyTotal, ++refused_streak_};
  if (descriptor_cap_ != 0 && total_ >= descriptor_cap_) return {Verdict::TooFewDescriptors, ++refused_streak_};
  std::size_t& count = per_address_[client.address];
  if (max_per_address != 0 && count >= max_per_address) {
    if (count == 0) per_address_.erase(client.address);
    return {Verdict::TooManyFromAddress, ++refused_streak_};
  }
  ++count;
  ++total_;
  refused_streak_ = 0;
  return {Verdict::Admitted};
}

ConnectionLimiter::Penalty ConnectionLimiter::penalize(unsigned direction, const policy::IpAddress& ip,
                                                       unsigned prefix, Clock::time_point until,
                                                       Clock::time_point now) {
  if (now == Clock::time_point{}) now = Clock::now();
  Kind kind{direction, ip.family, policy::network_of(ip, prefix).prefix};
  std::string k = key(kind, ip);
  std::lock_guard lock(mutex_);
  auto it = penalties_.find(k);
  if (it != penalties_.end()) {
    if (it->second.until < until) it->second.until = until;
    return Penalty::Extended;
  }
  if (penalties_.size() >= kMaxPenalized) {
    if (now < next_prune_) return Penalty::TableFull;
    prune_expired(now);
    next_prune_ = now + kPruneInterval;
    if (penalties_.size() >= kMaxPenalized) return Penalty::TableFull;
  }
  penalties_.emplace(std::move(k), Served{until, 0, kind});
  ++kinds_[kind];
  return Penalty::Begun;
}

void ConnectionLimiter::forget(std::unordered_map<std::string, Served>::iterator it) {
  auto kind = kinds_.find(it->second.kind);
  if (kind != kinds_.end() && --kind->second == 0) kinds_.erase(kind);
  penalties_.erase(it);
}

void ConnectionLimiter::prune_expired(Clock::time_point now) {
  for (auto it = penalties_.begin(); it != penalties_.end();) {
    auto next = std::next(it);
    if (now >= it->second.until) forget(it);
    it = next;
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
