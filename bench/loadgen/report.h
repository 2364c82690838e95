#pragma once
// What one load-generator run measured, and its two renderings: plain text for people, JSON for run.sh.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bench/common/percentiles.h"
#include "bench/loadgen/flood.h"

namespace mxguard::bench {

struct Report {
  // what was run
  std::string label;
  std::string target;
  bool tls = true;
  bool pipelining = false;
  int concurrency = 0;
  std::size_t message_size = 0;
  int recipients = 1;
  int messages_per_session = 1;
  std::string rcpt_domain;
  bool stamp = false;
  // measured sessions (normal and flood runs)
  uint64_t completed = 0;
  uint64_t messages = 0;                       // accepted (250 after the end of data), failed sessions' too
  uint64_t start_ns = 0;                       // uv_hrtime() (CLOCK_MONOTONIC) when measuring began
  uint64_t end_ns = 0;                         // ... and when the last session completed
  uint64_t failed = 0;
  std::map<std::string, uint64_t> failures;   // reason -> count
  double elapsed_s = 0;
  double cpu_s = 0;                            // the load generator's own user+system time, for the whole run
  Percentiles latency;                         // connect -> 221
  Percentiles message_latency;                 // MAIL FROM sent -> 250 after the end of data
  // idle mode
  bool idle = false;
  uint64_t idle_requested = 0;
  uint64_t idle_established = 0;
  uint64_t idle_dropped = 0;                   // closed by the server while held
  double hold_s = 0;
  Percentiles idle_setup;                      // connect -> post-TLS EHLO reply
  // open loop (--rate)
  bool open_loop = false;
  double rate = 0;                             // arrivals per second asked for
  uint64_t arrivals_scheduled = 0;
  uint64_t arrivals_started = 0;
  uint64_t skipped_at_cap = 0;                 // arrivals not started: `concurrency` sessions were in flight
  std::size_t max_in_flight = 0;
  double start_span_s = 0;                     // from the first start to the last
  Percentiles start_lag;                       // an arrival's start -> its scheduled time
  // flood
  bool flood = false;
  FloodKind flood_kind = FloodKind::Rcpt;
  int flood_connections = 0;
  FloodStats flood_stats;

  double sessions_per_s() const { return elapsed_s > 0 ? static_cast<double>(completed) / elapsed_s : 0; }
  // Arrivals started per second over the schedule (the first one starts at 0 s).
  double started_per_s() const {
    return start_span_s > 0 ? static_cast<double>(arrivals_started - 1) / start_span_s : 0;
  }
  double messages_per_s() const { return elapsed_s > 0 ? static_cast<double>(messages) / elapsed_s : 0; }
};

std::string to_text(const Report& r);
std::string to_json(const Report& r);

}  // namespace mxguard::bench
