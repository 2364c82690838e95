#include "bench/loadgen/report.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace mxguard::bench {
namespace {

std::string format(const char* fmt, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

nlohmann::json to_json(const Percentiles& p) {
  return {{"count", p.count}, {"p50_ms", p.p50_ms}, {"p90_ms", p.p90_ms}, {"p99_ms", p.p99_ms}, {"max_ms", p.max_ms}};
}

std::string latency_line(const char* what, const Percentiles& p) {
  return format("  %s: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (%zu samples)\n", what, p.p50_ms, p.p90_ms,
                p.p99_ms, p.max_ms, p.count);
}

}  // namespace

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
    out += format("  concurrency %d, %zu-byte messages, %d recipient(s) at %s, %d message(s) per session\n",
                  r.concurrency, r.message_size, r.recipients, r.rcpt_domain.c_str(), r.messages_per_session);
    out += format("  sessions: %llu completed, %llu failed in %.2f s: %.1f sessions/s\n",
                  static_cast<unsigned long long>(r.completed), static_cast<unsigned long long>(r.failed), r.elapsed_s,
                  r.sessions_per_s());
    out += latency_line("latency (connect -> 221)", r.latency);
    if (r.open_loop) {
      out += format("  open loop at %.1f/s: %llu of %llu arrivals started (%.1f/s), %llu skipped at the cap of %d "
                    "in flight, at most %zu in flight\n",
                    r.rate, static_cast<unsigned long long>(r.arrivals_started),
                    static_cast<unsigned long long>(r.arrivals_scheduled), r.started_per_s(),
                    static_cast<unsigned long long>(r.skipped_at_cap), r.concurrency, r.max_in_flight);
      out += latency_line("start lag (scheduled -> started)", r.start_lag);
    }
    if (r.messages_per_session > 1 || r.messages != r.completed) {
      out += format("  messages: %llu accepted: %.1f messages/s\n", static_cast<unsigned long long>(r.messages),
                    r.messages_per_s());
    }
    out += latency_line("message latency (MAIL -> 250 after the end of data)", r.message_latency);
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
      {"messages_per_session", r.messages_per_session},
      {"rcpt_domain", r.rcpt_domain},
      {"stamp", r.stamp},
      {"completed", r.completed},
      {"messages", r.messages},
      {"start_ns", r.start_ns},
      {"end_ns", r.end_ns},
      {"failed", r.failed},
      {"failures", r.failures},
      {"elapsed_s", r.elapsed_s},
      {"cpu_s", r.cpu_s},
      {"sessions_per_s", r.sessions_per_s()},
      {"messages_per_s", r.messages_per_s()},
      {"latency", to_json(r.latency)},
      {"message_latency", to_json(r.message_latency)},
  };
  if (r.idle) {
    j["idle"] = {{"requested", r.idle_requested},
                 {"established", r.idle_established},
                 {"dropped", r.idle_dropped},
                 {"hold_s", r.hold_s},
                 {"setup_latency", to_json(r.idle_setup)}};
  }
  if (r.open_loop) {
    j["open_loop"] = {{"rate", r.rate},
                      {"scheduled", r.arrivals_scheduled},
                      {"started", r.arrivals_started},
                      {"started_per_s", r.started_per_s()},
                      {"skipped_at_cap", r.skipped_at_cap},
                      {"cap", r.concurrency},
                      {"max_in_flight", r.max_in_flight},
                      {"start_lag", to_json(r.start_lag)}};
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
