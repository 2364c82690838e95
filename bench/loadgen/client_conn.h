#pragma once
// One client TCP connection on the load generator's loop that can switch to TLS in place (STARTTLS), with
// BoringSSL over memory BIOs. It is deliberately not the proxy's own net::Connection: a measuring tool that
// shares the session code of the thing it measures would share its bugs too. Only the libuv handle RAII
// (proxy/uv/handle.h) is common.
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <uv.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/uv/handle.h"

namespace mxguard::bench {

// What a connection tells its owner; every call comes from the loop thread, and the owner may close the
// connection from inside any of them.
class ConnEvents {
 public:
  virtual ~ConnEvents() = default;
  virtual void on_connected(int status) = 0;           // libuv status, 0 = connected
  virtual void on_data(std::string_view plaintext) = 0;
  virtual void on_tls_ready() {}
  virtual void on_lost(const std::string& why) = 0;   // EOF, socket error or TLS error
  virtual void on_drained() {}   // every queued byte was handed to the kernel (not after an immediate write)
};

class ClientConn {
 public:
  ClientConn(uv_loop_t* loop, ConnEvents& events);
  ClientConn(const ClientConn&) = delete;
  ClientConn& operator=(const ClientConn&) = delete;

  // libuv error, or 0 and later on_connected. `source`: the local address to bind first (null: any).
  int connect(const sockaddr_in& addr, const sockaddr_in* source = nullptr);
  void write(std::string_view plaintext);   // through TLS once it is on
  void write_raw(std::string bytes);        // straight to the socket, TLS or not (a torn ClientHello)
  // Straight to the socket without a copy: `bytes` must outlive the connection (a flood's constant chunk).
  // Always queued, so that on_drained paces the writer.
  void write_static(std::string_view bytes);
  // Starts a client handshake (the ClientHello leaves at once); on_tls_ready when it is done.
  void start_tls(SSL_CTX* ctx);
  bool tls_active() const { return ssl_ != nullptr; }
  void pause_reading();
  void resume_reading();
  std::size_t queued_bytes() const { return queued_; }
  // Closes at once; pending writes are cancelled. `on_closed` runs from libuv's close callback, after the
  // last write callback: only then may the owner be destroyed.
  void close(std::function<void()> on_closed);
  bool closing() const { return closing_; }

 private:
  struct WriteReq;
  void submit(std::unique_ptr<WriteReq> req, std::string_view bytes);
  static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);
  void tls_input(std::string_view ciphertext);
  void flush_tls();
  bool tls_failed(int ret, const char* what);
  void lost(const std::string& why);

  ConnEvents& events_;
  uv::Handle<uv_tcp_t> tcp_;
  bssl::UniquePtr<SSL> ssl_;
  BIO* rbio_ = nullptr;   // owned by ssl_
  BIO* wbio_ = nullptr;   // owned by ssl_
  bool handshake_done_ = false;
  bool reading_ = false;
  bool closing_ = false;
  std::size_t queued_ = 0;
};

}  // namespace mxguard::bench
