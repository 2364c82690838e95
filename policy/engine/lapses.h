#pragma once
// Which operator exceptions have lapsed since the last look, so that a long-running mxguard says so in
// its log on the day it happens, once, and not only at the next start or reload (design.md: "logged when
// it does"). Pure: the caller keeps the day of its last check and owns the timer.
#include <chrono>
#include <optional>
#include <vector>

#include "policy/config/config.h"
#include "policy/engine/resolution.h"

namespace mxguard::policy {

// The entries of `policy` whose lapse day (the day after `expires`) is after `last_checked` and no later
// than `today`, in file order. A check on day C reports every lapse up to C, so calling this with the day
// of the previous call reports each lapse exactly once, however late or irregular the calls are. Without
// a previous check (std::nullopt) every entry lapsed by `today` is listed. A `today` before
// `last_checked` (the clock was set back) lists nothing: those lapses were reported already.
//
// Loading a configuration warns about every entry lapsed by then (config cross-checks), so a caller that
// logged those warnings starts with last_checked = the day of the load.
std::vector<LapsedException> lapsed_since(const config::Policy& policy,
                                          std::optional<std::chrono::year_month_day> last_checked,
                                          std::chrono::year_month_day today);

}  // namespace mxguard::policy
