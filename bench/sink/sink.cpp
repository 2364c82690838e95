// bench/sink: an SMTP server that accepts everything and stores nothing, standing in for the legacy MTA
// behind the proxies under test (inbound benchmark), or for the remote MX behind the relays under test
// (outbound benchmark: with STARTTLS), so that the figures measure the proxy rather than its far side.
// It answers pipelined commands in one write per read, keeps only the unconsumed bytes of a connection
// (an idle connection holds no buffer), and never times anything out: the proxies do that.
//
//   sink --listen 127.0.0.1:2600                                  plaintext only
//   sink --listen 127.0.0.1:2600 --tls-chain C --tls-key K        also STARTTLS
//        --stamps       time each message from the load generator's X-Bench-Sent header to its end of data
//        --stats FILE   SIGUSR1 writes the counters and the window's latency there (JSON); SIGUSR2 starts
//                       a new window
//   SIGINT/SIGTERM: print what it saw and exit
#include <uv.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "bench/common/loopback.h"
#include "bench/sink/stats.h"
#include "bench/sink/tls_pipe.h"
#include "proxy/uv/handle.h"

namespace mxguard::bench {
namespace {

constexpr std::size_t kMaxLine = 64 * 1024;   // a runaway client is cut off rather than buffered forever
constexpr std::string_view kEndOfData = "\r\n.\r\n";
// A client that pipelines without reading (the flood modes, through a proxy) must not make the sink queue
// replies without bound: it stops reading above this many unsent bytes, like any real server.
constexpr std::size_t kMaxUnsent = 1024 * 1024;
// The stamp is looked for in this much of a message's beginning (Postfix puts its Received: line above).
constexpr std::size_t kStampWindow = 2048;
constexpr std::string_view kStampHeader = "X-Bench-Sent: ";

char read_buffer[64 * 1024];   // one loop thread: a read is consumed before the next one starts

class Sink;

class Conn {
 public:
  Conn(Sink& sink, uv_loop_t* loop);
  uv_tcp_t* tcp() { return tcp_.get(); }
  void mark_initialized() { tcp_.mark_initialized(); }
  void start();
  void close();
  void resume();

 private:
  struct WriteReq {
    uv_write_t req{};
    std::string data;
    Conn* owner = nullptr;
    bool close_after = false;
  };
  static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);
  void consume(std::string_view bytes);
  // Returns how many bytes of `bytes` were used; stops at an incomplete line.
  std::size_t consume_commands(std::string_view bytes);
  std::size_t consume_data(std::string_view bytes);
  void look_for_stamp(std::string_view bytes);
  void command(std::string_view line);
  void start_tls();
  void tls_input(std::string_view ciphertext);
  void flush();

  Sink& sink_;
  uv::Handle<uv_tcp_t> tcp_;
  std::string in_;    // only the bytes of an incomplete line
  std::string out_;   // replies to the current read, written in one go
  std::string tls_out_;   // out_ encrypted, and handshake records
  std::unique_ptr<TlsPipe> tls_;   // after STARTTLS
  bool starttls_ = false;          // the 220 to STARTTLS is in out_: TLS starts once it is sent
  bool in_data_ = false;
  bool want_stamp_ = false;        // still looking for this message's X-Bench-Sent header
  std::string head_;               // the message's first bytes, while looking
  std::optional<uint64_t> stamp_ns_;
  std::size_t eod_matched_ = 0;   // how much of <CRLF>.<CRLF> the content ended with so far
  bool quit_ = false;
  bool closed_ = false;
  bool paused_ = false;   // not reading while replies back up
};

class Sink {
 public:
  Sink(uv_loop_t* loop, SSL_CTX* tls, bool stamps) : loop_(loop), tls_(tls), stamps_(stamps) {}
  bool listen(const sockaddr_in& addr, std::string& error);
  void stop();
  void forget(Conn* c) { conns_.erase(c); }
  SinkStats& stats() { return stats_; }
  SSL_CTX* tls() const { return tls_; }   // nullptr: STARTTLS is not offered
  bool stamps() const { return stamps_; }

