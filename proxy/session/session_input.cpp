// The session core's input side: command lines from the client through the verb table of the direction,
// message content through the smuggling filter, and every reply on its way back in command order.
#include <spdlog/spdlog.h>

#include "base/log_text.h"
#include "proxy/session/session_core.h"
#include "proxy/session/thresholds.h"

namespace mxguard::session {

using smtp::ReplyId;

namespace {
// Commands that do nothing toward a message (Postfix counts NOOP, VRFY, ETRN and RSET; HELP and EXPN are of
// the same kind). QUIT, HELO/EHLO, MAIL, RCPT, DATA and refused commands are limited elsewhere.
bool is_junk(smtp::Verb verb) {
  switch (verb) {
    case smtp::Verb::Noop:
    case smtp::Verb::Rset:
    case smtp::Verb::Vrfy:
    case smtp::Verb::Expn:
    case smtp::Verb::Help:
    case smtp::Verb::Etrn:
      return true;
    default:
      return false;
  }
}
}  // namespace

// --------------------------------------------------------------------------------------- client commands

std::string& SessionCore::client_input() {
  if (client_pos_ > 0) {
    client_in_.erase(0, client_pos_);
    client_pos_ = 0;
  }
  return client_in_;
}

void SessionCore::consume_input(std::size_t n) {
  client_pos_ += n;
  if (client_pos_ < client_in_.size()) return;
  // All consumed: an idle session keeps no buffer that a burst once needed.
  if (client_in_.capacity() > 4096) {
    std::string().swap(client_in_);
  } else {
    client_in_.clear();
  }
  client_pos_ = 0;
}

void SessionCore::drop_client_input() {
  client_in_.clear();
  client_pos_ = 0;
}

bool SessionCore::can_process_commands() const {
  // Commands in flight are bounded by the errors still allowed: were they all refused, the session would
  // reach max_errors and no further command may reach the far side (directory harvesting by pipelining).
  // At the limit, one more line is read: it gets the 421.
  const config::Limits& l = limits();
  bool within_error_budget = replies_.awaited() + errors_ < l.max_errors || errors_ >= l.max_errors;
  return phase_ == Phase::Command && !ending_ && !finished_ && can_take_commands() &&
         replies_.size() < kMaxPipelined && client_.queued_bytes() <= kHighWater && !far_saturated() &&
         within_error_budget;
}

void SessionCore::process_client_input() {
  // Called again from inside a turn (a direction's hook run by handle_line): the running turn goes on.
  if (in_command_turn_) return;
  if (backlogged_ && env_.turns) {
    // This session took its share last turn and still has commands waiting: it waits for its next turn in
    // line, so that a session that sends without pause cannot hold the loop from the others.
    if (can_process_commands() && !unread_input().empty()) turn_slot_.schedule();
    update_backpressure();
    maybe_close_after_client_eof();
    return;
  }
  run_command_turn();
}

void SessionCore::run_command_turn() {
  const config::Limits& l = limits();
  // Without a turn queue a turn takes all it can (as before fairness): nothing would ever come back for the rest.
  std::size_t max_lines = env_.turns ? kCommandsPerTurn : SIZE_MAX;
  std::size_t max_bytes = env_.turns ? kCommandBytesPerTurn : SIZE_MAX;
  std::size_t lines = 0, bytes = 0;
  in_command_turn_ = true;
  while (!unread_input().empty() && can_process_commands() && lines < max_lines && bytes < max_bytes) {
    smtp::CommandRead read = reader_.next(unread_input());
    // The line is a view into client_in_: copied before it is consumed, since handle_line may change the
    // buffer (a direction drops it at STARTTLS, or puts a line back in front).
    std::string line(read.line);
    consume_input(read.consumed);
    bytes += read.consumed;
    if (read.status == smtp::ReadStatus::NeedMore) {
      if (read.consumed == 0) break;
      continue;
    }
    ++lines;
    if (errors_ >= l.max_errors) {
      penalize_client("too many errors (limits.max_errors)");
      end_after_owed_replies(ReplyId::TooManyErrors, "too many errors");
      break;
    }
    if (read.status == smtp::ReadStatus::Refuse) {
      reply(read.refusal);
      continue;
    }
    handle_line(line, read.forbidden_control);
  }
  in_command_turn_ = false;
  // Commands left over: this turn's share is taken, and the session waits in line for its next one, with
  // reading stopped (update_backpressure). Left over because the far side or the client is behind, it
  // waits for them instead, and the event that says they caught up puts it in line.
  backlogged_ = phase_ == Phase::Command && !ending_ && has_complete_line();
  if (backlogged_ && env_.turns && can_process_commands()) turn_slot_.schedule();
  if (lines > 0) arm_timer();
  update_backpressure();
  maybe_close_after_client_eof();
}

void SessionCore::discard_client_bytes(std::uint64_t n) {
  std::size_t now = std::min<std::uint64_t>(n, unread_input().size());
  consume_input(now);
  discard_bytes_ = n - now;
}

std::optional<smtp::Command> SessionCore::command_for(std::string_view line, bool forbidden_control) {
  if (forbidden_control) {
    reply(ReplyId::InvalidCharacter);
    return std::nullopt;
  }
  smtp::Command command = smtp::classify(line);
  if (shutting_down_ && command.verb != smtp::Verb::Quit) {
    end_after_owed_replies(ReplyId::ShuttingDown, "server shutdown");
    return std::nullopt;
  }
  if (is_junk(command.verb) && ++junk_commands_ > limits().max_junk_commands) {
    // Postfix's smtpd_junk_command_limit, as a hard stop: these commands cost us (and, forwarded, the far
    // side) a reply each and move no mail. The one past the limit is never run; the replies still owed are.
    penalize_client("too many junk commands (limits.max_junk_commands)");
    end_after_owed_replies(ReplyId::TooManyJunkCommands,
                           "too many junk commands (" + std::to_string(limits().max_junk_commands) +
                               " NOOP, RSET, VRFY, EXPN, HELP or ETRN without a message accepted)");
    return std::nullopt;
  }
  return command;
}

bool SessionCore::check_hello_argument(const smtp::Command& c) {
  if (!c.args.empty()) return true;
  reply(c.verb == smtp::Verb::Ehlo ? ReplyId::SyntaxEhlo : ReplyId::SyntaxHelo);
  return false;
}

// ------------------------------------------------------------------------------------------- DATA phase

void SessionCore::begin_content(smtp::BareNewlines mode, std::uint64_t max_message_size) {
  if (ending_) {
    // The session is closing (grace over while DATA waited for its 354): no content is read any more, so
    // none may start; the far side drops the message and the closing reply goes out.
    abort_far_content();
    enter_phase(Phase::Command);
    flush_replies();
    return;
  }
  data_filter_.emplace(mode, limits().max_data_line, max_message_size);
  enter_phase(Phase::Data);
  data_started_ms_ = uv_now(env_.loop);
  data_bytes_ = 0;
  process_data_input();
  if (phase_ == Phase::Data && client_eof_) {
    // The client half-closed without sending the content: it can never end, so the message is dropped.
    spdlog::info("[{}] client closed before sending the message content; the partial message is dropped", id());
    abort_far_content();
    close_gracefully();   // the replies it is owed (up to the 354) still reach it
  }
}

void SessionCore::process_data_input() {
  if (!data_filter_ || phase_ == Phase::Closing) return;
  std::string out;
  bool had_failed = data_filter_->failed();
  smtp::DataFeed feed = data_filter_->feed(unread_input(), out);
  consume_input(feed.consumed);
  if (!data_filter_->failed()) {
    on_content_relayed(out);
    if (far_) {
      far_->write(out);
      content_bytes_ += out.size();
    }
  } else if (!had_failed) {
    // Part of the message already went out: only dropping the connection makes the far side discard it.
    spdlog::warn("[{}] message refused during DATA: {}", id(), smtp::to_string(data_filter_->error()));
    abort_far_content();
  }
  if (!feed.end_of_data) {
    update_backpressure();
    return;
  }
  if (data_filter_->normalized()) spdlog::info("[{}] bare CR/LF in message normalized", id());
  smtp::DataError error = data_filter_->error();
  std::uint64_t size = data_filter_->message_bytes();
  data_filter_.reset();
  enter_phase(Phase::Command);
  on_content_end(error, size);
  if (phase_ == Phase::Command) process_client_input();
}

bool SessionCore::data_rate_too_low(std::size_t more) {
  data_bytes_ += more;
  std::uint64_t min_rate = limits().min_data_rate;
  if (min_rate == 0) return false;
  // A start-up allowance, so a slow first packet (TCP slow start, a busy sender) is not punished.
  auto allowance_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(limits().min_data_rate_grace).count());
  std::uint64_t elapsed = uv_now(env_.loop) - data_started_ms_;
  if (elapsed < std::max<std::uint64_t>(allowance_ms, 1)) return false;
  return data_bytes_ * 1000 / elapsed < min_rate;
}

