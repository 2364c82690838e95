#pragma once
// Functions to run on a later turn of the loop, in the order they were posted: how the resolver, the
// MTA-STS fetch client and the agent keep their promise that a callback never runs inside the call that
// asked for it, so that it may start new work, cancel other work or destroy its owner.
//
// One zero-delay uv_timer_t, started by post() when it is not running. When it fires, the calls posted
// until then run, in order; calls posted while they run wait for its next firing, so that a call which
// posts again cannot keep the loop in one callback, and nothing ever runs inside post().
// A call may destroy the DeferredCalls (its owner ending): the calls after it are destroyed unrun. So
// are those still queued when it is destroyed or cleared, at once; the timer is closed with it, and
// libuv frees it on the loop's next iteration (the loop must run once more before uv_loop_close
// succeeds). Loop thread only. A call must not throw: it runs below a C callback.
#include <uv.h>

#include <functional>
#include <vector>

#include "policy/libuv/handle.h"

namespace mxguard::libuv {

class DeferredCalls {
 public:
  explicit DeferredCalls(uv_loop_t* loop);
  ~DeferredCalls();
  DeferredCalls(const DeferredCalls&) = delete;
  DeferredCalls& operator=(const DeferredCalls&) = delete;

  void post(std::function<void()> call);
  // Drops every call not yet run, the rest of a turn under way included; what they captured is
  // destroyed now. Calls posted afterwards run as usual.
  void clear();

 private:
  static void on_timer(uv_timer_t* timer) noexcept;
  void run();

  Handle<uv_timer_t> timer_;
  std::vector<std::function<void()>> calls_;             // for the next turn
  std::vector<std::function<void()>>* running_ = nullptr;   // the turn under way: run()'s own
  bool* destroyed_ = nullptr;                            // set while run() runs calls that may destroy *this
};

}  // namespace mxguard::libuv
