// The MTA-STS policy cache's rules (cache.h). All time arithmetic is done on plain int64 seconds with
// saturation, because fetched_at may come from a file or a clock that was wrong: no input overflows.
#include "policy/mta_sts/cache.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "base/ascii.h"

namespace mxguard::mta_sts {
namespace {

using Int = std::int64_t;

// The cache's key for a domain: lower-case, without the root's trailing dot.
std::string key_of(std::string_view domain) {
  if (domain.ends_with('.')) domain.remove_suffix(1);
  return ascii::lower(domain);
}

// a - b, saturated to the range of Int.
Int saturated_difference(Int a, Int b) {
  Int out = 0;
  if (__builtin_sub_overflow(a, b, &out)) {
    return b < 0 ? std::numeric_limits<Int>::max() : std::numeric_limits<Int>::min();
  }
  return out;
}

// How far `now` is from `then` in seconds, either way (0 when equal), saturated.
Int distance(Seconds then, Seconds now) {
  Int d = saturated_difference(now.time_since_epoch().count(), then.time_since_epoch().count());
  return d == std::numeric_limits<Int>::min() ? std::numeric_limits<Int>::max() : (d < 0 ? -d : d);
}

// Seconds since the fetch; negative when the clock now reads earlier than when the policy was fetched.
Int age(const CachedPolicy& cached, Seconds now) {
  return saturated_difference(now.time_since_epoch().count(), cached.fetched_at.time_since_epoch().count());
}

bool is_in_force(const CachedPolicy& cached, Seconds now) {
  return distance(cached.fetched_at, now) < static_cast<Int>(cached.policy.max_age);
}

Int refresh_after(std::uint32_t max_age, std::chrono::seconds jitter) {
  return static_cast<Int>(max_age) * 3 / 4 + jitter.count();
}

}  // namespace

bool Cache::in_retry_after(const std::string& key, Seconds now) const {
  auto it = failed_at_.find(key);
  return it != failed_at_.end() && distance(it->second, now) < options_.retry_after.count();
}

const CachedPolicy* Cache::in_force(const std::string& domain, Seconds now) const {
  auto it = entries_.find(key_of(domain));
  if (it == entries_.end() || !is_in_force(it->second.cached, now)) return nullptr;
  return &it->second.cached;
}

Next Cache::after_discovery(const std::string& domain, const Discovery& found, Seconds now) const {
  const std::string key = key_of(domain);
  const CachedPolicy* current = in_force(key, now);
  if (found.kind != Discovery::Kind::Published) {
    // None, Invalid, Temporary: no id to fetch against, and DNS alone never removes a policy in force.
    return current ? Next::UsePolicy : Next::NoPolicy;
  }
  const bool may_fetch = !in_retry_after(key, now);
  if (!current) return may_fetch ? Next::Fetch : Next::NoPolicy;
  if (!may_fetch) return Next::UsePolicy;
  if (current->id != found.id) return Next::UsePolicyAndFetch;
  const Entry& entry = entries_.at(key);
  Int a = age(entry.cached, now);
  bool refresh_due = a < 0 || a >= refresh_after(entry.cached.policy.max_age, entry.jitter);
  return refresh_due ? Next::UsePolicyAndFetch : Next::UsePolicy;
}

std::vector<std::string> Cache::due_for_refresh(Seconds now) const {
  std::vector<std::string> due;
  for (const auto& [key, entry] : entries_) {
    if (!is_in_force(entry.cached, now) || in_retry_after(key, now)) continue;
    Int a = age(entry.cached, now);
    if (a < 0 || a >= refresh_after(entry.cached.policy.max_age, entry.jitter)) due.push_back(key);
  }
  return due;
}

std::string Cache::key(std::string_view domain) { return key_of(domain); }

void Cache::store(CachedPolicy policy, std::chrono::seconds refresh_jitter) {
  policy.domain = key_of(policy.domain);
  // At most an eighth of max_age: the refresh is then due by 7/8 max_age, leaving room for retries.
  const std::chrono::seconds jitter_limit{policy.policy.max_age / 8};
  refresh_jitter = std::clamp(refresh_jitter, std::chrono::seconds{0}, jitter_limit);
  failed_at_.erase(policy.domain);
  failures_in_a_row_.erase(policy.domain);
  std::string key = policy.domain;
  entries_.insert_or_assign(std::move(key), Entry{std::move(policy), refresh_jitter});
}

void Cache::fetch_failed(const std::string& domain, Seconds now) {
  const std::string key = key_of(domain);
  failed_at_[key] = now;
  ++failures_in_a_row_[key];
}

unsigned Cache::consecutive_failures(const std::string& domain) const {
  auto it = failures_in_a_row_.find(key_of(domain));
  return it == failures_in_a_row_.end() ? 0 : it->second;
}

bool Cache::erase(const std::string& domain) {
  const std::string key = key_of(domain);
  failed_at_.erase(key);
  failures_in_a_row_.erase(key);
  return entries_.erase(key) > 0;
}

std::size_t Cache::drop_expired(Seconds now) {
  std::size_t dropped = std::erase_if(entries_, [now](const auto& kv) { return !is_in_force(kv.second.cached, now); });
  // A domain with a policy keeps its note (the count of failed refreshes must survive); one without
  // needs it only while retry_after holds back the next fetch.
  for (auto it = failed_at_.begin(); it != failed_at_.end();) {
    if (entries_.contains(it->first) || in_retry_after(it->first, now)) {
      ++it;
      continue;
    }
    failures_in_a_row_.erase(it->first);
    it = failed_at_.erase(it);
  }
  return dropped;
}

std::vector<CachedPolicy> Cache::entries() const {
  std::vector<CachedPolicy> out;
  out.reserve(entries_.size());
  for (const auto& [key, entry] : entries_) out.push_back(entry.cached);
  return out;
}

}  // namespace mxguard::mta_sts
