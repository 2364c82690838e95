#pragma once
// One TCP connection on a libuv loop that can switch to TLS in place (STARTTLS). Callers write and receive
// plaintext either way: only start_tls() knows the difference (like Envoy's StartTlsSocket).
#include <sys/socket.h>
#include <uv.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/tls/tls_engine.h"
#include "proxy/uv/handle.h"

namespace mxguard::net {

class Connection;

// What a connection reports to its owner. Every call happens on the loop thread; the owner may close the
// connection from inside any of them.
class ConnectionEvents {
 public:
  virtual ~ConnectionEvents() = default;
  virtual void on_connected(Connection& c, int status) {}
  virtual void on_data(Connection& c, std::string_view plaintext) = 0;
  virtual void on_eof(Connection& c) = 0;                               // peer closed (or close_notify)
  virtual void on_error(Connection& c, const std::string& reason) = 0;  // socket or TLS record error
  virtual void on_tls_ready(Connection& c) {}
  virtual void on_tls_failed(Connection& c, const std::string& reason) {}
  virtual void on_drained(Connection& c) {}   // every queued byte was handed to the kernel
};

class Connection {
 public:
  Connection(uv_loop_t* loop, ConnectionEvents& events);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  int accept_from(uv_stream_t* server);   // libuv error code, 0 on success
  int connect(const sockaddr* addr);      // result arrives in on_connected

  void start_reading();
  void stop_reading();
  bool reading() const { return reading_; }

  // Queues plaintext for the peer (encrypted once TLS is on). Ignored once closing.
  void write(std::string_view data);
  std::size_t queued_bytes() const { return queued_bytes_; }

  // From now on every byte in either direction is TLS. Call right after queuing the last plaintext byte
  // (the 220 reply): bytes read after this call are handshake records.
  void start_tls(bssl::UniquePtr<SSL> ssl);
  bool tls_active() const { return tls_ != nullptr; }
  const tls::Engine* tls() const { return tls_.get(); }

  // Closes at once (pending writes are cancelled) / after the queued bytes are written.
  void close(std::function<void()> on_closed);
  void close_after_flush(std::function<void()> on_closed);
  bool closing() const { return closing_; }

  const sockaddr_storage& peer() const { return peer_; }
  const sockaddr_storage& local() const { return local_; }

 private:
  struct WriteRequest;
  static void on_alloc(uv_handle_t*, size_t, uv_buf_t* buf);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  void handle_read(std::string_view bytes);
  void handle_tls_input(std::string_view ciphertext);
  void write_raw(std::string data);
  void flush_tls();
  void learn_addresses();

  uv_loop_t* loop_;
  ConnectionEvents& events_;
  uv::Handle<uv_tcp_t> tcp_;
  std::unique_ptr<tls::Engine> tls_;
  std::size_t queued_bytes_ = 0;
  bool reading_ = false;
  bool closing_ = false;   // the owner is done with it: no more reads, no new writes
  bool closed_ = false;    // uv_close was called
  bool close_pending_ = false;   // close_after_flush waiting for the queue to drain
  std::function<void()> on_closed_;
  sockaddr_storage peer_{};
  sockaddr_storage local_{};
};

}  // namespace mxguard::net
