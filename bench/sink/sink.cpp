// bench/sink: a plaintext SMTP server that accepts everything and stores nothing, standing in for the
// legacy MTA behind the proxies under test, so that the figures measure the proxy rather than its backend.
// It answers pipelined commands in one write per read, keeps only the unconsumed bytes of a connection
// (an idle connection holds no buffer), and never times anything out: the proxies do that.
//
//   sink --listen 127.0.0.1:2600      (SIGINT/SIGTERM: print what it saw and exit)
#include <uv.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "bench/common/loopback.h"
#include "proxy/uv/handle.h"

namespace mxguard::bench {
namespace {

constexpr std::size_t kMaxLine = 64 * 1024;   // a runaway client is cut off rather than buffered forever
constexpr std::string_view kEndOfData = "\r\n.\r\n";
// A client that pipelines without reading (the flood modes, through a proxy) must not make the sink queue
// replies without bound: it stops reading above this many unsent bytes, like any real server.
constexpr std::size_t kMaxUnsent = 1024 * 1024;

char read_buffer[64 * 1024];   // one loop thread: a read is consumed before the next one starts

struct Stats {
  unsigned long long connections = 0;
  unsigned long long messages = 0;
  unsigned long long commands = 0;
  unsigned long long bytes_in = 0;
};

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
  void command(std::string_view line);
  void flush();

  Sink& sink_;
  uv::Handle<uv_tcp_t> tcp_;
  std::string in_;    // only the bytes of an incomplete line
  std::string out_;   // replies to the current read, written in one go
  bool in_data_ = false;
  std::size_t eod_matched_ = 0;   // how much of <CRLF>.<CRLF> the content ended with so far
  bool quit_ = false;
  bool closed_ = false;
  bool paused_ = false;   // not reading while replies back up
};

class Sink {
 public:
  explicit Sink(uv_loop_t* loop) : loop_(loop) {}
  bool listen(const sockaddr_in& addr, std::string& error);
  void stop();
  void forget(Conn* c) { conns_.erase(c); }
  Stats& stats() { return stats_; }

 private:
  static void on_connection(uv_stream_t* server, int status);
  uv_loop_t* loop_;
  uv::Handle<uv_tcp_t> listener_;
  std::unordered_map<Conn*, std::unique_ptr<Conn>> conns_;
  Stats stats_;
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
  self->consume({buf->base, static_cast<std::size_t>(n)});
  self->flush();
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
  while (!bytes.empty() && !quit_) {
    std::size_t used = in_data_ ? consume_data(bytes) : consume_commands(bytes);
    if (used == 0) break;
    bytes.remove_prefix(used);
  }
  if (quit_) return;
  if (!in_data_ && bytes.size() > kMaxLine) {
    out_ += "500 5.5.2 line too long\r\n";
    quit_ = true;
    return;
  }
  in_.assign(bytes);
}

std::size_t Conn::consume_commands(std::string_view bytes) {
  std::size_t used = 0;
  while (!in_data_ && !quit_) {
    auto nl = bytes.find('\n', used);
    if (nl == std::string_view::npos) break;
    std::string_view line = bytes.substr(used, nl - used);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    used = nl + 1;
    command(line);
  }
  return used;
}

std::size_t Conn::consume_data(std::string_view bytes) {
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
      ++sink_.stats().messages;
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
    out_ +=
        "250-sink.bench.test\r\n250-PIPELINING\r\n250-SIZE 104857600\r\n250-8BITMIME\r\n"
        "250 ENHANCEDSTATUSCODES\r\n";
  } else if (verb_is(line, "HELO")) {
    out_ += "250 sink.bench.test\r\n";
  } else if (verb_is(line, "MAIL") || verb_is(line, "RCPT") || verb_is(line, "RSET") || verb_is(line, "NOOP") ||
             verb_is(line, "XCLIENT")) {
    out_ += "250 2.0.0 Ok\r\n";
  } else if (verb_is(line, "DATA")) {
    out_ += "354 End data with <CR><LF>.<CR><LF>\r\n";
    in_data_ = true;
    eod_matched_ = 2;   // the DATA line's own CRLF counts: an empty message is just ".\r\n"
  } else if (verb_is(line, "QUIT")) {
    out_ += "221 2.0.0 Bye\r\n";
    quit_ = true;
  } else {
    out_ += "502 5.5.2 Error: command not recognized\r\n";
  }
}

void Conn::flush() {
  if (out_.empty() || closed_) {
    if (quit_) close();
    return;
  }
  // Try the socket first: with libuv 1.44 a uv_write that completes at once still costs an epoll_ctl on
  // the next loop iteration, and the sink should be as cheap as it can be.
  uv_buf_t first = uv_buf_init(out_.data(), static_cast<unsigned>(out_.size()));
  int sent = uv_try_write(tcp_.stream(), &first, 1);
  if (sent == static_cast<int>(out_.size())) {
    out_.clear();
    if (quit_) close();
    return;
  }
  if (sent < 0 && sent != UV_EAGAIN) {
    close();
    return;
  }
  auto req = std::make_unique<WriteReq>();
  req->data = out_.substr(sent > 0 ? static_cast<std::size_t>(sent) : 0);
  out_.clear();
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
  std::string listen_text;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--listen" && i + 1 < argc) {
      listen_text = argv[++i];
    } else {
      std::fprintf(stderr, "usage: sink --listen 127.0.0.1:PORT\n");
      return 2;
    }
  }
  std::string error;
  auto addr = parse_loopback(listen_text, error);
  if (!addr) {
    std::fprintf(stderr, "sink: --listen: %s\n", error.c_str());
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  uv_loop_t* loop = uv_default_loop();
  Sink sink(loop);
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
  std::printf("sink: listening on %s\n", listen_text.c_str());
  std::fflush(stdout);
  uv_run(loop, UV_RUN_DEFAULT);
  const Stats& s = sink.stats();
  std::printf("sink: %llu connections, %llu messages, %llu commands, %llu bytes received\n", s.connections,
              s.messages, s.commands, s.bytes_in);
  sigint.close();
  sigterm.close();
  uv_run(loop, UV_RUN_DEFAULT);   // let the close callbacks free the signal handles
  return 0;
}

}  // namespace
}  // namespace mxguard::bench

int main(int argc, char** argv) { return mxguard::bench::run(argc, argv); }
