#include "proxy/session/session_core.h"

#include <spdlog/spdlog.h>

#include "base/log_text.h"
#include "proxy/session/thresholds.h"
#include "proxy/smtp/proxy_header.h"

namespace mxguard::session {

using namespace std::chrono_literals;
using smtp::ReplyId;

namespace {
constexpr auto kClosingGrace = 10s;   // to write the last reply before the socket is dropped
}  // namespace

std::string_view to_string(Phase p) {
  switch (p) {
    case Phase::Opening: return "opening";
    case Phase::Command: return "command";
    case Phase::StarttlsPending: return "starttls-pending";
    case Phase::TlsHandshake: return "tls-handshake";
    case Phase::DataPending: return "data-pending";
    case Phase::Data: return "data";
    case Phase::Closing: return "closing";
  }
  return "?";
}

// One event callback: both connections corked, so the replies and forwarded commands of a whole turn
// leave in one write each (a pipelined burst of 100 commands costs one system call, not 100).
// The far side may change during the turn (an outbound link closed, a backend address retried): the
// uncork goes to whatever far side there is at the end, and a far connection replaced during the turn is
// closed, which flushes or drops its corked bytes itself. Uncork without a cork is harmless.
class SessionCore::Turn {
 public:
  explicit Turn(SessionCore& s) : s_(s) {
    s_.client_.cork();
    if (s_.far_) s_.far_->cork();
  }
  ~Turn() {
    if (s_.far_) s_.far_->uncork();
    s_.client_.uncork();
    // Replies the kernel took at once report no on_drained: the client has them all now.
    if (s_.client_.queued_bytes() == 0 && !s_.client_.closing()) s_.on_client_caught_up();   // corked bytes count as queued
  }
  Turn(const Turn&) = delete;
  Turn& operator=(const Turn&) = delete;

