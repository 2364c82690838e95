#pragma once
// One measured SMTP client session: connect, greeting, EHLO, STARTTLS + handshake + EHLO again (TLS mode),
// then one or more transactions (MAIL, RCPT, DATA, the message), QUIT, 221. Its latency runs from the
// connect call to the 221; a message's from its MAIL FROM to the 250 after its end of data. In idle mode
// it stops after the post-TLS EHLO and holds the connection until told to let go.
#include <netinet/in.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <deque>
#include <string>

#include "bench/loadgen/client_conn.h"
#include "bench/loadgen/reply_reader.h"

namespace mxguard::bench {

struct SessionConfig {
  sockaddr_in target{};
  SSL_CTX* tls = nullptr;       // STARTTLS with this context; nullptr = plaintext throughout
  bool pipelining = false;      // MAIL+RCPT+DATA in one write, then content+QUIT in one write (RFC 2920)
  bool idle = false;            // hold the session after the (post-TLS) EHLO
  int recipients = 1;
  int messages = 1;             // transactions per session
  std::string rcpt_domain = "bench.test";
  std::string message_end;        // content + <CRLF>.<CRLF>
  std::string message_end_quit;   // the same + QUIT, for pipelining
  // Where the 20 digits of the X-Bench-Sent header are in the content (std::string::npos: no stamp): each
  // message carries the uv_hrtime() of its MAIL FROM there, for the sink's end-to-end latency.
  std::size_t stamp_offset = std::string::npos;
  uint64_t timeout_ns = 0;        // whole session; in idle mode, until the session is held
};

class Session;

class SessionHost {
 public:
  virtual ~SessionHost() = default;
  virtual void session_idle(Session& s) = 0;   // idle mode: set up, now held
  // The session is over (`failure` empty = it reached 221). Its connection closes right after.
  virtual void session_finished(Session& s, const std::string& failure) = 0;
  // A message got its 250 after the end of data; `start_ns` is when its MAIL FROM was sent.
  virtual void message_accepted(Session& s, uint64_t start_ns, uint64_t end_ns) = 0;
  // libuv has closed the connection: the host may destroy the session now, and only now.
  virtual void session_closed(Session& s) = 0;
};

class Session final : public ConnEvents {
 public:
  enum class Phase { Connect, Greeting, Ehlo, Starttls, Handshake, EhloTls, Mail, Rcpt, Data, Content, Quit, Idle };

  Session(uv_loop_t* loop, const SessionConfig& config, SessionHost& host);
  void start();
  void check_timeout(uint64_t now_ns);
  // Lets go of the session without counting it (the end of an idle hold): no QUIT, no verdict.
  void release();
  uint64_t started_ns() const { return started_ns_; }
  uint64_t finished_ns() const { return finished_ns_; }
  Phase phase() const { return phase_; }

  void on_connected(int status) override;
  void on_data(std::string_view plaintext) override;
  void on_tls_ready() override;
  void on_lost(const std::string& why) override;

 private:
  void expect(Phase p) { awaiting_.push_back(p); }
  void send(std::string_view bytes) { conn_.write(bytes); }
  void advance(Phase answered, const Reply& reply);
  void begin_transaction();
  void send_content(bool with_quit);
  void finish(const std::string& failure);

  const SessionConfig& config_;
  SessionHost& host_;
  ClientConn conn_;
  ReplyReader reader_;
  std::deque<Phase> awaiting_;   // one entry per command whose reply has not arrived yet, in order
  Phase phase_ = Phase::Connect;
  int rcpts_sent_ = 0;
  int messages_sent_ = 0;        // transactions begun
  uint64_t transaction_ns_ = 0;  // when the current transaction's MAIL FROM was sent
  uint64_t started_ns_ = 0;
  uint64_t finished_ns_ = 0;
  bool over_ = false;
};

const char* to_string(Session::Phase p);

}  // namespace mxguard::bench
