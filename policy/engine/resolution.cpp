#include "policy/engine/resolution.h"

#include <algorithm>

#include "base/ascii.h"

namespace mxguard::policy {

std::chrono::year_month_day lapse_day(std::chrono::year_month_day expires) {
  return std::chrono::year_month_day{std::chrono::sys_days{expires} + std::chrono::days{1}};
}

std::string describe(const LapsedException& lapsed) {
  std::string text = "exception for " + lapsed.domain + " (" + std::string(to_string(lapsed.level)) + ") lapsed on " +
                     config::to_string(lapse_day(lapsed.expires));
  if (!lapsed.reason.empty()) text += " (reason: " + lapsed.reason + ")";
  return text;
}

std::string normalize_domain(std::string_view domain) {
  if (domain.ends_with('.')) domain.remove_suffix(1);
  return ascii::lower(domain);
}

Resolution resolve_policy(std::string_view recipient_domain, const config::Policy& policy,
                          std::chrono::year_month_day today) {
  Resolution out;
  out.policy.domain = normalize_domain(recipient_domain);
  out.policy.level = policy.default_level;
  out.policy.source = PolicySource::Default;

  auto entry = std::find_if(policy.domains.begin(), policy.domains.end(),
                            [&](const auto& named) { return named.first == out.policy.domain; });
  if (entry == policy.domains.end()) return out;
  const config::DomainPolicy& pinned = entry->second;
  if (config::lapsed(pinned, today)) {
    // Falling back is what the operator asked for by writing `expires`; the caller reports it.
    out.lapsed = LapsedException{entry->first, pinned.level, *pinned.expires, pinned.reason};
    return out;
  }
  out.policy.level = pinned.level;
  out.policy.source = PolicySource::Config;
  out.policy.mx_patterns = pinned.mx;
  if (!pinned.reason.empty()) out.policy.exception_reason = pinned.reason;
  return out;
}

}  // namespace mxguard::policy
