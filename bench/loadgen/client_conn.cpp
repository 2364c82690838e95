#include "bench/loadgen/client_conn.h"

#include <openssl/err.h>

#include <memory>

#ifndef OPENSSL_IS_BORINGSSL
#error "the load generator must be built against BoringSSL (android-libboringssl-dev), not OpenSSL"
#endif

namespace mxguard::bench {
namespace {
// One per thread (the flood has a loop of its own, flood_runner.h): within a loop each read is consumed
// before the next one.
thread_local char read_buffer[64 * 1024];
thread_local char plain_buffer[16 * 1024];
}  // namespace

struct ClientConn::WriteReq {
  uv_write_t req{};
  std::string data;   // empty for write_static
  std::size_t size = 0;
  ClientConn* owner = nullptr;
};

ClientConn::ClientConn(uv_loop_t* loop, ConnEvents& events) : events_(events) {
  if (uv_tcp_init(loop, tcp_.get()) == 0) tcp_.mark_initialized();
  tcp_.get()->data = this;
}

int ClientConn::connect(const sockaddr_in& addr, const sockaddr_in* source) {
  if (source) {
    if (int rc = uv_tcp_bind(tcp_.get(), reinterpret_cast<const sockaddr*>(source), 0); rc != 0) return rc;
  }
  auto req = std::make_unique<uv_connect_t>();
  req->data = this;
  int rc = uv_tcp_connect(req.get(), tcp_.get(), reinterpret_cast<const sockaddr*>(&addr),
                          [](uv_connect_t* r, int status) {
                            std::unique_ptr<uv_connect_t> owned(r);
                            if (status == UV_ECANCELED) return;   // closed while connecting
                            auto* self = static_cast<ClientConn*>(r->data);
                            if (self->closing_) return;
                            if (status == 0) {
                              uv_tcp_nodelay(self->tcp_.get(), 1);
                              self->resume_reading();
                            }
                            self->events_.on_connected(status);
                          });
  if (rc == 0) req.release();   // libuv owns it until the callback
  return rc;
}

void ClientConn::resume_reading() {
  if (reading_ || closing_) return;
  int rc = uv_read_start(
      tcp_.stream(),
      [](uv_handle_t*, size_t, uv_buf_t* buf) { *buf = uv_buf_init(read_buffer, sizeof read_buffer); },
      &ClientConn::on_read);
  reading_ = (rc == 0);
}

void ClientConn::pause_reading() {
  if (!reading_ || closing_) return;
  uv_read_stop(tcp_.stream());
  reading_ = false;
}

void ClientConn::on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* self = static_cast<ClientConn*>(s->data);
  if (self->closing_) return;
  if (n == UV_EOF) {
    self->lost("connection closed by the server");
  } else if (n < 0) {
    self->lost(uv_strerror(static_cast<int>(n)));
  } else if (n > 0) {
    std::string_view bytes(buf->base, static_cast<std::size_t>(n));
    if (self->ssl_) {
      self->tls_input(bytes);
    } else {
      self->events_.on_data(bytes);
    }
  }
}

void ClientConn::lost(const std::string& why) {
  if (closing_) return;
  events_.on_lost(why);
}

void ClientConn::start_tls(SSL_CTX* ctx) {
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx));
  bssl::UniquePtr<BIO> rbio(BIO_new(BIO_s_mem()));
  bssl::UniquePtr<BIO> wbio(BIO_new(BIO_s_mem()));
  if (!ssl || !rbio || !wbio) {
    lost("out of memory setting up TLS");
    return;
  }
  // An empty memory BIO must say "retry", not EOF, so the handshake waits for the server's records.
  BIO_set_mem_eof_return(rbio.get(), -1);
  BIO_set_mem_eof_return(wbio.get(), -1);
  rbio_ = rbio.release();
  wbio_ = wbio.release();
  SSL_set_bio(ssl.get(), rbio_, wbio_);   // the SSL owns both BIOs from here on
  SSL_set_connect_state(ssl.get());
  ssl_ = std::move(ssl);
  int ret = SSL_do_handshake(ssl_.get());
  flush_tls();
  if (ret != 1) tls_failed(ret, "TLS handshake");
}

