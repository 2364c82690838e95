#include "proxy/uv/timer.h"

namespace mxguard::uv {

Timer::Timer(uv_loop_t* loop, std::function<void()> on_fire) : on_fire_(std::move(on_fire)) {
  if (uv_timer_init(loop, handle_.get()) == 0) handle_.mark_initialized();
  handle_.get()->data = this;
}

void Timer::start(std::chrono::milliseconds after) {
  if (!handle_.initialized()) return;
  uv_timer_start(handle_.get(), [](uv_timer_t* t) { static_cast<Timer*>(t->data)->on_fire_(); },
                 static_cast<uint64_t>(after.count()), 0);
}

void Timer::stop() {
  if (handle_.initialized()) uv_timer_stop(handle_.get());
}

}  // namespace mxguard::uv
