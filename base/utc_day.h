#pragma once
// Today in UTC. An operator's exception (`expires = 2027-01-31`) is in force through that UTC day and
// lapses at midnight UTC, whatever time zone the machine is set to.
#include <chrono>

namespace mxguard {

inline std::chrono::year_month_day today_utc() {
  return std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now())};
}

}  // namespace mxguard