 private:
  static void on_connection(uv_stream_t* server, int status);
  uv_loop_t* loop_;
  SSL_CTX* tls_;
  bool stamps_;
  uv::Handle<uv_tcp_t> listener_;
  std::unordered_map<Conn*, std::unique_ptr<Conn>> conns_;
  SinkStats stats_;
};

Conn::Conn(Sink& sink, uv_loop_t* loop) : sink_(sink) {
  if (uv_tcp_init(loop, tcp_.get()) == 0) tcp_.mark_initialized();
  tcp_.get()->data = this;
}

void Conn::start() {
  uv_tcp_nodelay(tcp_.get(), 1);
  out_ = "220 sink.bench.test ESMTP bench sink\r\n";
  flush();
  resume();
}

void Conn::resume() {
  if (closed_) return;
  paused_ = false;
  uv_read_start(
      tcp_.stream(),
      [](uv_handle_t*, size_t, uv_buf_t* buf) { *buf = uv_buf_init(read_buffer, sizeof read_buffer); },
      &Conn::on_read);
}

void Conn::close() {
  if (closed_) return;
  closed_ = true;
  // The sink owns this object; it is freed only once libuv has called every pending write callback.
  Sink& sink = sink_;
  tcp_.close([&sink, self = this] { sink.forget(self); });
}

void Conn::on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* self = static_cast<Conn*>(s->data);
  if (self->closed_) return;
  if (n < 0) {
    self->close();
    return;
  }
  self->sink_.stats().bytes_in += static_cast<unsigned long long>(n);
  std::string_view bytes(buf->base, static_cast<std::size_t>(n));
  if (self->tls_) {
    self->tls_input(bytes);
    return;
  }
  self->consume(bytes);
  self->flush();
  if (self->starttls_ && !self->closed_) self->start_tls();
}

void Conn::start_tls() {
  // The 220 has gone out in plaintext. Anything the client sent behind STARTTLS was dropped by consume()
  // (a client must not pipeline past it); from here on every byte is TLS.
  starttls_ = false;
  in_.clear();
  tls_ = std::make_unique<TlsPipe>(sink_.tls());
  if (!tls_->ok()) {
    ++sink_.stats().tls_failures;
    close();
  }
}

void Conn::tls_input(std::string_view ciphertext) {
  bool was_done = tls_->handshake_done();
  std::string plaintext;
  bool ok = tls_->feed(ciphertext, plaintext);
  if (!was_done && tls_->handshake_done()) sink_.stats().tls_established(tls_->describe());
  if (!ok && !tls_->handshake_done()) ++sink_.stats().tls_failures;
  if (!plaintext.empty()) consume(plaintext);
  flush();   // handshake records too
  if (!ok) close();
}

void Conn::consume(std::string_view bytes) {
  // Work on the read buffer directly; copy only an incomplete line that must wait for the next read.
  std::string joined;
  if (!in_.empty()) {
    joined = std::move(in_);
    joined.append(bytes);
    bytes = joined;
    in_.clear();
  }
  while (!bytes.empty() && !quit_ && !starttls_) {
    std::size_t used = in_data_ ? consume_data(bytes) : consume_commands(bytes);
    if (used == 0) break;
    bytes.remove_prefix(used);
  }
  if (quit_ || starttls_) return;
  if (!in_data_ && bytes.size() > kMaxLine) {
    out_ += "500 5.5.2 line too long\r\n";
    quit_ = true;
    return;
  }
  in_.assign(bytes);
}

std::size_t Conn::consume_commands(std::string_view bytes) {
  std::size_t used = 0;
  while (!in_data_ && !quit_ && !starttls_) {
    auto nl = bytes.find('\n', used);
    if (nl == std::string_view::npos) break;
    std::string_view line = bytes.substr(used, nl - used);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    used = nl + 1;
    command(line);
  }
  return used;
}

