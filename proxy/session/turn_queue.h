#pragma once
// Fairness between the sessions of one loop: turns that wait for a later loop iteration.
//
// Every session of a worker shares one loop, and a loop iteration runs the callbacks of every connection
// that is ready, one after the other. A client that pipelines without pause (hundreds of commands per read,
// each answered at once) would make its callback as long as its input, and every other session would wait
// behind it. So a session handles at most a few commands per turn (thresholds.h), and a session that still
// has complete commands buffered after its turn waits in line here for the next one, with reading stopped.
// A session with nothing left over is served at once, in its own callback: a fresh or interactive session
// never waits behind the line (the "new flows first" rule of fq_codel, RFC 8290 §4.1, for the same reason).
//
// The line is served in the loop's idle phase: at most `turns_per_iteration` turns per iteration, in
// order, each session going to the back of the line after its turn. So the work a loop iteration does for
// backlogged sessions is bounded whatever their number, and the I/O of everyone else comes in between.
//
// Why one uv_idle_t per loop rather than a zero-delay uv_timer_t per session: the idle handle is what keeps
// uv_run from blocking in epoll while turns wait (an active idle handle makes the poll timeout 0), starting
// and stopping it are list operations without a system call, one handle per loop costs no memory per
// session (an idle session's footprint is a benchmark figure), and one line for the whole loop is what
// lets its total work per iteration be bounded: per-session timers would all fire in the same iteration.
#include <uv.h>

#include <cstddef>
#include <cstdint>

#include "proxy/uv/handle.h"

namespace mxguard::session {

class TurnQueue {
 public:
  // A place in the line, owned by whoever waits in it (a session). Unlinks itself when destroyed, so a
  // session that ends while it waits is never called.
  class Slot {
   public:
    // `run(arg)` is the turn. `queue` may be null: then schedule() does nothing.
    Slot(TurnQueue* queue, void (*run)(void*), void* arg) : queue_(queue), run_(run), arg_(arg) {}
    ~Slot() { cancel(); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

    // Joins the back of the line; already waiting: stays where it is.
    void schedule();
    void cancel();
    bool waiting() const { return linked_; }

   private:
    friend class TurnQueue;
    TurnQueue* queue_;
    void (*run_)(void*);
    void* arg_;
    Slot* prev_ = nullptr;
    Slot* next_ = nullptr;
    bool linked_ = false;
  };

  TurnQueue(uv_loop_t* loop, std::size_t turns_per_iteration);
  TurnQueue(const TurnQueue&) = delete;
  TurnQueue& operator=(const TurnQueue&) = delete;
  ~TurnQueue();

  // Closes the idle handle (the loop is ending). Slots still linked are dropped from the line, never run.
  void close();
  std::size_t waiting() const { return size_; }
  // Turns served so far (for tests and metrics).
  std::uint64_t served() const { return served_; }

 private:
  void link(Slot& s);
  void unlink(Slot& s);
  void serve();

  uv::Handle<uv_idle_t> idle_;
  std::size_t turns_per_iteration_;
  Slot* head_ = nullptr;
  Slot* tail_ = nullptr;
  std::size_t size_ = 0;
  std::uint64_t served_ = 0;
  bool idle_active_ = false;
};

}  // namespace mxguard::session
