#include "proxy/net/acceptor.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace mxguard::net {
namespace {

enum class AcceptError { QueueEmpty, OneConnectionLost, OutOfResources };

AcceptError classify(int error) {
  switch (error) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
      return AcceptError::QueueEmpty;
    // The connection died in the queue, a firewall refused it, or (Linux) a network error already
    // pending on it: accept(2) says to go on as after EAGAIN, and the next one may be fine.
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case EPERM:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
      return AcceptError::OneConnectionLost;
    default:
      // EMFILE, ENFILE, ENOBUFS, ENOMEM; and what would repeat forever (EBADF, EINVAL): never retried
      // at once, so that nothing spins.
      return AcceptError::OutOfResources;
  }
}

}  // namespace

Acceptor::Acceptor(uv_loop_t* loop, int listen_fd, Events events)
    : loop_(loop), fd_(listen_fd), events_(std::move(events)) {
  if (uv_poll_init_socket(loop, poll_.get(), fd_) == 0) poll_.mark_initialized();
  poll_.get()->data = this;
}

Acceptor::~Acceptor() { close(); }

int Acceptor::start(int backlog) {
  if (!poll_.initialized()) return UV_EBADF;
  if (::listen(fd_, backlog) != 0) return -errno;
  resume();
  return polling_ ? 0 : UV_EBADF;
}

void Acceptor::close() {
  if (fd_ < 0) return;
  if (retry_) retry_->close();
  poll_.close();   // stops polling now, before the descriptor goes
  ::close(fd_);
  fd_ = -1;
  polling_ = false;
}

void Acceptor::resume() {
  paused_ = false;
  if (fd_ < 0 || !poll_.initialized()) return;
  int rc = uv_poll_start(poll_.get(), UV_READABLE, [](uv_poll_t* handle, int status, int) {
    auto* self = static_cast<Acceptor*>(handle->data);
    if (status < 0) {
      // An error on the socket itself (POLLERR): libuv has stopped polling it. Retried after the pause,
      // as a failed accept is, so that a socket that stays in error cannot make the loop spin either.
      self->fail(-status);
      return;
    }
    self->on_readable();
  });
  polling_ = rc == 0;
}

void Acceptor::pause() {
  if (polling_) uv_poll_stop(poll_.get());
  polling_ = false;
  paused_ = true;
  ++pauses_;
  if (!retry_) retry_ = std::make_unique<uv::Timer>(loop_, [this] { resume(); });
  retry_->start(kResourcePause);
}

void Acceptor::fail(int error) {
  if (!failing_ && events_.failing) events_.failing(error);
  failing_ = true;
  pause();
}

void Acceptor::on_readable() {
  for (int taken = 0; taken < kBatch && fd_ >= 0;) {
    int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int error = errno;
      switch (classify(error)) {
        case AcceptError::QueueEmpty:
          return;
        case AcceptError::OneConnectionLost:
          ++taken;   // bounded like a connection: a queue of dead ones must not hold the loop either
          continue;
        case AcceptError::OutOfResources:
          fail(error);
          return;
      }
    }
    ++taken;
    if (failing_) {
      failing_ = false;
      if (events_.accepting_again) events_.accepting_again(pauses_);
      pauses_ = 0;
    }
    if (events_.accepted) {
      events_.accepted(fd);   // may close this acceptor: the loop then ends on fd_
    } else {
      ::close(fd);
    }
  }
}

}  // namespace mxguard::net