void Conn::look_for_stamp(std::string_view bytes) {
  head_.append(bytes.substr(0, kStampWindow - head_.size()));
  auto at = head_.find(kStampHeader);
  if (at != std::string::npos && head_.size() >= at + kStampHeader.size() + 20) {
    const char* digits = head_.data() + at + kStampHeader.size();
    uint64_t ns = 0;
    auto [end, ec] = std::from_chars(digits, digits + 20, ns);
    if (ec == std::errc() && end == digits + 20) stamp_ns_ = ns;
    want_stamp_ = false;
  } else if (head_.size() >= kStampWindow || head_.find("\r\n\r\n") != std::string::npos) {
    want_stamp_ = false;   // not stamped
  }
  if (!want_stamp_) head_.clear();
}

std::size_t Conn::consume_data(std::string_view bytes) {
  if (want_stamp_) look_for_stamp(bytes);
  // A small matcher instead of a search over a joined buffer: the end of data may straddle reads, and
  // content is never kept. Only '\r' can restart a partial match of <CRLF>.<CRLF>.
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (eod_matched_ == 0) {
      const void* cr = std::memchr(bytes.data() + i, '\r', bytes.size() - i);
      if (!cr) return bytes.size();
      i = static_cast<std::size_t>(static_cast<const char*>(cr) - bytes.data());
    }
    char c = bytes[i];
    if (c == kEndOfData[eod_matched_]) {
      ++eod_matched_;
    } else {
      eod_matched_ = (c == '\r') ? 1 : 0;
    }
    if (eod_matched_ == kEndOfData.size()) {
      in_data_ = false;
      eod_matched_ = 0;
      sink_.stats().message(uv_hrtime(), stamp_ns_);
      want_stamp_ = false;
      head_.clear();
      out_ += "250 2.0.0 Ok: queued by the bench sink\r\n";
      return i + 1;
    }
  }
  return bytes.size();
}

bool verb_is(std::string_view line, std::string_view verb) {
  if (line.size() < verb.size()) return false;
  for (std::size_t i = 0; i < verb.size(); ++i) {
    char c = line[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != verb[i]) return false;
  }
  return line.size() == verb.size() || line[verb.size()] == ' ';
}

void Conn::command(std::string_view line) {
  ++sink_.stats().commands;
  if (verb_is(line, "EHLO")) {
    out_ += "250-sink.bench.test\r\n250-PIPELINING\r\n250-SIZE 104857600\r\n250-8BITMIME\r\n";
    if (sink_.tls() && !tls_) out_ += "250-STARTTLS\r\n";
    out_ += "250 ENHANCEDSTATUSCODES\r\n";
  } else if (verb_is(line, "STARTTLS")) {
    if (!sink_.tls()) {
      out_ += "502 5.5.1 STARTTLS not offered\r\n";
    } else if (tls_) {
      out_ += "503 5.5.1 TLS already active\r\n";
    } else {
      out_ += "220 2.0.0 Ready to start TLS\r\n";
      starttls_ = true;
    }
  } else if (verb_is(line, "HELO")) {
    out_ += "250 sink.bench.test\r\n";
  } else if (verb_is(line, "MAIL") || verb_is(line, "RCPT") || verb_is(line, "RSET") || verb_is(line, "NOOP") ||
             verb_is(line, "XCLIENT")) {
    out_ += "250 2.0.0 Ok\r\n";
  } else if (verb_is(line, "DATA")) {
    out_ += "354 End data with <CR><LF>.<CR><LF>\r\n";
    in_data_ = true;
    want_stamp_ = sink_.stamps();
    head_.clear();
    stamp_ns_.reset();
    eod_matched_ = 2;   // the DATA line's own CRLF counts: an empty message is just ".\r\n"
  } else if (verb_is(line, "QUIT")) {
    out_ += "221 2.0.0 Bye\r\n";
    quit_ = true;
  } else {
    out_ += "502 5.5.2 Error: command not recognized\r\n";
  }
}

