#pragma once
// Hostile clients that run while the measured sessions do, so their latency shows what the abuse costs
// everyone else. Every kind waits for the greeting first (a client that talks before it is refused at
// once as an early talker, which would measure nothing):
//   rcpt       EHLO, MAIL, then RCPT after RCPT without end, never reading a reply
//   noop       EHLO, then NOOP after NOOP without end, never reading a reply
//   drip       EHLO then NOOPs, one byte per drip interval, reading (and dropping) the replies
//   handshake  EHLO, STARTTLS, then half a ClientHello, and nothing more
// A connection the server closes is opened again by the driver after a short pause.
#include <netinet/in.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bench/loadgen/client_conn.h"
#include "bench/loadgen/reply_reader.h"

namespace mxguard::bench {

enum class FloodKind { Rcpt, Noop, Drip, Handshake };
std::optional<FloodKind> parse_flood_kind(std::string_view name);
const char* to_string(FloodKind k);

struct FloodStats {
  uint64_t opened = 0;
  uint64_t closed_by_server = 0;
  uint64_t bytes_sent = 0;
  uint64_t replies_seen = 0;   // drip and handshake read what comes back
};

// The first half of a real ClientHello record from `ctx` (what a stalled handshake sends), or "" on error.
std::string half_client_hello(SSL_CTX* ctx);

class FloodConn;

class FloodHost {
 public:
  virtual ~FloodHost() = default;
  virtual void flood_closed(FloodConn& f) = 0;   // libuv closed it: the host may destroy it now
};

class FloodConn final : public ConnEvents {
 public:
  // `half_hello` is the first half of a real ClientHello record (kind Handshake only).
  // `source`: the address to connect from (null: the kernel's choice); it must outlive the connection.
  FloodConn(uv_loop_t* loop, FloodKind kind, const sockaddr_in& target, const sockaddr_in* source,
            const std::string& half_hello, FloodStats& stats, FloodHost& host);
  void start();
  void drip();    // one byte (kind Drip, once the greeting is in)
  void stop();    // the run is over: close without counting it as the server's doing

  void on_connected(int status) override;
  void on_data(std::string_view bytes) override;
  void on_lost(const std::string& why) override;
  void on_drained() override;

 private:
  void send(std::string bytes);
  void fill();   // keep the kernel's send buffer full (rcpt, noop)
  void close(bool by_server);

  FloodKind kind_;
  sockaddr_in target_;
  const sockaddr_in* source_;
  const std::string& half_hello_;
  FloodStats& stats_;
  FloodHost& host_;
  ClientConn conn_;
  ReplyReader reader_;
  enum class Step { Connecting, Greeting, Ehlo, Starttls, Flooding } step_ = Step::Connecting;
  uint64_t counter_ = 0;    // drip position in the script
  bool closing_ = false;
};

}  // namespace mxguard::bench
