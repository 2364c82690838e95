#include "bench/loadgen/session.h"

#include <cstdio>

namespace mxguard::bench {
namespace {

int expected_code(Session::Phase p) {
  using P = Session::Phase;
  switch (p) {
    case P::Greeting:
    case P::Starttls: return 220;
    case P::Data: return 354;
    case P::Quit: return 221;
    default: return 250;
  }
}

}  // namespace

const char* to_string(Session::Phase p) {
  using P = Session::Phase;
  switch (p) {
    case P::Connect: return "CONNECT";
    case P::Greeting: return "GREETING";
    case P::Ehlo: return "EHLO";
    case P::Starttls: return "STARTTLS";
    case P::Handshake: return "HANDSHAKE";
    case P::EhloTls: return "EHLO-TLS";
    case P::Mail: return "MAIL";
    case P::Rcpt: return "RCPT";
    case P::Data: return "DATA";
    case P::Content: return "END-OF-DATA";
    case P::Quit: return "QUIT";
    case P::Idle: return "IDLE";
  }
  return "?";
}

Session::Session(uv_loop_t* loop, const SessionConfig& config, SessionHost& host)
    : config_(config), host_(host), conn_(loop, *this) {}

void Session::start() {
  started_ns_ = uv_hrtime();
  int rc = conn_.connect(config_.target);
  if (rc != 0) finish(std::string("CONNECT: ") + uv_strerror(rc));
}

void Session::on_connected(int status) {
  if (status != 0) {
    finish(std::string("CONNECT: ") + uv_strerror(status));
    return;
  }
  phase_ = Phase::Greeting;
  expect(Phase::Greeting);
}

void Session::on_data(std::string_view plaintext) {
  if (phase_ == Phase::Idle) return;   // held sessions ignore whatever arrives (nothing should)
  reader_.feed(plaintext);
  Reply reply;
  for (;;) {
    ReplyReader::Status st = reader_.next(reply);
    if (st == ReplyReader::Status::NeedMore) return;
    if (st == ReplyReader::Status::Malformed) {
      finish(std::string(to_string(phase_)) + ": malformed reply");
      return;
    }
    if (awaiting_.empty()) {
      finish(std::string(to_string(phase_)) + ": unexpected reply " + std::to_string(reply.code));
      return;
    }
    Phase answered = awaiting_.front();
    awaiting_.pop_front();
    if (reply.code != expected_code(answered)) {
      finish(std::string(to_string(answered)) + ": " + std::to_string(reply.code) + " reply");
      return;
    }
    // Counted here, not in advance(): a pipelined end of data is answered before the QUIT behind it.
    if (answered == Phase::Content) host_.message_accepted(*this, transaction_ns_, uv_hrtime());
    if (awaiting_.empty()) {
      advance(answered, reply);
      if (over_ || phase_ == Phase::Handshake || phase_ == Phase::Idle) return;
    }
  }
}

void Session::advance(Phase answered, const Reply& reply) {
  switch (answered) {
    case Phase::Greeting:
      phase_ = Phase::Ehlo;
      expect(Phase::Ehlo);
      send("EHLO loadgen.bench.test\r\n");
      return;
    case Phase::Ehlo:
      if (config_.tls) {
        if (!reply.offers_starttls) return finish("EHLO: STARTTLS not offered");
        phase_ = Phase::Starttls;
        expect(Phase::Starttls);
        send("STARTTLS\r\n");
        return;
      }
      [[fallthrough]];
    case Phase::EhloTls:
      if (config_.pipelining && !reply.offers_pipelining) return finish("EHLO: PIPELINING not offered");
      if (config_.idle) {
        phase_ = Phase::Idle;
        host_.session_idle(*this);
        return;
      }
      begin_transaction();
      return;
    case Phase::Starttls:
      // Anything after the 220 would be plaintext the server wants us to treat as TLS-protected.
      if (reader_.leftover() != 0) return finish("STARTTLS: bytes after the 220");
      reader_.clear();
      phase_ = Phase::Handshake;
      conn_.start_tls(config_.tls);
      return;
    case Phase::Mail:
    case Phase::Rcpt:
      if (rcpts_sent_ < config_.recipients) {
        phase_ = Phase::Rcpt;
        expect(Phase::Rcpt);
        ++rcpts_sent_;
        send("RCPT TO:<rcpt" + std::to_string(rcpts_sent_) + "@" + config_.rcpt_domain + ">\r\n");
        return;
      }
      phase_ = Phase::Data;
      expect(Phase::Data);
      send("DATA\r\n");
      return;
    case Phase::Data:
      phase_ = Phase::Content;
      expect(Phase::Content);
      if (config_.pipelining && messages_sent_ >= config_.messages) {
        expect(Phase::Quit);
        send_content(true);
      } else {
        send_content(false);
      }
      return;
    case Phase::Content:
      if (messages_sent_ < config_.messages) {
        begin_transaction();
        return;
      }
      phase_ = Phase::Quit;
      expect(Phase::Quit);
      send("QUIT\r\n");
      return;
    case Phase::Quit:
      finish("");
      return;
    case Phase::Connect:
    case Phase::Handshake:
    case Phase::Idle:
      return;
  }
}

void Session::begin_transaction() {
  phase_ = Phase::Mail;
  ++messages_sent_;
  rcpts_sent_ = 0;
  transaction_ns_ = uv_hrtime();
  if (!config_.pipelining) {
    expect(Phase::Mail);
    send("MAIL FROM:<loadgen@bench.test>\r\n");
    return;
  }
  // One group of commands in one write, as a pipelining MTA sends it.
  std::string group = "MAIL FROM:<loadgen@bench.test>\r\n";
  expect(Phase::Mail);
  for (rcpts_sent_ = 1; rcpts_sent_ <= config_.recipients; ++rcpts_sent_) {
    group += "RCPT TO:<rcpt" + std::to_string(rcpts_sent_) + "@" + config_.rcpt_domain + ">\r\n";
    expect(Phase::Rcpt);
  }
  rcpts_sent_ = config_.recipients;
  group += "DATA\r\n";
  expect(Phase::Data);
  send(group);
}

void Session::send_content(bool with_quit) {
  const std::string& content = with_quit ? config_.message_end_quit : config_.message_end;
  if (config_.stamp_offset == std::string::npos) {
    send(content);
    return;
  }
  std::string stamped = content;
  char digits[21];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(transaction_ns_));
  stamped.replace(config_.stamp_offset, 20, digits, 20);
  send(stamped);
}

void Session::on_tls_ready() {
  phase_ = Phase::EhloTls;
  expect(Phase::EhloTls);
  send("EHLO loadgen.bench.test\r\n");
}

void Session::on_lost(const std::string& why) {
  finish(std::string(to_string(phase_)) + ": " + why);
}

void Session::check_timeout(uint64_t now_ns) {
  if (over_ || phase_ == Phase::Idle || config_.timeout_ns == 0) return;
  // `now_ns` may predate a session started during the same tick.
  if (now_ns > started_ns_ && now_ns - started_ns_ > config_.timeout_ns) finish(std::string(to_string(phase_)) + ": timeout");
}

void Session::finish(const std::string& failure) {
  if (over_) return;
  over_ = true;
  finished_ns_ = uv_hrtime();
  host_.session_finished(*this, failure);
  conn_.close([this] { host_.session_closed(*this); });
}

void Session::release() {
  if (over_) return;
  over_ = true;
  conn_.close([this] { host_.session_closed(*this); });
}

}  // namespace mxguard::bench