void Conn::flush() {
  if (closed_) return;
  if (tls_) {
    if (!tls_->write(out_)) {
      close();
      return;
    }
    out_.clear();
    tls_out_ = tls_->take_output();
  }
  std::string& out = tls_ ? tls_out_ : out_;
  if (out.empty()) {
    if (quit_) close();
    return;
  }
  // Try the socket first: with libuv 1.44 a uv_write that completes at once still costs an epoll_ctl on
  // the next loop iteration, and the sink should be as cheap as it can be.
  uv_buf_t first = uv_buf_init(out.data(), static_cast<unsigned>(out.size()));
  int sent = uv_try_write(tcp_.stream(), &first, 1);
  if (sent == static_cast<int>(out.size())) {
    out.clear();
    if (quit_) close();
    return;
  }
  if (sent < 0 && sent != UV_EAGAIN) {
    close();
    return;
  }
  auto req = std::make_unique<WriteReq>();
  req->data = out.substr(sent > 0 ? static_cast<std::size_t>(sent) : 0);
  out.clear();
  req->owner = this;
  req->close_after = quit_;
  req->req.data = req.get();
  uv_buf_t buf = uv_buf_init(req->data.data(), static_cast<unsigned>(req->data.size()));
  int rc = uv_write(&req->req, tcp_.stream(), &buf, 1, [](uv_write_t* w, int status) {
    std::unique_ptr<WriteReq> owned(static_cast<WriteReq*>(w->data));
    if (status == UV_ECANCELED) return;   // the connection is closing already
    Conn* self = owned->owner;
    if (status < 0 || owned->close_after) {
      self->close();
    } else if (self->paused_ && uv_stream_get_write_queue_size(w->handle) < kMaxUnsent / 2) {
      self->resume();
    }
  });
  if (rc != 0) {
    close();
    return;
  }
  req.release();   // libuv owns it until the write callback
  if (!paused_ && uv_stream_get_write_queue_size(tcp_.stream()) > kMaxUnsent) {
    uv_read_stop(tcp_.stream());
    paused_ = true;
  }
}

bool Sink::listen(const sockaddr_in& addr, std::string& error) {
  if (int rc = uv_tcp_init(loop_, listener_.get()); rc != 0) {
    error = uv_strerror(rc);
    return false;
  }
  listener_.mark_initialized();
  listener_.get()->data = this;
  int rc = uv_tcp_bind(listener_.get(), reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc == 0) rc = uv_listen(listener_.stream(), 4096, &Sink::on_connection);
  if (rc != 0) {
    error = uv_strerror(rc);
    return false;
  }
  return true;
}

void Sink::on_connection(uv_stream_t* server, int status) {
  auto* self = static_cast<Sink*>(server->data);
  if (status < 0) return;
  auto conn = std::make_unique<Conn>(*self, self->loop_);
  Conn* raw = conn.get();
  self->conns_.emplace(raw, std::move(conn));
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(raw->tcp())) != 0) {
    raw->close();
    return;
  }
  ++self->stats_.connections;
  raw->start();
}

void Sink::stop() {
  listener_.close();
  // close() removes entries from conns_ only in the close callbacks, so iterating here is safe.
  for (auto& [raw, conn] : conns_) conn->close();
}