// True if the error is fatal (and reported); false for "needs more bytes".
bool ClientConn::tls_failed(int ret, const char* what) {
  int err = SSL_get_error(ssl_.get(), ret);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return false;
  std::string why = what;
  if (err == SSL_ERROR_ZERO_RETURN) {
    why += ": close_notify";
  } else if (uint32_t code = ERR_peek_last_error(); code != 0) {
    const char* reason = ERR_reason_error_string(code);
    why += std::string(": ") + (reason ? reason : "error");
  } else {
    why += ": failed";
  }
  ERR_clear_error();
  lost(why);
  return true;
}

void ClientConn::tls_input(std::string_view ciphertext) {
  BIO_write(rbio_, ciphertext.data(), static_cast<int>(ciphertext.size()));
  if (!handshake_done_) {
    int ret = SSL_do_handshake(ssl_.get());
    flush_tls();
    if (ret != 1) {
      tls_failed(ret, "TLS handshake");
      return;
    }
    handshake_done_ = true;
    events_.on_tls_ready();
    if (closing_) return;
  }
  for (;;) {
    int n = SSL_read(ssl_.get(), plain_buffer, sizeof plain_buffer);
    if (n <= 0) {
      flush_tls();
      tls_failed(n, "TLS read");
      return;
    }
    events_.on_data({plain_buffer, static_cast<std::size_t>(n)});
    if (closing_) return;
  }
}

void ClientConn::write(std::string_view plaintext) {
  if (closing_ || plaintext.empty()) return;
  if (!ssl_) {
    write_raw(std::string(plaintext));
    return;
  }
  int ret = SSL_write(ssl_.get(), plaintext.data(), static_cast<int>(plaintext.size()));
  if (ret <= 0) {
    tls_failed(ret, "TLS write");
    return;
  }
  flush_tls();
}

void ClientConn::flush_tls() {
  std::size_t pending = BIO_pending(wbio_);
  if (pending == 0) return;
  std::string out(pending, '\0');
  int n = BIO_read(wbio_, out.data(), static_cast<int>(pending));
  if (n <= 0) return;
  out.resize(static_cast<std::size_t>(n));
  write_raw(std::move(out));
}

void ClientConn::write_raw(std::string bytes) {
  if (closing_ || bytes.empty()) return;
  if (queued_ == 0) {
    // The socket first: with libuv 1.44 a uv_write that completes at once still costs an epoll_ctl on the
    // next loop iteration, and the client side's CPU is what bounds a STARTTLS throughput run here.
    uv_buf_t buf = uv_buf_init(bytes.data(), static_cast<unsigned>(bytes.size()));
    int sent = uv_try_write(tcp_.stream(), &buf, 1);
    if (sent == static_cast<int>(bytes.size())) return;
    if (sent < 0 && sent != UV_EAGAIN) {
      lost(uv_strerror(sent));
      return;
    }
    if (sent > 0) bytes.erase(0, static_cast<std::size_t>(sent));
  }
  auto req = std::make_unique<WriteReq>();
  req->data = std::move(bytes);
  std::string_view view = req->data;
  submit(std::move(req), view);
}

void ClientConn::write_static(std::string_view bytes) {
  if (closing_ || bytes.empty()) return;
  submit(std::make_unique<WriteReq>(), bytes);
}

void ClientConn::submit(std::unique_ptr<WriteReq> req, std::string_view bytes) {
  req->owner = this;
  req->size = bytes.size();
  req->req.data = req.get();
  // libuv only reads the buffer; the const_cast does not make it writable.
  uv_buf_t buf = uv_buf_init(const_cast<char*>(bytes.data()), static_cast<unsigned>(bytes.size()));
  int rc = uv_write(&req->req, tcp_.stream(), &buf, 1, [](uv_write_t* w, int status) {
    std::unique_ptr<WriteReq> owned(static_cast<WriteReq*>(w->data));
    ClientConn* self = owned->owner;
    self->queued_ -= owned->size;
    if (status == UV_ECANCELED || self->closing_) return;
    if (status < 0) {
      self->lost(uv_strerror(status));
    } else if (self->queued_ == 0) {
      self->events_.on_drained();
    }
  });
  if (rc != 0) {
    lost(uv_strerror(rc));
    return;
  }
  queued_ += bytes.size();
  req.release();   // libuv owns it until the write callback
}

void ClientConn::close(std::function<void()> on_closed) {
  if (closing_) return;
  closing_ = true;
  tcp_.close(std::move(on_closed));
}

}  // namespace mxguard::bench
