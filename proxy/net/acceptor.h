#pragma once
// Accepts the connections of one listening socket on a loop, with accept4 itself rather than uv_listen,
// for what happens when accept fails for want of resources (descriptors at RLIMIT_NOFILE, the system's
// file table, socket buffers):
//
// - libuv 1.44 (Debian 12) sheds the whole queue silently with its reserve descriptor and never tells
//   the callback, so the operator would see connections closed and no line in the log; and when another
//   thread takes the descriptor that reserve frees, its next EMFILE calls the callback in a loop it never
//   leaves, a busy loop that also stops every session of the worker.
// - Here the first failure of a streak is reported (the owner logs it), the socket is no longer polled
//   and is tried again after kResourcePause, as nginx does: the connections wait in the kernel's listen
//   queue instead of being dropped, are served as soon as descriptors are free again, and nothing spins.
//
// The price is one ioctl per connection (uv_tcp_open sets O_NONBLOCK again, which accept4 already set). The
// peer's address is still asked for with getpeername, not taken from accept4: accept4 reports it even for a
// connection reset while it waited in the queue, and getpeername's ENOTCONN is what tells that it is gone.
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "proxy/uv/handle.h"
#include "proxy/uv/timer.h"

namespace mxguard::net {

class Acceptor {
 public:
  struct Events {
    // A connected socket, non-blocking and close-on-exec, now the callee's. It may close() the acceptor,
    // never destroy it.
    std::function<void(int fd)> accepted;
    // The first failure of a streak (an errno value): accepting pauses and is retried every kResourcePause.
    std::function<void(int error)> failing;
    // The first connection after a streak; `pauses`: how many kResourcePause it waited.
    std::function<void(std::uint64_t pauses)> accepting_again;
  };

  static constexpr std::chrono::milliseconds kResourcePause{500};
  // Connections taken per readiness event: the loop's sessions get their turn between batches.
  static constexpr int kBatch = 64;

  // Takes ownership of `listen_fd`, a bound socket (or an inherited listening one).
  Acceptor(uv_loop_t* loop, int listen_fd, Events events);
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  // listen(2) with `backlog` and starts polling; a libuv error code, 0 on success.
  int start(int backlog);
  // Stops accepting and closes the socket (this process's share of it: a successor may hold it too).
  void close();
  int fd() const { return fd_; }
  bool paused() const { return paused_; }

 private:
  void on_readable();
  void fail(int error);   // reports the first failure of a streak, then pauses
  void pause();
  void resume();

  uv_loop_t* loop_;
  int fd_;
  Events events_;
  uv::Handle<uv_poll_t> poll_;
  std::unique_ptr<uv::Timer> retry_;   // made at the first pause: a listener that never fails has one handle
  bool polling_ = false;
  bool paused_ = false;
  bool failing_ = false;
  std::uint64_t pauses_ = 0;   // in the current streak
};

}  // namespace mxguard::net
