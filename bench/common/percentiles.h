#pragma once
// Latency percentiles, shared by the load generator (per session, per message) and the sink (end to end,
// from the load generator's stamp in the message to the sink's receipt of its end of data).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace mxguard::bench {

struct Percentiles {
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
  std::size_t count = 0;
};
// Nearest-rank percentiles of latencies in microseconds (sorts the vector).
Percentiles percentiles(std::vector<uint32_t>& latencies_us);

}  // namespace mxguard::bench
