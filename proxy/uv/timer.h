#pragma once
// A restartable one-shot timer owned by an object on the same loop.
#include <uv.h>

#include <chrono>
#include <functional>

#include "proxy/uv/handle.h"

namespace mxguard::uv {

class Timer {
 public:
  Timer(uv_loop_t* loop, std::function<void()> on_fire);
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void start(std::chrono::milliseconds after);
  void stop();
  void close(std::function<void()> on_closed = {}) { handle_.close(std::move(on_closed)); }

 private:
  Handle<uv_timer_t> handle_;
  std::function<void()> on_fire_;
};

}  // namespace mxguard::uv
