#include "proxy/uv/before_poll.h"

namespace mxguard::uv {

BeforePoll::BeforePoll(uv_loop_t* loop, std::function<void()> fn) : fn_(std::move(fn)) {
  if (uv_prepare_init(loop, handle_.get()) != 0) return;
  handle_.mark_initialized();
  handle_.get()->data = this;
  uv_prepare_start(handle_.get(), [](uv_prepare_t* p) { static_cast<BeforePoll*>(p->data)->fn_(); });
  uv_unref(handle_.base());   // the loop ends when its sessions do, not when this does
}

}  // namespace mxguard::uv
