#pragma once
// The MTA-STS half of `mxguard policy DOMAIN` (the cached policy, its id, fetch time and expiry, or a
// fetch made now with --refresh) and `mxguard mta-sts purge DOMAIN`.
#include <optional>
#include <string>

#include "policy/config/config.h"
#include "policy/mta_sts/cache.h"

namespace mxguard::app {

struct StsReport {
  std::optional<mta_sts::CachedPolicy> policy;   // in force now
  std::string text;                               // lines ending in '\n'
};

// Reads the policy of `domain` from [mta_sts] cache_file without changing the file (a corrupt file is
// said to be corrupt, not set aside: that is the running mxguard's business).
StsReport cached_sts_policy(const config::Config& config, const std::string& domain);

// Discovers and fetches the policy now through mxguard-fetch, as the running mxguard would, and says what
// came of it. The running mxguard's cache is not changed.
StsReport refresh_sts_policy(const config::Config& config, const std::string& domain);

// `mxguard mta-sts purge DOMAIN --config FILE`: removes the domain's policy from the cache file. Exit
// status 0 when removed, 1 when there was none, 2 on an error.
int mta_sts_purge(const std::string& domain, const std::string& config_path);

}  // namespace mxguard::app
