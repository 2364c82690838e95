#include "proxy/net/connection.h"

#include <unistd.h>

#include <array>
#include <cstring>

#include "proxy/net/original_destination.h"
#include "proxy/net/transparent_source.h"

namespace mxguard::net {

// One read buffer per loop thread: a read is processed before the next one starts, and whatever a session
// must keep it copies. Idle sessions therefore hold no read buffer at all.
namespace {
thread_local std::array<char, 65536> read_buffer;

// Write buffers keep their capacity between bursts so that a request/reply exchange allocates nothing,
// unless a burst made them bigger than a reply needs (a handshake flight, a message): an idle session
// should not pin what a large burst once needed.
constexpr std::size_t kKeptBufferCapacity = 256;

void trim(std::string& buffer) {
  if (buffer.empty() && buffer.capacity() > kKeptBufferCapacity) std::string().swap(buffer);
}
}  // namespace

struct Connection::WriteRequest {
  uv_write_t req{};
  std::string data;              // the bytes libuv is writing
  Connection* owner = nullptr;   // null once the connection is gone: the callback only frees the request
};

Connection::Connection(uv_loop_t* loop, ConnectionEvents& events) : loop_(loop), events_(events) {
  if (uv_tcp_init(loop, tcp_.get()) == 0) tcp_.mark_initialized();
  tcp_.get()->data = this;
}

Connection::~Connection() {
  if (writing_ && write_req_) {
    // libuv still holds the request and will call on_write (cancelled) when the handle closes.
    write_req_->owner = nullptr;
    write_req_.release();
  }
}

int Connection::adopt_accepted(int fd) {
  int rc = uv_tcp_open(tcp_.get(), fd);
  if (rc != 0) {
    ::close(fd);
    return rc;
  }
  accepted_ = true;   // TCP_NODELAY and the send buffer cap come from the listener (listener_options.h)
  int len = sizeof peer_;
  uv_tcp_getpeername(tcp_.get(), reinterpret_cast<sockaddr*>(&peer_), &len);
  return 0;
}

int Connection::connect(const sockaddr* addr) {
  // The peer is where we connect to: no getpeername needed once connected.
  std::memcpy(&peer_, addr, addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
  auto req = std::make_unique<uv_connect_t>();
  req->data = this;
  int rc = uv_tcp_connect(req.get(), tcp_.get(), addr, [](uv_connect_t* r, int status) {
    std::unique_ptr<uv_connect_t> owned(r);
    if (status == UV_ECANCELED) return;   // the connection may be gone: don't look at it
    auto* self = static_cast<Connection*>(r->data);
    if (self->closing_) return;
    if (status == 0) uv_tcp_nodelay(self->tcp_.get(), 1);
    self->events_.on_connected(*self, status);
  });
  if (rc == 0) req.release();   // owned by libuv until the callback
  return rc;
}

int Connection::connect_from(const sockaddr_storage& source, const sockaddr* addr) {
  if (!tcp_.initialized()) return UV_EINVAL;
  int fd = open_transparent_socket(source);
  if (fd < 0) return fd;
  int rc = uv_tcp_open(tcp_.get(), fd);   // from here the handle owns the descriptor
  if (rc != 0) {
    ::close(fd);
    return rc;
  }
  return connect(addr);
}

const sockaddr_storage& Connection::local() const {
  // Asked for by few (a PROXY header, transparent mode, an outbound audit event): looked up on first use,
  // and stored apart, so that a session that never asks pays neither the system call nor the 128 bytes.
  static const sockaddr_storage kUnknown{};
  if (!local_ && tcp_.initialized() && !closed_) {
    auto found = std::make_unique<sockaddr_storage>();
    int len = sizeof *found;
    if (uv_tcp_getsockname(tcp_.get(), reinterpret_cast<sockaddr*>(found.get()), &len) == 0) local_ = std::move(found);
  }
  return local_ ? *local_ : kUnknown;
}

std::optional<sockaddr_storage> Connection::original_destination() const {
  uv_os_fd_t fd = -1;
  // For a connection we made, conntrack would answer with our own peer: nothing was redirected to us.
  if (!accepted_ || !tcp_.initialized() || uv_fileno(reinterpret_cast<const uv_handle_t*>(tcp_.get()), &fd) != 0) {
    return std::nullopt;
  }
  return net::original_destination(fd, local());
}

void Connection::on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  *buf = uv_buf_init(read_buffer.data(), static_cast<unsigned>(read_buffer.size()));
}

void Connection::start_reading() {
  if (reading_ || closing_ || !tcp_.initialized()) return;
  if (uv_read_start(tcp_.stream(), &Connection::on_alloc, &Connection::on_read) == 0) reading_ = true;
}

void Connection::stop_reading() {
  if (!reading_ || closing_) return;
  uv_read_stop(tcp_.stream());
  reading_ = false;
}

void Connection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(stream->data);
  if (self->closing_) return;
  if (nread > 0) {
    self->handle_read({buf->base, static_cast<size_t>(nread)});
  } else if (nread == UV_EOF) {
    self->events_.on_eof(*self);
  } else if (nread < 0) {
    self->events_.on_error(*self, uv_strerror(static_cast<int>(nread)));
  }
}

