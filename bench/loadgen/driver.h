#pragma once
// Runs one load-generator experiment on one libuv loop: a closed loop of `concurrency` measured sessions
// (each one that ends is replaced until the session count or the duration is reached), or an open loop
// (sessions started at a fixed rate whatever the server's pace, at most `concurrency` in flight),
// optionally with a flood of hostile connections opened first (on a thread of their own, flood_runner.h); or, in idle mode, N sessions set up and held.
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <uv.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench/loadgen/arrivals.h"
#include "bench/loadgen/flood.h"
#include "bench/loadgen/flood_runner.h"
#include "bench/loadgen/report.h"
#include "bench/loadgen/session.h"
#include "proxy/uv/handle.h"

namespace mxguard::bench {

struct Options {
  std::string target_text = "127.0.0.1:8025";
  sockaddr_in target{};
  int concurrency = 10;         // open loop: the most sessions in flight; an arrival past it is skipped
  uint64_t sessions = 0;       // 0 with duration 0: 1000
  double duration_s = 0;
  double rate = 0;             // open loop: sessions started per second on a schedule; 0 = closed loop
  std::size_t message_size = 4096;
  bool tls = true;
  bool pipelining = false;
  int recipients = 1;
  int messages_per_session = 1;
  std::string rcpt_domain = "bench.test";
  bool stamp = false;          // an X-Bench-Sent header with each message's MAIL FROM time, for the sink
  double timeout_s = 30;
  // idle mode
  uint64_t idle = 0;           // sessions to set up and hold; 0 = not idle mode
  double hold_s = 0;           // 0 = until SIGINT/SIGTERM
  std::string ready_file;      // written once every idle session is set up (or failed)
  // flood
  std::optional<FloodKind> flood;
  int flood_connections = 50;
  double flood_warmup_s = 1;
  int drip_interval_ms = 200;
  std::optional<sockaddr_in> flood_source;   // the flood's own client address (port 0)
  std::string label;
};

class Driver final : public SessionHost {
 public:
  Driver(uv_loop_t* loop, const Options& options, SSL_CTX* tls);
  // Runs the loop until the experiment is over; false if it could not start.
  bool run(std::string& error);
  Report report();

  void session_idle(Session& s) override;
  void session_finished(Session& s, const std::string& failure) override;
  void message_accepted(Session& s, uint64_t start_ns, uint64_t end_ns) override;
  void session_closed(Session& s) override;

 private:
  enum class Stage { FloodWarmup, Measuring, Holding, Draining, Over };
  void tick();
  void start_measuring();
  bool open_loop() const { return options_.rate > 0; }
  void pace();   // open loop: starts the arrivals that are due
  void launch();
  bool may_launch() const;
  void all_idle_ready();
  void stop(const char* why);
  void maybe_over();
  // The content (headers and body, `size` bytes), and where the stamp's digits are (npos: no stamp).
  static std::string build_message(std::size_t size, const std::string& rcpt_domain, bool stamp,
                                   std::size_t& stamp_offset);

  uv_loop_t* loop_;
  const Options& options_;
  SessionConfig config_;
  std::string half_hello_;
  Stage stage_ = Stage::Measuring;
  uint64_t stage_since_ns_ = 0;
  uint64_t measure_start_ns_ = 0;
  uint64_t last_finish_ns_ = 0;
  uint64_t launched_ = 0;
  std::unordered_map<Session*, std::unique_ptr<Session>> sessions_;
  std::unique_ptr<FloodRunner> flood_;   // the hostile connections, on their own thread
  uv::Handle<uv_timer_t> ticker_;
  uv::Handle<uv_timer_t> pacer_;
  uv::Handle<uv_signal_t> sigint_;
  uv::Handle<uv_signal_t> sigterm_;
  // results
  std::vector<uint32_t> latencies_us_;
  std::vector<uint32_t> message_latencies_us_;
  uint64_t messages_ = 0;
  std::vector<uint32_t> idle_setup_us_;
  uint64_t completed_ = 0;
  uint64_t failed_ = 0;
  uint64_t idle_ready_ = 0;
  uint64_t idle_dropped_ = 0;
  uint64_t hold_start_ns_ = 0;
  uint64_t hold_end_ns_ = 0;
  std::map<std::string, uint64_t> failures_;
  // open loop
  ArrivalSchedule schedule_;
  uint64_t arrivals_ = 0;           // arrivals whose time has come: started or skipped
  uint64_t skipped_at_cap_ = 0;     // not started: `concurrency` sessions were in flight
  std::size_t max_in_flight_ = 0;
  uint64_t last_start_ns_ = 0;
  std::vector<uint32_t> start_lag_us_;   // how late each arrival was started
};

}  // namespace mxguard::bench
