#include "bench/common/percentiles.h"

#include <algorithm>

namespace mxguard::bench {
namespace {

double ms_at(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  // nearest rank: the smallest value with at least p of the samples at or below it
  auto rank = static_cast<std::size_t>(p * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1] / 1000.0;
}

}  // namespace

Percentiles percentiles(std::vector<uint32_t>& latencies_us) {
  std::sort(latencies_us.begin(), latencies_us.end());
  Percentiles p;
  p.count = latencies_us.size();
  p.p50_ms = ms_at(latencies_us, 0.50);
  p.p90_ms = ms_at(latencies_us, 0.90);
  p.p99_ms = ms_at(latencies_us, 0.99);
  p.max_ms = latencies_us.empty() ? 0 : latencies_us.back() / 1000.0;
  return p;
}

}  // namespace mxguard::bench
