#pragma once
// What the sink counts, and the one JSON object it writes on SIGUSR1 (bench/run.sh --outbound reads it):
// totals since the start, and a window since the last SIGUSR2 with the end-to-end latency of the messages
// that carried the load generator's X-Bench-Sent stamp (its MAIL FROM time, CLOCK_MONOTONIC like ours)
// and the window's TLS sessions by version, cipher and group.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mxguard::bench {

class SinkStats {
 public:
  unsigned long long connections = 0;
  unsigned long long messages = 0;
  unsigned long long commands = 0;
  unsigned long long bytes_in = 0;
  unsigned long long tls_failures = 0;

  // A message's end of data arrived at `now_ns`; `stamp_ns` is its X-Bench-Sent value, if it had one.
  void message(uint64_t now_ns, std::optional<uint64_t> stamp_ns);
  // A handshake completed; `what` is TlsPipe::describe().
  void tls_established(const std::string& what) {
    ++tls_total_[what];
    ++window_tls_[what];
  }
  void reset_window();
  std::string json() const;
  // Replaces `path` atomically (a temporary file renamed over it), so a reader never sees half a report.
  bool write(const std::string& path, std::string& error) const;
  std::string summary() const;   // one line for the log at exit

 private:
  std::map<std::string, unsigned long long> tls_total_;   // "TLSv1.3 TLS_AES_128_GCM_SHA256 X25519" -> sessions
  std::map<std::string, unsigned long long> window_tls_;
  unsigned long long window_messages_ = 0;
  unsigned long long window_unstamped_ = 0;
  uint64_t window_first_ns_ = 0;
  uint64_t window_last_ns_ = 0;
  std::vector<uint32_t> window_latency_us_;
};

}  // namespace mxguard::bench
