#pragma once
// The open-loop schedule (--rate): arrival k is due at start + k / rate, whether or not earlier sessions
// have finished, so that a slow server meets the same offered load instead of a gentler one (a closed
// loop waits for a completion before it starts the next session and so measures the server's pace, not
// its behaviour at a given arrival rate). The driver asks on each pacer tick how many arrivals are due
// and starts them in a burst; how late each one started is reported, so a late load generator shows.
#include <algorithm>
#include <cstdint>

namespace mxguard::bench {

struct ArrivalSchedule {
  double rate = 0;        // arrivals per second
  uint64_t total = 0;     // arrivals in the whole schedule
  uint64_t start_ns = 0;  // uv_hrtime() of arrival 0

  uint64_t scheduled_ns(uint64_t k) const { return start_ns + static_cast<uint64_t>(static_cast<double>(k) * 1e9 / rate); }
  // How many arrivals are due by `now_ns` (arrival 0 at once), never more than `total`.
  uint64_t due(uint64_t now_ns) const {
    if (now_ns < start_ns) return 0;
    auto n = static_cast<uint64_t>(static_cast<double>(now_ns - start_ns) * rate / 1e9) + 1;
    return std::min(n, total);
  }
  // Arrivals in `duration_s` seconds at `rate` (at least one).
  static uint64_t for_duration(double rate, double duration_s) {
    return std::max<uint64_t>(1, static_cast<uint64_t>(rate * duration_s));
  }
};

}  // namespace mxguard::bench
