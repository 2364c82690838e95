#include "bench/sink/stats.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "bench/common/percentiles.h"

namespace mxguard::bench {
namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"";
}

}  // namespace

void SinkStats::message(uint64_t now_ns, std::optional<uint64_t> stamp_ns) {
  ++messages;
  ++window_messages_;
  if (window_first_ns_ == 0) window_first_ns_ = now_ns;
  window_last_ns_ = now_ns;
  if (stamp_ns && *stamp_ns <= now_ns) {
    window_latency_us_.push_back(static_cast<uint32_t>((now_ns - *stamp_ns) / 1000));
  } else {
    ++window_unstamped_;
  }
}

void SinkStats::reset_window() {
  window_messages_ = 0;
  window_unstamped_ = 0;
  window_first_ns_ = 0;
  window_last_ns_ = 0;
  window_latency_us_.clear();
  window_tls_.clear();
}

std::string SinkStats::json() const {
  std::vector<uint32_t> samples = window_latency_us_;
  Percentiles p = percentiles(samples);
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "{\"connections\": %llu, \"messages\": %llu, \"commands\": %llu, \"bytes_in\": %llu, "
                "\"tls_failures\": %llu, \"window\": {\"messages\": %llu, \"unstamped\": %llu, \"first_ns\": %llu, "
                "\"last_ns\": %llu, \"latency\": {\"count\": %zu, \"p50_ms\": %.3f, \"p90_ms\": %.3f, "
                "\"p99_ms\": %.3f, \"max_ms\": %.3f}}, \"tls\": {",
                connections, messages, commands, bytes_in, tls_failures, window_messages_, window_unstamped_,
                static_cast<unsigned long long>(window_first_ns_), static_cast<unsigned long long>(window_last_ns_),
                p.count, p.p50_ms, p.p90_ms, p.p99_ms, p.max_ms);
  std::string out = buf;
  bool first = true;
  for (const auto& [what, n] : window_tls_) {
    out += (first ? "" : ", ") + quoted(what) + ": " + std::to_string(n);
    first = false;
  }
  return out + "}}\n";
}

bool SinkStats::write(const std::string& path, std::string& error) const {
  std::string tmp = path + ".tmp-" + std::to_string(getpid());
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << json();
    if (!f.flush()) {
      error = "cannot write " + tmp;
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot rename " + tmp + " to " + path;
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

std::string SinkStats::summary() const {
  std::string out = "sink: " + std::to_string(connections) + " connections, " + std::to_string(messages) +
                    " messages, " + std::to_string(commands) + " commands, " + std::to_string(bytes_in) +
                    " bytes received";
  for (const auto& [what, n] : tls_total_) out += "; " + std::to_string(n) + " x " + what;
  if (tls_failures > 0) out += "; " + std::to_string(tls_failures) + " TLS failures";
  return out;
}

}  // namespace mxguard::bench
