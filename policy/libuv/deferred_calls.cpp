#include "policy/libuv/deferred_calls.h"

#include <utility>

namespace mxguard::libuv {

DeferredCalls::DeferredCalls(uv_loop_t* loop) {
  uv_timer_init(loop, timer_.get());   // cannot fail: it only fills in the handle
  timer_.mark_initialized();
  timer_.get()->data = this;
}

DeferredCalls::~DeferredCalls() {
  if (destroyed_ != nullptr) *destroyed_ = true;
  clear();
  // timer_ closes as a member: its callback never runs again.
}

void DeferredCalls::post(std::function<void()> call) {
  calls_.push_back(std::move(call));
  if (uv_is_active(timer_.base()) == 0) uv_timer_start(timer_.get(), &DeferredCalls::on_timer, 0, 0);
}

void DeferredCalls::clear() {
  // Swapped out first: a capture whose destructor posts again queues for a later turn.
  std::vector<std::function<void()>> doomed;
  doomed.swap(calls_);
  if (running_ != nullptr) {
    std::vector<std::function<void()>> rest;
    rest.swap(*running_);
  }
}

void DeferredCalls::on_timer(uv_timer_t* timer) noexcept { static_cast<DeferredCalls*>(timer->data)->run(); }

void DeferredCalls::run() {
  std::vector<std::function<void()>> due;
  due.swap(calls_);
  bool destroyed = false;
  destroyed_ = &destroyed;
  running_ = &due;
  for (std::size_t i = 0; i < due.size(); ++i) {
    std::function<void()> call = std::move(due[i]);
    call();   // may post, clear, or destroy *this
    if (destroyed) return;   // what is left of `due` goes unrun with this frame
  }
  running_ = nullptr;
  destroyed_ = nullptr;
}

}  // namespace mxguard::libuv