int run(int argc, char** argv) {
  std::string listen_text, chain, key, stats_file;
  bool stamps = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    bool has_value = i + 1 < argc;
    if (arg == "--listen" && has_value) {
      listen_text = argv[++i];
    } else if (arg == "--tls-chain" && has_value) {
      chain = argv[++i];
    } else if (arg == "--tls-key" && has_value) {
      key = argv[++i];
    } else if (arg == "--stats" && has_value) {
      stats_file = argv[++i];
    } else if (arg == "--stamps") {
      stamps = true;
    } else {
      std::fprintf(stderr,
                   "usage: sink --listen 127.0.0.1:PORT [--tls-chain PEM --tls-key PEM] [--stamps] [--stats FILE]\n");
      return 2;
    }
  }
  std::string error;
  auto addr = parse_loopback(listen_text, error);
  if (!addr) {
    std::fprintf(stderr, "sink: --listen: %s\n", error.c_str());
    return 2;
  }
  if (chain.empty() != key.empty()) {
    std::fprintf(stderr, "sink: --tls-chain and --tls-key go together\n");
    return 2;
  }
  bssl::UniquePtr<SSL_CTX> tls;
  if (!chain.empty() && !(tls = server_context(chain, key, error))) {
    std::fprintf(stderr, "sink: %s\n", error.c_str());
    return 1;
  }
  std::signal(SIGPIPE, SIG_IGN);
  uv_loop_t* loop = uv_default_loop();
  Sink sink(loop, tls.get(), stamps);
  if (!sink.listen(*addr, error)) {
    std::fprintf(stderr, "sink: cannot listen on %s: %s\n", listen_text.c_str(), error.c_str());
    return 1;
  }
  uv::Handle<uv_signal_t> sigint, sigterm;
  struct Stopper {
    Sink* sink;
    uv_signal_t* a;
    uv_signal_t* b;
  } stopper{&sink, sigint.get(), sigterm.get()};
  for (auto* h : {&sigint, &sigterm}) {
    uv_signal_init(loop, h->get());
    h->mark_initialized();
    h->get()->data = &stopper;
    uv_signal_start(
        h->get(),
        [](uv_signal_t* s, int) {
          auto* st = static_cast<Stopper*>(s->data);
          st->sink->stop();
          uv_signal_stop(st->a);
          uv_signal_stop(st->b);
          uv_unref(reinterpret_cast<uv_handle_t*>(st->a));
          uv_unref(reinterpret_cast<uv_handle_t*>(st->b));
        },
        h == &sigint ? SIGINT : SIGTERM);
  }
  // SIGUSR1: write the report; SIGUSR2: a new latency window. Unreferenced: they never keep the loop alive.
  uv::Handle<uv_signal_t> sigusr1, sigusr2;
  struct Reporter {
    Sink* sink;
    std::string path;
  } reporter{&sink, stats_file};
  for (auto* h : {&sigusr1, &sigusr2}) {
    uv_signal_init(loop, h->get());
    h->mark_initialized();
    h->get()->data = &reporter;
    uv_unref(h->base());
  }
  uv_signal_start(
      sigusr1.get(),
      [](uv_signal_t* s, int) {
        auto* r = static_cast<Reporter*>(s->data);
        std::string why;
        if (r->path.empty()) {
          std::fprintf(stderr, "sink: SIGUSR1 without --stats: nothing written\n");
        } else if (!r->sink->stats().write(r->path, why)) {
          std::fprintf(stderr, "sink: %s\n", why.c_str());
        }
      },
      SIGUSR1);
  uv_signal_start(
      sigusr2.get(), [](uv_signal_t* s, int) { static_cast<Reporter*>(s->data)->sink->stats().reset_window(); },
      SIGUSR2);
  std::printf("sink: listening on %s%s\n", listen_text.c_str(), tls ? " (STARTTLS offered)" : "");
  std::fflush(stdout);
  uv_run(loop, UV_RUN_DEFAULT);
  std::printf("%s\n", sink.stats().summary().c_str());
  sigint.close();
  sigterm.close();
  sigusr1.close();
  sigusr2.close();
  uv_run(loop, UV_RUN_DEFAULT);   // let the close callbacks free the signal handles
  return 0;
}

}  // namespace
}  // namespace mxguard::bench

int main(int argc, char** argv) { return mxguard::bench::run(argc, argv); }
