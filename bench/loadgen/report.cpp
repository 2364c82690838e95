#include "bench/loadgen/report.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

namespace mxguard::bench {
namespace {

std::string format(const char* fmt, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

double ms_at(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  // nearest rank: the smallest value with at least p of the samples at or below it
  auto rank = static_cast<std::size_t>(p * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1] / 1000.0;
}

nlohmann::json to_json(const Percentiles& p) {
  return {{"count", p.count}, {"p50_ms", p.p50_ms}, {"p90_ms", p.p90_ms}, {"p99_ms", p.p99_ms}, {"max_ms", p.max_ms}};
}

std::string latency_line(const char* what, const Percentiles& p) {
  return format("  %s: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (%zu samples)\n", what, p.p50_ms, p.p90_ms,
                p.p99_ms, p.max_ms, p.count);
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

std::string to_text(const Report& r) {
  std::string out = format("loadgen%s%s: %s %s, %s\n", r.label.empty() ? "" : " ", r.label.c_str(),
                           r.tls ? "STARTTLS" : "plaintext", r.target.c_str(),
                           r.idle ? "idle sessions" : (r.pipelining ? "pipelined" : "not pipelined"));
  if (r.idle) {
    out += format("  idle: %llu of %llu sessions established and held %.1f s, %llu failed, %llu dropped while held\n",
                  static_cast<unsigned long long>(r.idle_established),
                  static_cast<unsigned long long>(r.idle_requested), r.hold_s,
                  static_cast<unsigned long long>(r.failed), static_cast<unsigned long long>(r.idle_dropped));
    out += latency_line("setup latency (connect -> EHLO reply)", r.idle_setup);
  } else {
    out += format("  concurrency %d, %zu-byte messages, %d recipient(s)\n", r.concurrency, r.message_size,
                  r.recipients);
    out += format("  sessions: %llu completed, %llu failed in %.2f s: %.1f sessions/s\n",
                  static_cast<unsigned long long>(r.completed), static_cast<unsigned long long>(r.failed), r.elapsed_s,
                  r.sessions_per_s());
    out += latency_line("latency (connect -> 221)", r.latency);
  }
  out += format("  load generator CPU time: %.2f s\n", r.cpu_s);
  for (const auto& [why, n] : r.failures) {
    out += format("  failed: %llu x %s\n", static_cast<unsigned long long>(n), why.c_str());
  }
  if (r.flood) {
    const FloodStats& f = r.flood_stats;
    out += format("  flood %s: %d connections kept open (%llu opened, %llu ended by the server), %.1f KiB sent\n",
                  to_string(r.flood_kind), r.flood_connections, static_cast<unsigned long long>(f.opened),
                  static_cast<unsigned long long>(f.closed_by_server), static_cast<double>(f.bytes_sent) / 1024.0);
  }
  return out;
}

std::string to_json(const Report& r) {
  nlohmann::json j = {
      {"label", r.label},
      {"target", r.target},
      {"tls", r.tls},
      {"pipelining", r.pipelining},
      {"concurrency", r.concurrency},
      {"message_size", r.message_size},
      {"recipients", r.recipients},
      {"completed", r.completed},
      {"failed", r.failed},
      {"failures", r.failures},
      {"elapsed_s", r.elapsed_s},
      {"cpu_s", r.cpu_s},
      {"sessions_per_s", r.sessions_per_s()},
      {"latency", to_json(r.latency)},
  };
  if (r.idle) {
    j["idle"] = {{"requested", r.idle_requested},
                 {"established", r.idle_established},
                 {"dropped", r.idle_dropped},
                 {"hold_s", r.hold_s},
                 {"setup_latency", to_json(r.idle_setup)}};
  }
  if (r.flood) {
    j["flood"] = {{"kind", to_string(r.flood_kind)},
                  {"connections", r.flood_connections},
                  {"opened", r.flood_stats.opened},
                  {"closed_by_server", r.flood_stats.closed_by_server},
                  {"bytes_sent", r.flood_stats.bytes_sent}};
  }
  return j.dump() + "\n";
}

}  // namespace mxguard::bench