void Connection::handle_read(std::string_view bytes) {
  if (tls_) {
    handle_tls_input(bytes);
  } else {
    events_.on_data(*this, bytes);
  }
}

void Connection::handle_tls_input(std::string_view ciphertext) {
  if (tls_->failure().failed()) return;   // reported once; what follows a fatal error means nothing
  tls_->feed(ciphertext);
  bool handshake_ended_now = false;
  if (!tls_->handshake_done()) {
    tls::Progress p = tls_->handshake();
    flush_tls();
    if (p == tls::Progress::Failed) {
      events_.on_tls_failed(*this, tls_->failure_reason());
      return;
    }
    if (p != tls::Progress::Ok) return;
    // Plaintext written during the handshake goes first, ahead of whatever on_tls_ready writes.
    if (cork_depth_ == 0) flush_plain();
    events_.on_tls_ready(*this);
    if (closing_) return;
    handshake_ended_now = true;
  }
  std::string plaintext;
  tls::Progress p = tls_->read(plaintext, SIZE_MAX);
  flush_tls();   // reading can produce records too (key updates, alerts)
  if (!plaintext.empty()) {
    events_.on_data(*this, plaintext);
    if (closing_) return;
  } else if (handshake_ended_now && !tls_->is_client()) {
    // The client's first command did not come with its Finished: it may be waiting for that Finished to
    // be acknowledged (Nagle's algorithm, in a client without TCP_NODELAY, as Postfix's smtp), and our
    // kernel would hold the ACK 40 ms for something to send with it. The session tickets are that
    // something; otherwise they leave with the first reply, in the same write.
    tls_->flush_pending_records();
    flush_tls();
  }
  if (p == tls::Progress::Closed) {
    events_.on_eof(*this);
  } else if (p == tls::Progress::Failed) {
    events_.on_error(*this, tls_->failure_reason());
  }
}

bool Connection::start_tls(bssl::UniquePtr<SSL> ssl) {
  if (closing_ || tls_ || !ssl) return false;
  flush_plain();   // still plaintext: the reply that announced TLS must not be encrypted
  tls_ = std::make_unique<tls::Engine>(std::move(ssl));
  if (tls_->is_client()) {
    tls::Progress p = tls_->handshake();   // no input needed: this produces the ClientHello
    flush_tls();
    if (p == tls::Progress::Failed) return false;
  }
  return true;
}

void Connection::write(std::string_view data) {
  if (closing_ || data.empty()) return;
  plain_.append(data);
  if (cork_depth_ == 0) flush_plain();
}

void Connection::cork() { ++cork_depth_; }

void Connection::uncork() {
  if (cork_depth_ == 0) return;
  if (--cork_depth_ == 0 && !closing_) flush_plain();
}

std::size_t Connection::queued_bytes() const {
  return plain_.size() + next_.size() + (writing_ ? write_req_->data.size() : 0);
}

void Connection::flush_plain() {
  if (plain_.empty()) return;
  if (tls_) {
    if (!tls_->handshake_done()) return;   // application data can only follow the handshake
    // One SSL_write for the whole burst: full-size records instead of one per reply. After a fatal TLS
    // error, which was reported when it happened, the bytes have nowhere to go and are dropped quietly.
    bool failed_before = tls_->failure().failed();
    tls::Progress p = tls_->write(plain_);
    plain_.clear();
    if (p == tls::Progress::Ok) {
      flush_tls();
    } else if (p == tls::Progress::Failed && !failed_before && !closing_) {
      flush_tls();   // the alert
      events_.on_error(*this, tls_->failure_reason());
    }
    return;
  }
  if (next_.empty()) {
    next_.swap(plain_);   // no copy; plain_ gets next_'s spare capacity
  } else {
    next_.append(plain_);
    plain_.clear();
  }
  send();
}

