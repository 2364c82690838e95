#include "proxy/audit/report/filter.h"

#include "base/ascii.h"

namespace mxguard::audit::report {

bool Filter::matches(const Record& r) const {
  if (since && r.ts < *since) return false;
  if (until && r.ts >= *until) return false;
  if (direction && r.direction != *direction) return false;
  if (!domain.empty()) {
    std::string_view d = r.domain;
    if (d.ends_with('.')) d.remove_suffix(1);
    if (!ascii::iequals(d, domain)) return false;
  }
  return true;
}

std::optional<Time> parse_since(std::string_view text) {
  if (auto day = parse_day(text)) return Time{*day};
  return parse_rfc3339(text);
}

std::optional<Time> parse_until(std::string_view text) {
  if (auto day = parse_day(text)) return Time{*day + std::chrono::days{1}};
  return parse_rfc3339(text);
}

}  // namespace mxguard::audit::report
