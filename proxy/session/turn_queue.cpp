#include "proxy/session/turn_queue.h"

#include <algorithm>

namespace mxguard::session {

TurnQueue::TurnQueue(uv_loop_t* loop, std::size_t turns_per_iteration)
    : turns_per_iteration_(std::max<std::size_t>(turns_per_iteration, 1)) {
  if (uv_idle_init(loop, idle_.get()) == 0) {
    idle_.mark_initialized();
    // Never what keeps a loop alive: whoever waits in line owns handles of its own (its connection).
    uv_unref(idle_.base());
  }
  idle_.get()->data = this;
}

TurnQueue::~TurnQueue() { close(); }

void TurnQueue::close() {
  while (head_) unlink(*head_);
  idle_.close();
}

void TurnQueue::Slot::schedule() {
  if (queue_ && !linked_) queue_->link(*this);
}

void TurnQueue::Slot::cancel() {
  if (queue_ && linked_) queue_->unlink(*this);
}

void TurnQueue::link(Slot& s) {
  s.prev_ = tail_;
  s.next_ = nullptr;
  (tail_ ? tail_->next_ : head_) = &s;
  tail_ = &s;
  s.linked_ = true;
  ++size_;
  if (!idle_active_ && idle_.initialized()) {
    // No system call: libuv keeps idle handles in a list, and one that is active makes the next poll
    // return at once instead of blocking.
    uv_idle_start(idle_.get(), [](uv_idle_t* h) { static_cast<TurnQueue*>(h->data)->serve(); });
    idle_active_ = true;
  }
}

void TurnQueue::unlink(Slot& s) {
  (s.prev_ ? s.prev_->next_ : head_) = s.next_;
  (s.next_ ? s.next_->prev_ : tail_) = s.prev_;
  s.prev_ = s.next_ = nullptr;
  s.linked_ = false;
  --size_;
  if (size_ == 0 && idle_active_) {
    uv_idle_stop(idle_.get());   // nothing waits: the loop may block in epoll again
    idle_active_ = false;
  }
}

void TurnQueue::serve() {
  // Only those already in line when the pass began, and at most turns_per_iteration of them: a turn that
  // puts its session back in line (still backlogged) waits for the next iteration, behind everyone else.
  std::size_t turns = std::min(size_, turns_per_iteration_);
  for (; turns > 0 && head_; --turns) {
    Slot& s = *head_;
    unlink(s);
    ++served_;
    // Copied first: the turn may destroy its own slot (its session ended), or schedule it again, or
    // cancel and destroy others (each unlinks itself, and the loop reads head_ afresh).
    void (*run)(void*) = s.run_;
    void* arg = s.arg_;
    run(arg);
  }
}

}  // namespace mxguard::session
