#pragma once
// The MTA-STS policy cache (RFC 8461 §5.1): what mxguard knows of each domain's policy, and the pure
// rules for when to ask DNS and HTTPS again. No clock and no I/O: every call takes `now`.
//
// The rules a postmaster relies on (each one a mistake some implementation made):
// - A policy stays in force until fetched_at + max_age, whatever DNS or HTTPS say meanwhile: a TXT
//   SERVFAIL or a failed refresh never removes it, never turns it into "none".
// - The same TXT id never extends a policy: when max_age runs out, the policy is fetched again over HTTPS.
// - A new TXT id makes the policy due for a fetch (the old one stays in force until the new one arrives).
// - A fetch that failed is not tried again for domain before retry_after (default 5 minutes).
// - A policy is refreshed proactively before it expires: from fetched_at + 3/4 max_age (with jitter
//   chosen by the caller), so a live policy is never allowed to lapse while mail flows (RFC 8461 §10.2).
//
// Time may step backwards (an NTP correction, an operator's `date`, a dead RTC at boot). A policy whose
// fetched_at lies ahead of `now` stays in force only while |now - fetched_at| < max_age, and is due for
// refresh at once, so one successful fetch puts it back on the clock's time line; a failure note from
// "the future" counts the same way against retry_after. Nothing is kept for longer than its max_age
// away from `now`, however the clock moves, and no arithmetic overflows for any fetched_at.
//
// Domains are compared case-insensitively and without a trailing dot (store() keeps them in that form).
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/mta_sts/policy_file.h"
#include "policy/mta_sts/record.h"

namespace mxguard::mta_sts {

using Clock = std::chrono::system_clock;
using Seconds = std::chrono::sys_seconds;

struct CachedPolicy {
  std::string domain;     // lower-case A-label
  std::string id;         // the TXT record's id when the policy was fetched
  Seconds fetched_at{};   // when the policy was fetched over HTTPS
  Policy policy;
  Seconds expires_at() const { return fetched_at + std::chrono::seconds(policy.max_age); }
  friend bool operator==(const CachedPolicy&, const CachedPolicy&) = default;
};

// What to do next for a domain, after looking at the cache (and, when one was made, the TXT lookup).
enum class Next {
  UsePolicy,           // a policy is in force and nothing needs fetching
  UsePolicyAndFetch,   // a policy is in force; fetch in the background (new id, or refresh is due)
  Fetch,               // no policy in force, the TXT record says one is published: fetch and wait
  NoPolicy,            // no policy in force, and none to fetch now (none published, or retry_after)
};

class Cache {
 public:
  struct Options {
    std::chrono::seconds retry_after{300};   // after a failed fetch
  };
  Cache() = default;
  explicit Cache(Options options) : options_(options) {}

  // The policy in force for `domain` at `now`, if any (an expired one is not in force). The pointer is
  // valid until the next store(), erase() or drop_expired().
  const CachedPolicy* in_force(const std::string& domain, Seconds now) const;

  // What the TXT lookup result `found` means for `domain` at `now` (see Next):
  // - Published, same id as the policy in force: UsePolicy, or UsePolicyAndFetch when its refresh is due.
  // - Published, another id, a policy in force: UsePolicyAndFetch (the old policy stays until the new
  //   one is stored).
  // - Published, nothing in force (never fetched, or expired: the same id never extends a policy): Fetch.
  // - None, Invalid or Temporary: UsePolicy while a policy is in force (DNS never removes one; without a
  //   valid record there is no id to fetch against), NoPolicy otherwise.
  // Within retry_after of a failed fetch, every "...Fetch" becomes UsePolicy or NoPolicy.
  Next after_discovery(const std::string& domain, const Discovery& found, Seconds now) const;

  // Policies in force whose proactive refresh is due at `now` (fetched_at + 3/4 max_age + their jitter
  // passed, or fetched_at ahead of `now`), and that are not in retry_after after a failure. Expired
  // policies are not listed: the next message to the domain fetches (Next::Fetch). By domain.
  std::vector<std::string> due_for_refresh(Seconds now) const;

  // A fetch finished: store the new policy (replacing any older one whatever its fetched_at, so the last
  // fetch wins; a "none" policy replaces too, RFC 8461 §5 mode none), or note the failure (the policy in
  // force, if any, stays). store() clears the failure note. refresh_jitter is clamped to
  // [0, max_age / 8], so a refresh is always due well before the policy expires.
  void store(CachedPolicy policy, std::chrono::seconds refresh_jitter = {});
  void fetch_failed(const std::string& domain, Seconds now);

  // Failed fetches since the last stored policy (RFC 8461 §10.2: alert when a refresh fails twice).
  unsigned consecutive_failures(const std::string& domain) const;

  bool erase(const std::string& domain);   // mxguard mta-sts purge: true when a policy was cached
  // Forgets policies that are not in force at `now`, and the failure notes of domains left without a
  // policy once retry_after has passed; returns how many policies went. The owner calls it (e.g. before
  // writing the cache file) so the cache does not grow with every domain ever mailed; nothing else in
  // the class drops an entry.
  std::size_t drop_expired(Seconds now);
  std::vector<CachedPolicy> entries() const;   // by domain, for the cache file and mxguard policy
  // The form a domain is kept in (lower case, no trailing dot): CachedPolicy::domain once stored.
  static std::string key(std::string_view domain);
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    CachedPolicy cached;
    std::chrono::seconds jitter{};
  };
  Options options_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, Seconds> failed_at_;
  std::map<std::string, unsigned> failures_in_a_row_;   // same keys as failed_at_

  bool in_retry_after(const std::string& key, Seconds now) const;
};

}  // namespace mxguard::mta_sts
