#include "bench/loadgen/flood.h"

namespace mxguard::bench {
namespace {

// A drip client's whole script, repeated: one EHLO and then NOOPs, one byte at a time.
constexpr std::string_view kDripScript = "NOOP\r\n";
constexpr std::string_view kDripOpening = "EHLO drip.bench.test\r\n";
constexpr std::size_t kFillChunk = 64 * 1024;

}  // namespace

std::optional<FloodKind> parse_flood_kind(std::string_view name) {
  if (name == "rcpt") return FloodKind::Rcpt;
  if (name == "noop") return FloodKind::Noop;
  if (name == "drip") return FloodKind::Drip;
  if (name == "handshake") return FloodKind::Handshake;
  return std::nullopt;
}

const char* to_string(FloodKind k) {
  switch (k) {
    case FloodKind::Rcpt: return "rcpt";
    case FloodKind::Noop: return "noop";
    case FloodKind::Drip: return "drip";
    case FloodKind::Handshake: return "handshake";
  }
  return "?";
}

FloodConn::FloodConn(uv_loop_t* loop, FloodKind kind, const sockaddr_in& target, const sockaddr_in* source,
                     const std::string& half_hello, FloodStats& stats, FloodHost& host)
    : kind_(kind), target_(target), source_(source), half_hello_(half_hello), stats_(stats), host_(host),
      conn_(loop, *this) {}

void FloodConn::start() {
  ++stats_.opened;
  if (conn_.connect(target_, source_) != 0) close(true);
}

void FloodConn::on_connected(int status) {
  if (status != 0) return close(true);
  step_ = Step::Greeting;
}

void FloodConn::on_data(std::string_view bytes) {
  if (step_ == Step::Flooding) {
    ++stats_.replies_seen;   // drip and handshake keep reading so that a close is noticed; content is dropped
    return;
  }
  reader_.feed(bytes);
  Reply reply;
  while (reader_.next(reply) == ReplyReader::Status::Complete) {
    ++stats_.replies_seen;
    switch (step_) {
      case Step::Greeting:
        if (kind_ == FloodKind::Rcpt || kind_ == FloodKind::Noop) {
          // From here on the replies pile up unread on the server's side: that is the attack.
          conn_.pause_reading();
          step_ = Step::Flooding;
          send(kind_ == FloodKind::Rcpt ? "EHLO rcpt.bench.test\r\nMAIL FROM:<flood@bench.test>\r\n"
                                        : "EHLO noop.bench.test\r\n");
          fill();
          return;
        }
        if (kind_ == FloodKind::Drip) {
          step_ = Step::Flooding;   // the driver's drip timer takes it from here
          return;
        }
        step_ = Step::Ehlo;
        send("EHLO stall.bench.test\r\n");
        break;
      case Step::Ehlo:
        step_ = Step::Starttls;
        send("STARTTLS\r\n");
        break;
      case Step::Starttls:
        if (reply.code != 220) return close(true);
        step_ = Step::Flooding;
        send(half_hello_);   // and then silence, until the server gives up on the handshake
        return;
      default:
        return;
    }
  }
}

namespace {
// One constant chunk per kind, built once: the flood must cost the load generator (which shares its loop
// with the measured sessions) as little as possible, so that their latency is the server's doing.
const std::string& flood_chunk(FloodKind kind) {
  static const std::string rcpt = [] {
    std::string c;
    for (int i = 1; c.size() < kFillChunk; ++i) c += "RCPT TO:<r" + std::to_string(i) + "@bench.test>\r\n";
    return c;
  }();
  static const std::string noop = [] {
    std::string c;
    while (c.size() < kFillChunk) c += "NOOP\r\n";
    return c;
  }();
  return kind == FloodKind::Rcpt ? rcpt : noop;
}
}  // namespace

void FloodConn::fill() {
  if (closing_ || step_ != Step::Flooding) return;
  const std::string& chunk = flood_chunk(kind_);
  stats_.bytes_sent += chunk.size();
  conn_.write_static(chunk);
}

void FloodConn::on_drained() {
  // One chunk in flight at a time: when the server stops reading, this stops being called, and the
  // flood costs the load generator nothing more.
  if (kind_ == FloodKind::Rcpt || kind_ == FloodKind::Noop) fill();
}

void FloodConn::drip() {
  if (closing_ || kind_ != FloodKind::Drip || step_ != Step::Flooding) return;
  char byte = counter_ < kDripOpening.size() ? kDripOpening[counter_]
                                               : kDripScript[(counter_ - kDripOpening.size()) % kDripScript.size()];
  ++counter_;
  send(std::string(1, byte));
}

void FloodConn::send(std::string bytes) {
  stats_.bytes_sent += bytes.size();
  conn_.write_raw(std::move(bytes));
}

void FloodConn::on_lost(const std::string&) { close(true); }

void FloodConn::stop() { close(false); }

void FloodConn::close(bool by_server) {
  if (closing_) return;
  closing_ = true;
  if (by_server) ++stats_.closed_by_server;
  conn_.close([this] { host_.flood_closed(*this); });
}

std::string half_client_hello(SSL_CTX* ctx) {
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx));
  bssl::UniquePtr<BIO> rbio(BIO_new(BIO_s_mem()));
  bssl::UniquePtr<BIO> wbio(BIO_new(BIO_s_mem()));
  if (!ssl || !rbio || !wbio) return "";
  BIO_set_mem_eof_return(rbio.get(), -1);
  BIO* out = wbio.get();
  SSL_set_bio(ssl.get(), rbio.release(), wbio.release());
  SSL_set_connect_state(ssl.get());
  SSL_do_handshake(ssl.get());   // WANT_READ, with the ClientHello in `out`
  std::string hello(BIO_pending(out), '\0');
  int n = BIO_read(out, hello.data(), static_cast<int>(hello.size()));
  if (n <= 1) return "";
  hello.resize(static_cast<std::size_t>(n) / 2);
  return hello;
}

}  // namespace mxguard::bench