 private:
  SessionCore& s_;
};

SessionCore::SessionCore(Environment env, std::size_t extra_handles)
    : env_(std::move(env)),
      client_(env_.loop, *this),
      timer_(env_.loop, [this] {
        Turn turn(*this);
        on_timeout();
      }),
      reader_(env_.limits->max_command_line),
      turn_slot_(env_.turns, &SessionCore::run_queued_turn, this) {
  open_handles_ = 2 + static_cast<unsigned>(extra_handles);   // client_, timer_, and the direction's own
}

SessionCore::~SessionCore() = default;

std::string_view SessionCore::state_name() const {
  bool between_commands = phase_ == Phase::Command || phase_ == Phase::DataPending;
  return between_commands && replies_.awaiting_data_end() ? "data-end-pending" : to_string(phase_);
}

std::string SessionCore::peer_text() const {
  return smtp::address_text(client_.peer()) + ":" + std::to_string(smtp::address_port(client_.peer()));
}

// ---------------------------------------------------------------------------------------------- lifecycle

void SessionCore::start(int accepted_fd) {
  Turn turn(*this);
  started_ns_ = uv_hrtime();
  for (auto* o : env_.observers) o->on_start(*this);
  if (client_.adopt_accepted(accepted_fd) != 0) {
    finish();
    return;
  }
  if (client_.peer().ss_family != AF_INET && client_.peer().ss_family != AF_INET6) {
    // Without the client's address the far side would be told nothing, and would see mxguard's own.
    spdlog::warn("[{}] client address unknown (connection already gone?): closed", id());
    finish();
    return;
  }
  if (!admit()) return;
  // Read from the start: a client that talks before the greeting is refused (early talker).
  client_.start_reading();
  if (implicit_tls_) {
    begin_client_tls(std::move(implicit_tls_));
    return;
  }
  on_accepted();
}

void SessionCore::drain() {
  Turn turn(*this);
  shutting_down_ = true;
  bool idle = phase_ == Phase::Command && replies_.empty() && unread_input().empty();
  if (idle || phase_ == Phase::Opening) fail(ReplyId::ShuttingDown, "server shutdown");
}

void SessionCore::shutdown() {
  Turn turn(*this);
  // A reply still owed may be the far side's acceptance of a message: wait for it (bounded by the reply
  // timers), or the client would retry a message that was delivered. Content still streaming is aborted.
  if (phase_ != Phase::Data && replies_.awaited() > 0) {
    end_after_owed_replies(ReplyId::ShuttingDown, "server shutdown: grace period over");
    return;
  }
  fail(ReplyId::ShuttingDown, "server shutdown: grace period over");
}

void SessionCore::enter_phase(Phase next) {
  if (finished_ || (phase_ == Phase::Closing && next != Phase::Closing)) return;   // the end is final
  if (next != phase_) {
    Phase from = phase_;
    spdlog::debug("[{}] {} -> {}", id(), to_string(from), to_string(next));
    phase_ = next;
    for (auto* o : env_.observers) o->on_state(*this, from, next);
  }
  arm_timer();
}

void SessionCore::end_after_owed_replies(ReplyId reply_id, const std::string& why) {
  if (phase_ == Phase::Closing || ending_) return;
  spdlog::warn("[{}] {}: closing after the replies still owed", id(), why);
  ending_ = true;   // nothing more the client sends is read or forwarded
  drop_client_input();
  client_.stop_reading();
  reply(reply_id, {}, /*closes=*/true);
}

void SessionCore::fail(ReplyId reply_id, const std::string& why) {
  fail_with(smtp::make_reply(reply_id, env_.hostname), why);
}

void SessionCore::fail_with(const smtp::Reply& last, const std::string& why) {
  if (phase_ == Phase::Closing) return;
  spdlog::warn("[{}] {} (state {}), closing", id(), why, state_name());
  replies_.clear();
  close_far();
  if (phase_ == Phase::TlsHandshake || client_gone_) {   // no way to say anything any more
    finish();
    return;
  }
  reply(last, /*closes=*/true);
}

void SessionCore::close_far() {
  if (far_) far_->close([this] { handle_closed(); });
  abandon_far_side();
}

void SessionCore::close_gracefully() {
  if (finished_) return;
  turn_slot_.cancel();
  enter_phase(Phase::Closing);   // arms the grace timer
  replies_.clear();
  close_far();
  client_.close_after_flush([this] {
    timer_.close([this] { handle_closed(); });
    on_client_closed();
  });
}

void SessionCore::finish() {
  if (!finished_) {
    finished_ = true;
    Phase from = phase_;
    phase_ = Phase::Closing;
    if (from != Phase::Closing) {
      for (auto* o : env_.observers) o->on_state(*this, from, Phase::Closing);
    }
  }
  turn_slot_.cancel();
  replies_.clear();
  client_.close([this] { on_client_closed(); });
  close_far();
  timer_.close([this] { handle_closed(); });
}

void SessionCore::on_client_closed() {
  if (client_eof_ && client_.flush_failed()) on_half_closed_client_lost();
  // The client is gone: its connection slot is free now, even if the far side still has to answer.
  if (admitted_) {
    env_.limiter->release(smtp::address_text(client_.peer()));
    admitted_ = false;
  }
  handle_closed();
}

void SessionCore::handle_closed() {
  if (--open_handles_ > 0) return;
  if (!tls_settled_ && greeted_) {
    notify_tls(TlsOutcome::not_established(audit::Verdict::Skipped, "client did not use STARTTLS"));
  }
  for (auto* o : env_.observers) o->on_end(*this);
  if (log_limiter_.suppressed() > 0) {
    spdlog::info("[{}] suppressed {} similar log line(s)", id(), log_limiter_.suppressed());
  }
  if (connect_logged_) spdlog::info("[{}] disconnect from {}{}", id(), peer_text(), tls_ ? " (TLS)" : "");
  auto done = std::move(env_.on_finished);
  done(*this);   // may destroy this session: nothing after this line
}

// ------------------------------------------------------------------------------------------------ timers

bool SessionCore::far_saturated() const { return far_ && far_->queued_bytes() > kHighWater; }

bool SessionCore::held_back_by_far() const {
  // Over the mark, or paused because of it and still waiting for the far side to take what is queued
  // (its queue shrinks only when a whole write completes, so it can dip under the mark while stalled).
  if (!far_ || far_->queued_bytes() == 0) return false;
  return far_saturated() || (reading_paused_ && !backlogged_ && !client_eof_ &&
                             client_.queued_bytes() <= kHighWater && replies_.size() < kMaxPipelined);
}

void SessionCore::arm_timer() {
  if (finished_) return;
  const config::Limits& l = limits();
  std::chrono::seconds timeout = l.command_timeout;
  switch (phase_) {
    case Phase::Opening: timeout = opening_timeout(); break;
    case Phase::TlsHandshake: timeout = l.tls_handshake_timeout; break;
    case Phase::Closing: timer_.start(kClosingGrace); return;
    case Phase::Data:
      // While the far side is not taking our bytes, the client is not the one to time.
      timeout = held_back_by_far() ? l.backend_write_timeout : l.data_block_timeout;
      break;
    case Phase::StarttlsPending:
    case Phase::DataPending:
    case Phase::Command:
      if (const Pending* waiting = replies_.first_awaited()) {
        timeout = waiting->data_end ? l.data_end_timeout : l.reply_timeout;
      } else if (held_back_by_far()) {
        timeout = l.backend_write_timeout;
      }
      break;
  }
  timer_.start(std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
}

void SessionCore::on_timeout() {
  switch (phase_) {
    case Phase::Opening:
      on_opening_timeout();
      return;
    case Phase::TlsHandshake:
      tls_abandoned(HandshakeFailure::Timeout, "handshake timed out");
      finish();
      return;
    case Phase::Closing:
      finish();
      return;
    default:
      break;
  }
  if (const Pending* waiting = replies_.first_awaited()) {
    bool data_end = waiting->data_end;   // `waiting` is not valid past anything that may push a reply
    if (!data_end && !client_gone_ && on_reply_timeout()) {
      arm_timer();
      return;
    }
    if (data_end) {
      on_delivery_unknown("did not answer in time (data_end_timeout " + std::to_string(limits().data_end_timeout.count()) +
                          "s)");
    }
    fail(ReplyId::FarSideTimeout,
         data_end ? "backend did not answer the end of data in time" : "backend did not reply in time");
  } else if (held_back_by_far()) {
    fail(ReplyId::FarSideTimeout, "backend stopped reading: nothing written to it for " +
                                      std::to_string(limits().backend_write_timeout.count()) + "s");
  } else {
    fail(ReplyId::ClientTimeout, "client timed out in state " + std::string(state_name()));
  }
}

// ------------------------------------------------------------------------------------- connection events

void SessionCore::on_connected(net::Connection& c, int status) {
  Turn turn(*this);
  if (&c != &client_) on_far_connected(status);
}

void SessionCore::on_data(net::Connection& c, std::string_view bytes) {
  Turn turn(*this);
  if (&c != &client_) {
    on_far_data(bytes);
    update_backpressure();
    if (client_gone_ && !replies_.awaiting_data_end()) finish();
    return;
  }
  on_client_data(bytes);
}

// The session's place in the loop's line came up (turn_queue.h): one more turn's share of its commands.
void SessionCore::run_queued_turn(void* session) {
  auto& self = *static_cast<SessionCore*>(session);
  if (self.finished_ || self.phase_ == Phase::Closing) return;
  Turn turn(self);   // a turn of its own: the replies it makes leave in one write
  self.run_command_turn();
}

void SessionCore::on_client_data(std::string_view bytes) {
  switch (phase_) {
    case Phase::Opening:
      // RFC 5321 §4.3.1: the client waits for the greeting. Spam bots don't; a real MTA never does.
      penalize_client("it talked before the greeting");
      fail(ReplyId::EarlyTalker, "early talker");
      return;
    case Phase::StarttlsPending:
      // Plaintext after STARTTLS and before our 220: an injection attempt (CVE-2011-0411 class).
      note_injection(bytes.size());
      return;
    case Phase::Closing:
      return;
    default:
      break;
  }
  if (ending_ || client_eof_) return;
  if (discard_bytes_ > 0) {
    std::size_t skip = std::min<std::uint64_t>(discard_bytes_, bytes.size());
    discard_bytes_ -= skip;
    bytes.remove_prefix(skip);
  }
  // Reading goes on only while no complete command waits (update_backpressure), so what is moved here
  // is at most the start of one line.
  if (client_pos_ > 0) {
    client_in_.erase(0, client_pos_);
    client_pos_ = 0;
  }
  client_in_.append(bytes);
  if (phase_ == Phase::Data) {
    arm_timer();   // content: the gap between chunks is what data_block_timeout bounds
    if (data_rate_too_low(bytes.size())) {
      fail(ReplyId::DataRateTooLow, "client sends message content slower than the minimum data rate");
      return;
    }
    process_data_input();
  } else {
    // Commands: no re-arming on partial lines. command_timeout is a deadline for a whole line, so a
    // client dripping one byte a second cannot hold the session (and a far-side connection) for hours.
    process_client_input();
  }
}

void SessionCore::on_eof(net::Connection& c) {
  Turn turn(*this);
  if (&c != &client_) {
    on_far_closed("closed the connection");
    return;
  }
  on_client_eof();
}

void SessionCore::on_client_eof() {
  switch (phase_) {
    case Phase::Opening:
    case Phase::StarttlsPending:
      finish();
      return;
    case Phase::TlsHandshake:
      tls_abandoned(HandshakeFailure::Eof, "client closed the connection during the handshake");
      finish();
      return;
    case Phase::Data:
      // The content can never end now. The client may still be reading: what it is owed is written.
      spdlog::info("[{}] client disconnected during DATA; the partial message is dropped", id());
      abort_far_content();
      close_gracefully();
      return;
    case Phase::Closing:
      return;
    case Phase::Command:
    case Phase::DataPending:
      break;
  }
  // A half-close: the client has said all it will say, but may still be reading. Every command it sent
  // runs to its reply (perhaps the far side's 250 to a message) before the session closes.
  client_eof_ = true;
  client_.stop_reading();
  reading_paused_ = true;
  process_client_input();
  maybe_close_after_client_eof();
}

void SessionCore::maybe_close_after_client_eof() {
  if (!client_eof_ || phase_ == Phase::Closing || finished_) return;
  if (phase_ == Phase::Data || phase_ == Phase::DataPending) return;   // begin_content decides
  if (!replies_.empty()) return;
  // Complete lines still buffered (processing paused by back-pressure, or waiting for the session's next
  // turn) are commands owed a reply.
  if (has_complete_line() && !ending_) return;
  // Whatever is left in the buffer is an unterminated line: never a command.
  close_gracefully();
}

void SessionCore::on_error(net::Connection& c, const std::string& reason) {
  Turn turn(*this);
  if (&c != &client_) {
    on_far_closed("connection error: " + reason);
    return;
  }
  on_client_lost(reason);
}

void SessionCore::on_client_lost(const std::string& reason) {
  // A reset that arrives with the last data is reported as EOF, so the loss shows only now, when a reply
  // could not be written: the direction learns which of its replies never arrived.
  if (client_eof_) on_half_closed_client_lost();
  if (phase_ == Phase::TlsHandshake) {
    tls_abandoned(HandshakeFailure::ConnectionError, "connection error during the handshake: " + reason);
  }
  if (phase_ != Phase::Data && replies_.awaiting_data_end() && !finished_) {
    // The message is complete and on the far side; its verdict is still to come. Hear it out and log it,
    // so the postmaster knows whether the mail the client will retry was in fact delivered.
    spdlog::info("[{}] client connection lost ({}) while the reply to its message is owed: waiting for it", id(),
                 reason);
    client_gone_ = true;
    drop_client_input();
    client_.close([this] { on_client_closed(); });
    arm_timer();
    return;
  }
  spdlog::info("[{}] client connection error: {}", id(), reason);
  if (phase_ == Phase::Data) abort_far_content();
  finish();
}

void SessionCore::on_drained(net::Connection& c) {
  Turn turn(*this);
  if (&c == &client_) on_client_caught_up();
  update_backpressure();
  if (phase_ == Phase::Closing) return;
  if (phase_ == Phase::Data) {
    if (!reading_paused_ || client_eof_) process_data_input();
  } else if (phase_ == Phase::Command) {
    // Whatever held the commands back may be gone now (the client took its replies, the far side its
    // bytes); process_client_input checks each condition itself. Reading may stay paused for a reason
    // that only processing removes (complete commands left over), so that is not a reason to wait.
    process_client_input();
  }
}

void SessionCore::on_tls_ready(net::Connection& c) {
  Turn turn(*this);
  if (&c != &client_) {
    on_far_tls_ready();
    return;
  }
  tls_ = true;
  tls::SessionInfo info = client_.tls()->info();
  spdlog::info("[{}] TLS established: {} {}{}", id(), info.version, info.cipher,
               info.sni.empty() ? "" : " sni=" + log_text::sanitize(info.sni));
  bool implicit = phase_ == Phase::TlsHandshake && !greeted_;
  TlsOutcome outcome = TlsOutcome::established(info.version, info.cipher, info.sni, implicit);
  outcome.handshake_time = handshake_time();
  notify_tls(outcome);
  if (implicit) {
    enter_phase(Phase::Opening);
    on_accepted();
    return;
  }
  enter_phase(Phase::Command);
  on_client_tls_ready();
  process_client_input();
}

void SessionCore::on_tls_failed(net::Connection& c, const std::string& reason) {
  Turn turn(*this);
  if (&c != &client_) {
    on_far_tls_failed(reason);
    return;
  }
  tls_abandoned(handshake_failure(client_.tls() ? client_.tls()->failure().kind : tls::FailureKind::None), reason);
  // The alert is already queued; give it a moment to leave, then close.
  close_gracefully();
}

void SessionCore::tls_abandoned(HandshakeFailure failure, const std::string& reason) {
  if (tls_settled_) return;
  spdlog::info("[{}] TLS handshake failed: {}", id(), log_text::sanitize(reason));
  TlsOutcome outcome = TlsOutcome::failed(failure, reason);
  outcome.handshake_time = handshake_time();
  notify_tls(outcome);
}

std::chrono::nanoseconds SessionCore::handshake_time() const {
  return std::chrono::nanoseconds(handshake_started_ns_ == 0 ? 0 : uv_hrtime() - handshake_started_ns_);
}

void SessionCore::notify_tls(const TlsOutcome& outcome) {
  if (tls_settled_) return;
  tls_settled_ = true;
  tls_verdict_ = outcome.verdict;
  for (auto* o : env_.observers) o->on_tls(*this, outcome);
}

void SessionCore::notify_starttls_offered() {
  if (starttls_offered_) return;
  starttls_offered_ = true;
  for (auto* o : env_.observers) o->on_starttls_offered(*this);
}

void SessionCore::notify_downgrade_refused() {
  for (auto* o : env_.observers) o->on_downgrade_refused(*this);
}

void SessionCore::begin_client_tls(bssl::UniquePtr<SSL> ssl) {
  if (!ssl) {
    fail(ReplyId::TlsUnavailableFatal, "cannot create a TLS session");
    return;
  }
  client_.start_tls(std::move(ssl));
  handshake_started_ns_ = uv_hrtime();
  enter_phase(Phase::TlsHandshake);
}

void SessionCore::update_backpressure() {
  if (phase_ == Phase::Closing || client_gone_) return;
  bool far_full = far_saturated();
  if (far_full != far_was_saturated_) {
    far_was_saturated_ = far_full;
    arm_timer();   // who is being timed changes with who is not keeping up
  }
  if (ending_ || client_eof_) {
    client_.stop_reading();
    return;
  }
  // Never read more from the client than the far side (or the client itself) is taking in.
  // Nor while complete commands wait for the session's next turn: what is buffered is at most one read,
  // and a client that sends without pause is read only as fast as its commands are handled.
  bool pause = far_full || client_.queued_bytes() > kHighWater || replies_.size() >= kMaxPipelined || backlogged_ ||
               unread_input().size() > std::max(limits().max_command_line, limits().max_data_line) + kHighWater;
  if (pause && !reading_paused_) {
    client_.stop_reading();
    reading_paused_ = true;
  } else if (!pause && reading_paused_) {
    client_.start_reading();
    reading_paused_ = false;
  }
  if (far_ && !far_->closing()) {
    if (client_.queued_bytes() > kHighWater) {
      far_->stop_reading();
    } else if (phase_ != Phase::Opening || replies_.first_awaited()) {   // connected
      far_->start_reading();
    }
  }
}

}  // namespace mxguard::session
