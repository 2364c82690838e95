#pragma once
// Runs a function each time its loop is about to poll for I/O, without keeping the loop alive: where a
// worker hands over in one system call what its turns gathered during the iteration (log lines, audit
// events), so that nothing waits past the turn that produced it while the loop sleeps.
#include <uv.h>

#include <functional>

#include "proxy/uv/handle.h"

namespace mxguard::uv {

class BeforePoll {
 public:
  // `fn` may close this BeforePoll, not destroy it.
  BeforePoll(uv_loop_t* loop, std::function<void()> fn);
  BeforePoll(const BeforePoll&) = delete;
  BeforePoll& operator=(const BeforePoll&) = delete;

  // Stops calling; the loop must run once more to free the handle (the destructor closes it too).
  void close() { handle_.close(); }

 private:
  Handle<uv_prepare_t> handle_;
  std::function<void()> fn_;
};

}  // namespace mxguard::uv
