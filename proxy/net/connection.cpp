#include "proxy/net/connection.h"

#include <array>

namespace mxguard::net {

// One read buffer per loop thread: a read is processed before the next one starts, and whatever a session
// must keep it copies. Idle sessions therefore hold no read buffer at all.
namespace {
thread_local std::array<char, 65536> read_buffer;
}

struct Connection::WriteRequest {
  uv_write_t req{};
  std::string data;
  Connection* owner = nullptr;
};

Connection::Connection(uv_loop_t* loop, ConnectionEvents& events) : loop_(loop), events_(events) {
  if (uv_tcp_init(loop, tcp_.get()) == 0) tcp_.mark_initialized();
  tcp_.get()->data = this;
}

Connection::~Connection() = default;

int Connection::accept_from(uv_stream_t* server) {
  int rc = uv_accept(server, tcp_.stream());
  if (rc == 0) {
    uv_tcp_nodelay(tcp_.get(), 1);
    learn_addresses();
  }
  return rc;
}

int Connection::connect(const sockaddr* addr) {
  auto req = std::make_unique<uv_connect_t>();
  req->data = this;
  int rc = uv_tcp_connect(req.get(), tcp_.get(), addr, [](uv_connect_t* r, int status) {
    std::unique_ptr<uv_connect_t> owned(r);
    auto* self = static_cast<Connection*>(r->data);
    if (status == UV_ECANCELED || self->closing_) return;
    if (status == 0) {
      uv_tcp_nodelay(self->tcp_.get(), 1);
      self->learn_addresses();
    }
    self->events_.on_connected(*self, status);
  });
  if (rc == 0) req.release();   // owned by libuv until the callback
  return rc;
}

void Connection::learn_addresses() {
  int len = sizeof peer_;
  uv_tcp_getpeername(tcp_.get(), reinterpret_cast<sockaddr*>(&peer_), &len);
  len = sizeof local_;
  uv_tcp_getsockname(tcp_.get(), reinterpret_cast<sockaddr*>(&local_), &len);
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
  tls_->feed(ciphertext);
  if (!tls_->handshake_done()) {
    tls::Progress p = tls_->handshake();
    flush_tls();
    if (p == tls::Progress::Failed || p == tls::Progress::Closed) {
      events_.on_tls_failed(*this, p == tls::Progress::Closed ? std::string("peer closed TLS during the handshake")
                                                               : tls_->failure_reason());
      return;
    }
    if (p != tls::Progress::Ok) return;
    events_.on_tls_ready(*this);
    if (closing_) return;
  }
  std::string plaintext;
  tls::Progress p = tls_->read(plaintext, SIZE_MAX);
  flush_tls();   // reading can produce records too (key updates, alerts)
  if (!plaintext.empty()) {
    events_.on_data(*this, plaintext);
    if (closing_) return;
  }
  if (p == tls::Progress::Closed) {
    events_.on_eof(*this);
  } else if (p == tls::Progress::Failed) {
    events_.on_error(*this, tls_->failure_reason());
  }
}

void Connection::start_tls(bssl::UniquePtr<SSL> ssl) {
  tls_ = std::make_unique<tls::Engine>(std::move(ssl));
}

void Connection::write(std::string_view data) {
  if (closing_ || data.empty()) return;
  if (tls_) {
    // Before the handshake is done there is nowhere to put application data: a caller bug, not a peer's.
    if (tls_->write(data) != tls::Progress::Ok) {
      events_.on_error(*this, tls_->failure_reason().empty() ? "write before the TLS handshake finished"
                                                             : tls_->failure_reason());
      return;
    }
    flush_tls();
  } else {
    write_raw(std::string(data));
  }
}

void Connection::flush_tls() {
  if (tls_ && tls_->has_output()) write_raw(tls_->take_output());
}

void Connection::write_raw(std::string data) {
  if (closing_ || !tcp_.initialized()) return;
  auto req = std::make_unique<WriteRequest>();
  req->data = std::move(data);
  req->owner = this;
  req->req.data = req.get();
  uv_buf_t buf = uv_buf_init(req->data.data(), static_cast<unsigned>(req->data.size()));
  std::size_t size = req->data.size();
  int rc = uv_write(&req->req, tcp_.stream(), &buf, 1, [](uv_write_t* w, int status) {
    std::unique_ptr<WriteRequest> owned(static_cast<WriteRequest*>(w->data));
    Connection* self = owned->owner;
    self->queued_bytes_ -= owned->data.size();
    if (status == UV_ECANCELED) return;
    if (status < 0) {
      if (self->close_pending_) {   // the peer is gone: nothing left to flush
        self->close(std::move(self->on_closed_));
      } else if (!self->closing_) {
        self->events_.on_error(*self, uv_strerror(status));
      }
      return;
    }
    if (self->queued_bytes_ == 0) {
      if (self->close_pending_) {
        self->close_pending_ = false;
        self->close(std::move(self->on_closed_));
      } else if (!self->closing_) {
        self->events_.on_drained(*self);
      }
    }
  });
  if (rc != 0) {
    events_.on_error(*this, uv_strerror(rc));
    return;
  }
  queued_bytes_ += size;
  req.release();   // owned by libuv until the callback
}

void Connection::close(std::function<void()> on_closed) {
  if (closed_) return;
  closed_ = true;
  closing_ = true;
  close_pending_ = false;
  reading_ = false;
  tcp_.close(std::move(on_closed));
}

void Connection::close_after_flush(std::function<void()> on_closed) {
  if (closing_) return;
  if (queued_bytes_ == 0) {
    close(std::move(on_closed));
    return;
  }
  stop_reading();
  closing_ = true;   // no more reads or writes from the owner
  close_pending_ = true;
  on_closed_ = std::move(on_closed);
}

}  // namespace mxguard::net
