#include "proxy/app/descriptor_budget.h"

#include <sys/resource.h>

namespace mxguard::app {

std::size_t descriptor_reserve(unsigned workers) { return 32 + 4 * static_cast<std::size_t>(workers); }

std::size_t sessions_for_descriptors(std::size_t limit, unsigned workers) {
  std::size_t reserve = descriptor_reserve(workers);
  return limit > reserve + 2 ? (limit - reserve) / 2 : 0;
}

std::size_t raise_descriptor_limit(unsigned workers, std::size_t max_connections, std::string& note) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  if (lim.rlim_cur == RLIM_INFINITY) return 0;
  std::size_t cap = sessions_for_descriptors(static_cast<std::size_t>(lim.rlim_cur), workers);
  if (cap != 0 && (max_connections == 0 || cap < max_connections)) {
    note = "the file descriptor limit (RLIMIT_NOFILE " + std::to_string(lim.rlim_cur) + ") allows about " +
           std::to_string(cap) + " sessions, fewer than inbound.limits.max_connections " +
           std::to_string(max_connections) + ": more are refused with 421 (raise LimitNOFILE or ulimit -n to " +
           std::to_string(2 * max_connections + descriptor_reserve(workers)) + ")";
  }
  return cap;
}

}  // namespace mxguard::app
