#pragma once
// The hostile connections of a flood run, on their own thread and loop.
//
// They used to share the measured sessions' loop, and at 100 connections that kept filling their kernel
// send buffers the load generator's CPU was 86-92 % busy: a fresh session's reply then waited behind the
// flood's callbacks in the load generator itself, so its latency measured the client as much as the
// server. On a thread of its own the flood still competes for the same CPU (run.sh pins the whole load
// generator to one), but the kernel's scheduler runs a thread that wakes from epoll promptly, as it would
// a separate client, while the flood's thread is runnable all the time.
#include <netinet/in.h>
#include <uv.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "bench/loadgen/flood.h"
#include "proxy/uv/handle.h"

namespace mxguard::bench {

struct FloodPlan {
  FloodKind kind = FloodKind::Rcpt;
  sockaddr_in target{};
  std::optional<sockaddr_in> source;   // bound before connecting: the flood's own client address
  int connections = 50;
  int drip_interval_ms = 200;
  std::string half_hello;   // kind Handshake: the first half of a real ClientHello record
};

class FloodRunner final : public FloodHost {
 public:
  explicit FloodRunner(FloodPlan plan);
  ~FloodRunner();   // stops and joins if still running
  FloodRunner(const FloodRunner&) = delete;
  FloodRunner& operator=(const FloodRunner&) = delete;

  // Opens the connections on a new thread; a closed one is reopened after a pause of one tick.
  void start();
  // Closes every connection and joins the thread. After this, stats() is final.
  void stop();
  const FloodStats& stats() const { return stats_; }

  void flood_closed(FloodConn& f) override;

 private:
  void run();
  void open_one();
  void tick();
  void wind_down();   // on the flood's thread

  FloodPlan plan_;
  uv_loop_t loop_{};
  bool loop_ready_ = false;
  std::thread thread_;
  uv::Handle<uv_async_t> stop_signal_;
  uv::Handle<uv_timer_t> ticker_;
  uv::Handle<uv_timer_t> dripper_;
  std::unordered_map<FloodConn*, std::unique_ptr<FloodConn>> floods_;
  int to_reopen_ = 0;
  bool stopping_ = false;
  FloodStats stats_;   // written by the flood's thread only; read after the join
};

}  // namespace mxguard::bench
