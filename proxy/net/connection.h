#pragma once
// One TCP connection on a libuv loop that can switch to TLS in place (STARTTLS), as a TLS server (inbound)
// or a TLS client (outbound). Callers write and receive plaintext either way: only start_tls() knows the
// difference (like Envoy's StartTlsSocket).
//
// Writes are coalesced: cork()/uncork() gather a whole burst of replies or commands into one TLS write and
// one write to the socket, which the kernel usually takes at once. What it cannot take waits in at most one
// uv_write, and bytes written meanwhile join the next one.
#include <sys/socket.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/tls/tls_engine.h"
#include "proxy/uv/handle.h"

namespace mxguard::net {

class Connection;

// What a connection reports to its owner. Every call happens on the loop thread, from a libuv callback
// (never from inside a Connection method the owner called, except where noted); the owner may close the
// connection from inside any of them.
class ConnectionEvents {
 public:
  virtual ~ConnectionEvents() = default;
  virtual void on_connected(Connection& c, int status) {}
  virtual void on_data(Connection& c, std::string_view plaintext) = 0;
  virtual void on_eof(Connection& c) = 0;                               // peer closed (or close_notify)
  virtual void on_error(Connection& c, const std::string& reason) = 0;  // socket or TLS record error
  // The handshake finished / failed, in either role. On failure the alert has been queued already;
  // c.tls()->failure() has the kind and, for a client, the certificate check. A TCP end during the
  // handshake is on_eof / on_error as at any other time.
  virtual void on_tls_ready(Connection& c) {}
  virtual void on_tls_failed(Connection& c, const std::string& reason) {}
  // Bytes that had to wait for the socket have all been handed to the kernel. Bytes the kernel took at
  // once report nothing: the writer sees queued_bytes() == 0 when write() or uncork() returns.
  virtual void on_drained(Connection& c) {}
};

class Connection {
 public:
  Connection(uv_loop_t* loop, ConnectionEvents& events);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  // Safe with a write in flight (libuv finishes it alone); callbacks need the owner alive until close's
  // on_closed has run, as always.
  ~Connection();

  // Takes a socket an Acceptor accepted (closed here if libuv refuses it). A libuv error code, 0 on success.
  int adopt_accepted(int fd);
  int connect(const sockaddr* addr);      // result arrives in on_connected
  // The same from a foreign `source` address (transparent_source.h: IP_TRANSPARENT, bound before the
  // connect). A libuv error code at once (UV_EPERM without CAP_NET_ADMIN) or the result in on_connected.
  int connect_from(const sockaddr_storage& source, const sockaddr* addr);

  void start_reading();
  void stop_reading();
  bool reading() const { return reading_; }

  // Queues plaintext for the peer (encrypted once TLS is on). Ignored once closing. While corked, or while
  // a TLS handshake is still running, the bytes wait in one buffer; otherwise they leave at once (or with
  // the next uv_write if one is in flight). The one callback that can come from inside write() and
  // uncork(): on_error when libuv refuses the write or TLS fails to encrypt (the connection is dead then).
  void write(std::string_view data);
  // Bytes accepted by write() and not yet handed to the kernel: corked or held plaintext plus
  // ciphertext/plaintext waiting for or in a uv_write. The back-pressure measure.
  std::size_t queued_bytes() const;

  // Nestable: while the count is above zero, write() only appends; the outermost uncork() sends everything
  // as one TLS write and one burst to the socket. close_after_flush and start_tls flush corked bytes themselves.
  void cork();
  void uncork();
  bool corked() const { return cork_depth_ > 0; }
  // Bursts handed to the socket so far (each tried at once, whatever the kernel left queued in one
  // uv_write), for metrics and for tests that count coalescing.
  std::uint64_t write_calls() const { return write_calls_; }

  // From now on every byte in either direction is TLS; the role is the SSL's (ServerContext::new_ssl is
  // a server, ClientContext::new_ssl a client). Bytes written before this call, corked or not (the 220
  // reply), leave first, in plaintext. A server waits for the ClientHello: bytes read after this call are
  // handshake records. A client sends its ClientHello at once, so keep reading. Application data written
  // before the handshake finishes is held and sent right after it, ahead of on_tls_ready.
  // Returns false without any callback if TLS cannot start: already closing or in TLS, no SSL, or a
  // client whose ClientHello cannot be built (see tls()->failure()). Flushing the plaintext can report
  // on_error from inside this call, as write() can.
  bool start_tls(bssl::UniquePtr<SSL> ssl);
  bool tls_active() const { return tls_ != nullptr; }
  const tls::Engine* tls() const { return tls_.get(); }

  // Closes at once (queued and corked bytes are dropped, pending writes cancelled) / after the queued and
  // corked bytes are written. Plaintext held for an unfinished handshake is dropped by both: with reading
  // stopped the handshake cannot finish.
  void close(std::function<void()> on_closed);
  void close_after_flush(std::function<void()> on_closed);
  // After close_after_flush: the peer was gone before every queued byte could be written.
  bool flush_failed() const { return flush_failed_; }
  bool closing() const { return closing_; }

  const sockaddr_storage& peer() const { return peer_; }
  const sockaddr_storage& local() const;   // all zero when unknown (never connected, or closed)
  // Transparent mode: where the peer of an accepted connection meant to go before a firewall REDIRECT
  // sent it here; nullopt when it was not redirected, and for a connection we made (see
  // original_destination.h).
  std::optional<sockaddr_storage> original_destination() const;

 private:
  struct WriteRequest;
  static void on_alloc(uv_handle_t*, size_t, uv_buf_t* buf);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void on_write(uv_write_t* req, int status);
  void handle_read(std::string_view bytes);
  void handle_tls_input(std::string_view ciphertext);
  void flush_plain();
  void flush_tls();
  bool send();   // false: the write failed (and was reported)
  void write_done(int status);
  void write_failed(int status);
  void trim_buffers();

  uv_loop_t* loop_;
  ConnectionEvents& events_;
  uv::Handle<uv_tcp_t> tcp_;
  std::unique_ptr<tls::Engine> tls_;
  std::string plain_;     // corked plaintext, or plaintext waiting for the TLS handshake
  std::string next_;      // bytes for the wire, waiting for the uv_write in flight
  std::unique_ptr<WriteRequest> write_req_;   // reused by every uv_write; libuv holds it while in flight
  bool writing_ = false;  // write_req_ is in flight
  int cork_depth_ = 0;
  std::uint64_t write_calls_ = 0;
  bool accepted_ = false;  // adopt_accepted made it (only then can it have been redirected to us)
  bool reading_ = false;
  bool closing_ = false;   // the owner is done with it: no more reads, no new writes
  bool closed_ = false;    // uv_close was called
  bool flush_failed_ = false;
  bool close_pending_ = false;   // close_after_flush waiting for the queue to drain
  std::function<void()> on_closed_;
  sockaddr_storage peer_{};
  mutable std::unique_ptr<sockaddr_storage> local_;   // looked up on first use
};

// Keeps a connection corked for a scope, e.g. a whole event callback: `net::Corked hold(client_);`.
class Corked {
 public:
  explicit Corked(Connection& c) : c_(c) { c_.cork(); }
  ~Corked() { c_.uncork(); }
  Corked(const Corked&) = delete;
  Corked& operator=(const Corked&) = delete;

 private:
  Connection& c_;
};

}  // namespace mxguard::net
