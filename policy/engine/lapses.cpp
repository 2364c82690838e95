#include "policy/engine/lapses.h"

namespace mxguard::policy {

std::vector<LapsedException> lapsed_since(const config::Policy& policy,
                                          std::optional<std::chrono::year_month_day> last_checked,
                                          std::chrono::year_month_day today) {
  std::vector<LapsedException> out;
  for (const auto& [domain, entry] : policy.domains) {
    if (!entry.expires) continue;
    std::chrono::year_month_day lapses_on = lapse_day(*entry.expires);
    if (lapses_on > today) continue;
    if (last_checked && lapses_on <= *last_checked) continue;
    out.push_back(LapsedException{domain, entry.level, *entry.expires, entry.reason});
  }
  return out;
}

}  // namespace mxguard::policy
