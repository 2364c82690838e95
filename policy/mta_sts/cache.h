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
//   chosen by the caller), so a live policy is never allowed to lapse while mail flows.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
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

  // The policy in force for `domain` at `now`, if any (an expired one is not in force).
  const CachedPolicy* in_force(const std::string& domain, Seconds now) const;

  // What the TXT lookup result `found` means for `domain` at `now` (see Next).
  Next after_discovery(const std::string& domain, const Discovery& found, Seconds now) const;

  // Policies whose proactive refresh is due at `now` (fetched_at + 3/4 max_age + their jitter passed),
  // and that are not in retry_after after a failure.
  std::vector<std::string> due_for_refresh(Seconds now) const;

  // A fetch finished: store the new policy (replacing any older one; a "none" policy replaces too, RFC
  // 8461 §5 mode none), or note the failure (the policy in force, if any, stays).
  void store(CachedPolicy policy, std::chrono::seconds refresh_jitter = {});
  void fetch_failed(const std::string& domain, Seconds now);

  bool erase(const std::string& domain);   // mxguard mta-sts purge
  std::vector<CachedPolicy> entries() const;   // by domain, for the cache file and mxguard policy
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    CachedPolicy cached;
    std::chrono::seconds jitter{};
  };
  Options options_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, Seconds> failed_at_;
};

}  // namespace mxguard::mta_sts
