#pragma once
// One event loop on its own thread with its own SO_REUSEPORT listeners; a session never leaves its loop.
// Other threads talk to a worker only through post(), which wakes the loop with a uv_async_t.
#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "proxy/audit/audit_log.h"
#include "proxy/inbound/connection_limiter.h"
#include "proxy/inbound/inbound_session.h"
#include "proxy/inbound/inbound_settings.h"
#include "proxy/uv/handle.h"
#include "proxy/uv/timer.h"

namespace mxguard::app {

class Worker {
 public:
  // `on_exit` runs on the worker's thread once its loop has ended (every session gone).
  Worker(unsigned index, std::vector<int> listen_fds, std::shared_ptr<const inbound::InboundSettings> settings,
         audit::Log* audit, inbound::ConnectionLimiter* limiter, std::function<void()> on_exit);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  // Thread-safe. New sessions use the new settings; running ones keep theirs.
  void reload(std::shared_ptr<const inbound::InboundSettings> settings);
  // Thread-safe. Stops accepting; live sessions get `grace` to finish, then are told 421 and closed.
  // A second call with a shorter grace cuts the wait short.
  void stop(std::chrono::seconds grace);
  void join();

 private:
  void run();
  void post(std::function<void()> fn);
  void drain_posted();
  void on_connection(uv_stream_t* listener);
  void begin_stop(std::chrono::seconds grace);
  void maybe_exit();

  unsigned index_;
  std::vector<int> listen_fds_;
  std::shared_ptr<const inbound::InboundSettings> settings_;
  audit::Log* audit_;
  inbound::ConnectionLimiter* limiter_;
  uv_loop_t loop_{};
  std::thread thread_;
  std::unique_ptr<uv::Handle<uv_async_t>> wakeup_;
  std::vector<std::unique_ptr<uv::Handle<uv_tcp_t>>> listeners_;
  std::unique_ptr<uv::Timer> grace_timer_;
  std::unordered_map<inbound::InboundSession*, std::unique_ptr<inbound::InboundSession>> sessions_;
  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;
  bool wakeup_closed_ = false;   // guarded by posted_mutex_: post() must not touch a closing uv_async_t
  std::function<void()> on_exit_;
  std::uint64_t next_session_ = 0;
  std::uint32_t id_prefix_ = 0;
  bool stopping_ = false;
};

}  // namespace mxguard::app
