#pragma once
// One event loop on its own thread with its own SO_REUSEPORT listeners; a session never leaves its loop.
// A worker runs a list of listeners, each with the factory that turns its connections into sessions, and
// the per-loop services sessions use. Other threads talk to a worker only through post(), which wakes the
// loop with a uv_async_t.
#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "policy/dns/resolver.h"
#include "proxy/app/runtime.h"
#include "proxy/audit/audit_log.h"
#include "proxy/metrics/metrics_observer.h"
#include "proxy/net/acceptor.h"
#include "proxy/session/audit_observer.h"
#include "proxy/session/connection_limiter.h"
#include "proxy/session/session_core.h"
#include "proxy/session/turn_queue.h"
#include "proxy/uv/handle.h"
#include "proxy/uv/timer.h"

namespace mxguard::app {

// A bound socket and what its connections become.
struct WorkerListener {
  int fd = -1;
  SessionFactory factory;
};

class Worker {
 public:
  // `on_exit` runs on the worker's thread once its loop has ended (every session gone). `metrics`: this
  // worker's own instruments (written only by its loop), or null when [metrics] is off.
  Worker(unsigned index, std::vector<WorkerListener> listeners, std::shared_ptr<const Runtime> runtime,
         audit::Log* audit, session::ConnectionLimiter* limiter, mta_sts::SharedCache* sts_cache,
         metrics::WorkerMetrics* metrics, std::function<void()> on_exit);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  // Thread-safe. New sessions use the new snapshot; running ones keep theirs.
  void reload(std::shared_ptr<const Runtime> runtime);
  // Thread-safe. Stops accepting; live sessions get `grace` to finish, then are told 421 and closed.
  // A second call with a shorter grace cuts the wait short. `tell_sessions`: each live session is asked
  // to end at its next command boundary (421, "shutting down"); false when a successor already serves
  // the same sockets (a restart): sessions then end on their own, or at the end of `grace`.
  void stop(std::chrono::seconds grace, bool tell_sessions = true);
  void join();
  // Thread-safe: runs `fn` on the worker's loop (dropped when the loop is gone or going).
  void post(std::function<void()> fn);

 private:
  struct Listening {
    std::unique_ptr<net::Acceptor> acceptor;
    SessionFactory factory;
  };

  void run();
  static std::shared_ptr<const Runtime> for_this_worker(std::shared_ptr<const Runtime> shared);
  bool ad_trusted(const dns::Resolver& resolver) const;
  void drain_posted();
  void on_connection(Listening& listener, int fd);
  void begin_stop(std::chrono::seconds grace, bool tell_sessions);
  void maybe_exit();

  unsigned index_;
  std::vector<WorkerListener> pending_listeners_;   // until start()
  std::shared_ptr<const Runtime> runtime_;
  audit::Log* audit_;
  session::ConnectionLimiter* limiter_;
  session::AuditObserver audit_observer_;
  std::unique_ptr<metrics::MetricsObserver> metrics_observer_;   // null: no metrics
  std::unique_ptr<dns::Resolver> resolver_;   // the loop's one resolver ([dns] servers, fixed at start)
  mta_sts::SharedCache* sts_cache_;
  std::unique_ptr<MtaStsLoop> mta_sts_;       // the loop's fetcher child and MTA-STS agent (fixed at start)
  // Sessions with commands left over wait here for their next turn (fairness within the loop). Declared
  // before sessions_, so that it outlives every session that might still hold a place in it.
  std::unique_ptr<session::TurnQueue> turns_;
  LoopServices services_;
  uv_loop_t loop_{};
  std::thread thread_;
  std::unique_ptr<uv::Handle<uv_async_t>> wakeup_;
  std::vector<std::unique_ptr<Listening>> listeners_;
  std::unique_ptr<uv::Timer> grace_timer_;
  std::unordered_map<session::SessionCore*, std::unique_ptr<session::SessionCore>> sessions_;
  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;
  bool wakeup_closed_ = false;   // guarded by posted_mutex_: post() must not touch a closing uv_async_t
  std::function<void()> on_exit_;
  std::uint64_t next_session_ = 0;
  std::uint32_t id_prefix_ = 0;
  bool stopping_ = false;
  bool telling_sessions_ = true;   // sessions accepted while stopping are drained too
};

}  // namespace mxguard::app