void Connection::flush_tls() {
  if (!tls_ || !tls_->has_output()) return;
  tls_->append_output(next_);
  send();
}

// Hands next_ to the socket unless a uv_write is in flight; its completion sends whatever gathered meanwhile.
// The kernel is offered the bytes first (uv_try_write): a reply or command it takes whole, the usual case,
// costs one write() and no request. A uv_write that completes at once would cost an epoll_ctl besides
// (libuv 1.44 re-arms the watcher after every write request), which was a quarter of a session's system
// calls. Only what the kernel leaves goes through uv_write, which waits for POLLOUT.
bool Connection::send() {
  if (writing_ || next_.empty() || closed_ || !tcp_.initialized()) return true;
  ++write_calls_;
  uv_buf_t whole = uv_buf_init(next_.data(), static_cast<unsigned>(next_.size()));
  int taken = uv_try_write(tcp_.stream(), &whole, 1);
  if (taken == static_cast<int>(next_.size())) {
    next_.clear();
    trim_buffers();
    return true;
  }
  if (taken < 0 && taken != UV_EAGAIN) {
    write_failed(taken);
    return false;
  }
  if (taken > 0) next_.erase(0, static_cast<std::size_t>(taken));
  if (!write_req_) {
    write_req_ = std::make_unique<WriteRequest>();
    write_req_->owner = this;
    write_req_->req.data = write_req_.get();
  }
  write_req_->data.swap(next_);
  next_.clear();
  uv_buf_t buf = uv_buf_init(write_req_->data.data(), static_cast<unsigned>(write_req_->data.size()));
  int rc = uv_write(&write_req_->req, tcp_.stream(), &buf, 1, &Connection::on_write);
  if (rc != 0) {
    write_req_->data.clear();
    write_failed(rc);
    return false;
  }
  writing_ = true;
  return true;
}

void Connection::write_failed(int status) {
  next_.clear();
  if (close_pending_) {   // the peer is gone: nothing left to flush
    flush_failed_ = true;
    close(std::move(on_closed_));
  } else if (!closing_) {
    events_.on_error(*this, uv_strerror(status));
  }
}

void Connection::on_write(uv_write_t* req, int status) {
  auto* request = static_cast<WriteRequest*>(req->data);
  if (!request->owner) {   // the connection was destroyed while this write was in flight
    std::unique_ptr<WriteRequest> orphan(request);
    return;
  }
  request->owner->write_done(status);
}

void Connection::write_done(int status) {
  writing_ = false;
  write_req_->data.clear();
  if (status == UV_ECANCELED) return;
  if (status < 0) {
    write_failed(status);
    return;
  }
  // What gathered meanwhile goes now; if the kernel takes all of it at once, the queue is drained here.
  if (!next_.empty() && (!send() || writing_)) return;
  trim_buffers();
  if (close_pending_) {
    close_pending_ = false;
    close(std::move(on_closed_));
  } else if (!closing_ && plain_.empty()) {
    events_.on_drained(*this);
  }
}

void Connection::trim_buffers() {
  trim(plain_);
  trim(next_);
  if (write_req_) trim(write_req_->data);
}

void Connection::close(std::function<void()> on_closed) {
  if (closed_) return;
  closed_ = true;
  closing_ = true;
  close_pending_ = false;
  reading_ = false;
  std::string().swap(plain_);
  std::string().swap(next_);
  tcp_.close(std::move(on_closed));
}

void Connection::close_after_flush(std::function<void()> on_closed) {
  if (closing_) return;
  stop_reading();
  closing_ = true;   // no more reads, writes or callbacks for the owner
  // Set before flushing: a write that fails right away then closes with the owner's callback.
  close_pending_ = true;
  on_closed_ = std::move(on_closed);
  flush_plain();     // corked bytes leave now, whatever the cork count says
  if (closed_) return;
  plain_.clear();    // what is left waited for a handshake that can no longer finish
  if (!writing_ && next_.empty()) {
    close_pending_ = false;
    close(std::move(on_closed_));
  }
}

}  // namespace mxguard::net