// ------------------------------------------------------------------------------------------------ replies

void SessionCore::reply(ReplyId reply_id, std::string_view detail, bool closes) {
  reply(smtp::make_reply(reply_id, env_.hostname, detail), closes);
}

void SessionCore::reply(smtp::Reply r, bool closes) {
  // Every refusal of ours counts toward max_errors, 4xx too (as Postfix's error limits count them): a
  // client that makes us say 452 in a loop is as much a problem as one that makes us say 500.
  if (r.code >= 400) ++errors_;
  replies_.push_local(std::move(r), closes);
  flush_replies();
}

void SessionCore::queue_starttls_ready() {
  replies_.push_local(smtp::make_reply(ReplyId::ReadyToStartTls, env_.hostname), false, /*starts_tls=*/true);
  flush_replies();
}

void SessionCore::relay(const smtp::Reply& r) {
  if (r.code >= 500) ++errors_;
  send(r, ReplyOrigin::FarSide);
}

void SessionCore::send(const smtp::Reply& r, ReplyOrigin origin) {
  if (r.code >= 400 && log_limiter_.allow(r.code)) {
    spdlog::info("[{}] reply {} {}", id(), r.code, log_text::sanitize(r.lines.empty() ? "" : r.lines.front()));
  }
  for (auto* o : env_.observers) o->on_reply(*this, r, origin);
  if (!client_gone_) client_.write(r.serialize());
}

void SessionCore::flush_replies() {
  while (!replies_.empty() && !replies_.front().awaited() && phase_ != Phase::Closing) {
    Pending p = replies_.pop();
    send(p.local, ReplyOrigin::Local);
    if (p.starts_tls) {
      // The 220 is queued in plaintext; every byte after it is TLS (the connection sends the corked
      // plaintext before it switches).
      begin_client_tls(new_client_tls());
      return;
    }
    if (p.closes) {
      close_gracefully();
      return;
    }
  }
  maybe_close_after_client_eof();
}

void SessionCore::note_injection(std::size_t bytes) {
  if (injected_bytes_ == 0) {
    spdlog::warn("[{}] {} plaintext bytes pipelined after STARTTLS discarded (injection attempt)", id(), bytes);
    if (env_.audit) {
      env_.audit->write(audit::Event(audit::EventKind::PlaintextInjection, env_.direction, id(), peer_text())
                            .verdict(audit::Verdict::Discarded)
                            .set("bytes", static_cast<std::int64_t>(bytes))
                            .reason("plaintext pipelined after STARTTLS"));
    }
  }
  injected_bytes_ += bytes;
}

}  // namespace mxguard::session
