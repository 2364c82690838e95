#include "proxy/inbound/inbound_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "proxy/smtp/ehlo_rewriter.h"
#include "proxy/smtp/line_reader.h"
#include "proxy/smtp/proxy_header.h"

namespace mxguard::inbound {

using smtp::Verb;
using namespace std::chrono_literals;

namespace {
// Peer-supplied text for the process log: one line, printable ASCII only, bounded.
std::string printable(std::string_view s) {
  std::string out;
  for (char ch : s.substr(0, 256)) out.push_back(ch >= 0x20 && ch < 0x7f ? ch : '?');
  return out;
}

// Back-pressure thresholds. Past them the session stops reading the side that produces more work until the
// other side has caught up; nothing is buffered without bound.
constexpr std::size_t kHighWater = 256 * 1024;   // bytes queued toward a peer
constexpr std::size_t kMaxPipelined = 100;       // commands awaiting replies
constexpr auto kClosingGrace = 10s;              // to write the last reply before the socket is dropped

}  // namespace

std::string_view to_string(State s) {
  switch (s) {
    case State::Resolving: return "resolving";
    case State::ConnectingBackend: return "connecting-backend";
    case State::BackendGreeting: return "backend-greeting";
    case State::Command: return "command";
    case State::StarttlsPending: return "starttls-pending";
    case State::TlsHandshake: return "tls-handshake";
    case State::DataPending: return "data-pending";
    case State::Data: return "data";
    case State::Closing: return "closing";
  }
  return "?";
}

// The command table. Verbs not listed are refused as unrecognized.
const InboundSession::VerbRule InboundSession::kVerbRules[] = {
    {Verb::Helo, &InboundSession::check_helo, &InboundSession::proceed_helo},
    {Verb::Ehlo, &InboundSession::check_helo, &InboundSession::proceed_ehlo},
    {Verb::Starttls, &InboundSession::check_starttls, &InboundSession::proceed_starttls},
    {Verb::Mail, &InboundSession::check_mail, &InboundSession::proceed_mail},
    {Verb::Rcpt, &InboundSession::check_rcpt, &InboundSession::proceed_rcpt},
    {Verb::Data, &InboundSession::check_always, &InboundSession::proceed_data},
    {Verb::Rset, &InboundSession::check_always, &InboundSession::proceed_rset},
    {Verb::Noop, &InboundSession::check_always, &InboundSession::proceed_forward},
    {Verb::Vrfy, &InboundSession::check_always, &InboundSession::proceed_forward},
    {Verb::Expn, &InboundSession::check_always, &InboundSession::proceed_forward},
    {Verb::Help, &InboundSession::check_always, &InboundSession::proceed_forward},
    {Verb::Etrn, &InboundSession::check_always, &InboundSession::proceed_forward},
    {Verb::Auth, &InboundSession::check_auth, &InboundSession::proceed_auth},
    {Verb::Quit, &InboundSession::check_always, &InboundSession::proceed_quit},
    {Verb::Bdat, &InboundSession::check_bdat, nullptr},
    {Verb::Xclient, &InboundSession::check_refused_verb, nullptr},
    {Verb::Xforward, &InboundSession::check_refused_verb, nullptr},
};

InboundSession::InboundSession(SessionEnvironment env)
    : env_(std::move(env)),
      settings_(*env_.settings),
      client_(env_.loop, *this),
      backend_(env_.loop, *this),
      timer_(env_.loop, [this] { on_timeout(); }) {
  open_handles_ = 3;   // client_, backend_, timer_: on_finished waits for all three close callbacks
}

InboundSession::~InboundSession() = default;

std::string InboundSession::peer_text() const {
  return smtp::address_text(client_.peer()) + ":" + std::to_string(smtp::address_port(client_.peer()));
}

// ---------------------------------------------------------------------------------------------- lifecycle

void InboundSession::start(uv_stream_t* listener) {
  if (client_.accept_from(listener) != 0) {
    finish();
    return;
  }
  if (client_.peer().ss_family != AF_INET && client_.peer().ss_family != AF_INET6) {
    // Without the client's address the backend would be told nothing, and would see mxguard's own.
    spdlog::warn("[{}] client address unknown (connection already gone?): closed", id());
    finish();
    return;
  }
  spdlog::info("[{}] connect from {}", id(), peer_text());
  if (env_.limiter) {
    const config::Limits& l = settings_.inbound.limits;
    auto verdict = env_.limiter->acquire(smtp::address_text(client_.peer()), l.max_connections, l.max_connections_per_ip);
    if (verdict != ConnectionLimiter::Verdict::Admitted) {
      spdlog::warn("[{}] refused: too many connections{}", id(),
                   verdict == ConnectionLimiter::Verdict::TooManyFromAddress ? " from this address" : "");
      reply(421, "4.7.0", settings_.hostname + " Error: too many connections, try again later", /*closes=*/true);
      return;
    }
    admitted_ = true;
  }
  // Read from the start: a client that talks before the greeting is refused (early talker).
  client_.start_reading();
  resolve_backend();
}

void InboundSession::resolve_backend() {
  const config::Endpoint& backend = settings_.inbound.backend;
  sockaddr_storage addr{};
  if (uv_ip4_addr(backend.host.c_str(), backend.port, reinterpret_cast<sockaddr_in*>(&addr)) == 0 ||
      uv_ip6_addr(backend.host.c_str(), backend.port, reinterpret_cast<sockaddr_in6*>(&addr)) == 0) {
    connect_backend(reinterpret_cast<const sockaddr*>(&addr));
    return;
  }
  enter_state(State::Resolving);
  resolve_req_ = std::make_unique<uv_getaddrinfo_t>();
  resolve_req_->data = this;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  ++open_handles_;   // the request must come back before the session may be destroyed
  int rc = uv_getaddrinfo(
      env_.loop, resolve_req_.get(),
      [](uv_getaddrinfo_t* req, int status, addrinfo* res) {
        auto* self = static_cast<InboundSession*>(req->data);
        self->resolve_cancelled_ = true;   // done: nothing left to cancel
        std::unique_ptr<addrinfo, decltype(&uv_freeaddrinfo)> result(res, &uv_freeaddrinfo);
        if (self->state_ == State::Resolving) {
          if (status != 0 || !res) {
            self->backend_unavailable("cannot resolve backend " + self->settings_.inbound.backend.text + ": " +
                                      uv_strerror(status));
          } else {
            auto* addr = res->ai_addr;
            if (addr->sa_family == AF_INET) reinterpret_cast<sockaddr_in*>(addr)->sin_port = htons(self->settings_.inbound.backend.port);
            if (addr->sa_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(addr)->sin6_port = htons(self->settings_.inbound.backend.port);
            self->connect_backend(addr);
          }
        }
        self->on_handle_closed();
      },
      backend.host.c_str(), nullptr, &hints);
  if (rc != 0) {
    --open_handles_;
    backend_unavailable("cannot resolve backend " + backend.text + ": " + uv_strerror(rc));
  }
}

void InboundSession::connect_backend(const sockaddr* addr) {
  enter_state(State::ConnectingBackend);
  int rc = backend_.connect(addr);
  if (rc != 0) backend_unavailable(std::string("connect: ") + uv_strerror(rc));
}

void InboundSession::on_connected(net::Connection&, int status) {
  if (state_ != State::ConnectingBackend) return;
  if (status != 0) {
    backend_unavailable(std::string("cannot connect to backend ") + settings_.inbound.backend.text + ": " +
                        uv_strerror(status));
    return;
  }
  switch (settings_.inbound.backend_protocol) {
    case config::BackendProtocol::ProxyV1:
      backend_.write(smtp::proxy_v1_header(client_.peer(), client_.local()));
      break;
    case config::BackendProtocol::ProxyV2:
      backend_.write(smtp::proxy_v2_header(client_.peer(), client_.local()));
      break;
    default:
      break;
  }
  pending_.push_back({settings_.inbound.backend_protocol == config::BackendProtocol::Xclient
                          ? Expect::XclientGreeting
                          : Expect::Greeting});
  backend_.start_reading();
  enter_state(State::BackendGreeting);
}

void InboundSession::backend_unavailable(const std::string& why) {
  fail(421, "4.3.2", settings_.hostname + " Service not available, try again later",
       "backend unavailable: " + why);
}

void InboundSession::shutdown() {
  // A reply still owed may be the backend's acceptance of a message: wait for it (bounded by the reply
  // timers), or the client would retry a message that was delivered. Content still streaming is aborted.
  if (state_ != State::Data && backend_outstanding() > 0) {
    end_after_owed_replies(421, "4.3.2", settings_.hostname + " Service shutting down, closing transmission channel",
                           "server shutdown: grace period over");
    return;
  }
  fail(421, "4.3.2", settings_.hostname + " Service shutting down, closing transmission channel",
       "server shutdown: grace period over");
}

void InboundSession::end_after_owed_replies(int code, std::string_view enhanced, std::string_view text,
                                            const std::string& why) {
  if (state_ == State::Closing || ending_) return;
  spdlog::warn("[{}] {}: closing after the replies still owed", id(), why);
  ending_ = true;   // nothing more the client sends is read or forwarded
  client_in_.clear();
  client_.stop_reading();
  reply(code, enhanced, text, /*closes=*/true);
}

void InboundSession::drain() {
  shutting_down_ = true;
  bool idle = state_ == State::Command && pending_.empty() && client_in_.empty();
  if (idle || state_ < State::Command) {
    fail(421, "4.3.2", settings_.hostname + " Service shutting down, closing transmission channel",
         "server shutdown");
  }
}

void InboundSession::fail(int code, std::string_view enhanced, std::string_view text, const std::string& why) {
  if (state_ == State::Closing) return;
  spdlog::warn("[{}] {} (state {}), closing", id(), why, to_string(state_));
  pending_.clear();
  backend_.close([this] { on_handle_closed(); });
  if (state_ == State::TlsHandshake) {   // no way to say anything in plaintext any more
    finish();
    return;
  }
  reply(code, enhanced, text, /*closes=*/true);
}

void InboundSession::close_gracefully() {
  if (finished_) return;
  cancel_resolve();
  enter_state(State::Closing);   // arms the grace timer
  pending_.clear();
  backend_.close([this] { on_handle_closed(); });
  client_.close_after_flush([this] {
    timer_.close([this] { on_handle_closed(); });
    on_client_closed();
  });
}

void InboundSession::cancel_resolve() {
  // A lookup already running in the thread pool can't be cancelled; its callback sees state Closing.
  if (resolve_req_ && !resolve_cancelled_) {
    uv_cancel(reinterpret_cast<uv_req_t*>(resolve_req_.get()));
    resolve_cancelled_ = true;
  }
}

void InboundSession::on_client_closed() {
  // The client is gone: its connection slot is free now, even if a backend lookup still has to return.
  if (admitted_) {
    env_.limiter->release(smtp::address_text(client_.peer()));
    admitted_ = false;
  }
  on_handle_closed();
}

void InboundSession::finish() {
  cancel_resolve();
  finished_ = true;
  state_ = State::Closing;
  pending_.clear();
  client_.close([this] { on_client_closed(); });
  backend_.close([this] { on_handle_closed(); });
  timer_.close([this] { on_handle_closed(); });
}

void InboundSession::on_handle_closed() {
  if (--open_handles_ > 0) return;
  audit_tls_skipped_if_needed();
  spdlog::info("[{}] disconnect from {}{}", id(), peer_text(), tls_ ? " (TLS)" : "");
  auto done = std::move(env_.on_finished);
  done(*this);   // may destroy this session: nothing after this line
}

void InboundSession::audit_tls_skipped_if_needed() {
  // One TLS verdict per session: a failed handshake was already audited as "failed".
  if (tls_ || tls_failed_ || !greeted_ || !env_.audit) return;
  env_.audit->write(audit::Event("starttls", "inbound", id(), peer_text())
                        .set("verdict", "skipped")
                        .set("reason", "client did not use STARTTLS"));
}

void InboundSession::enter_state(State next) {
  if (finished_ || (state_ == State::Closing && next != State::Closing)) return;   // the end is final
  if (next != state_) {
    spdlog::debug("[{}] {} -> {}", id(), to_string(state_), to_string(next));
    state_ = next;
  }
  arm_timer();
}

// ------------------------------------------------------------------------------------------------ timers

void InboundSession::arm_timer() {
  if (finished_) return;
  const config::Limits& l = settings_.inbound.limits;
  std::chrono::seconds timeout = l.command_timeout;
  switch (state_) {
    case State::Resolving:
    case State::ConnectingBackend: timeout = l.backend_connect_timeout; break;
    case State::BackendGreeting: timeout = l.greeting_timeout; break;
    case State::TlsHandshake: timeout = l.tls_handshake_timeout; break;
    case State::Data: timeout = l.data_block_timeout; break;
    case State::Closing: timer_.start(kClosingGrace); return;
    case State::StarttlsPending:
    case State::DataPending:
    case State::Command: {
      auto waiting = std::find_if(pending_.begin(), pending_.end(), [](const Pending& p) { return p.expect != Expect::Local; });
      if (waiting != pending_.end()) timeout = waiting->expect == Expect::DataEnd ? l.data_end_timeout : l.reply_timeout;
      break;
    }
  }
  timer_.start(std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
}

void InboundSession::on_timeout() {
  switch (state_) {
    case State::Resolving:
    case State::ConnectingBackend:
      backend_unavailable("timed out connecting to backend " + settings_.inbound.backend.text);
      return;
    case State::BackendGreeting:
      backend_unavailable("no greeting from backend " + settings_.inbound.backend.text + " in time");
      return;
    case State::TlsHandshake:
      tls_abandoned("handshake timed out");
      finish();
      return;
    case State::Closing:
      finish();
      return;
    default:
      break;
  }
  bool waiting_for_backend = std::any_of(pending_.begin(), pending_.end(), [](const Pending& p) { return p.expect != Expect::Local; });
  if (waiting_for_backend) {
    fail(421, "4.4.2", settings_.hostname + " Mail server timed out, closing transmission channel",
         "backend did not reply in time");
  } else {
    fail(421, "4.4.2", settings_.hostname + " Error: timeout exceeded", "client timed out in state " + std::string(to_string(state_)));
  }
}

// ------------------------------------------------------------------------------------- connection events

void InboundSession::on_data(net::Connection& c, std::string_view bytes) {
  if (&c == &backend_) {
    backend_in_.append(bytes);
    process_backend_input();
    return;
  }
  switch (state_) {
    case State::Resolving:
    case State::ConnectingBackend:
    case State::BackendGreeting:
      // RFC 5321 §4.3.1: the client waits for the greeting. Spam bots don't; a real MTA never does.
      fail(554, "5.5.1", "Protocol error: client spoke before the greeting", "early talker");
      return;
    case State::StarttlsPending:
      // Plaintext after STARTTLS and before our 220: an injection attempt (CVE-2011-0411 class).
      note_injection(bytes.size());
      return;
    case State::Closing:
      return;
    default:
      break;
  }
  if (ending_) return;
  if (discard_bytes_ > 0) {
    std::size_t skip = std::min<std::uint64_t>(discard_bytes_, bytes.size());
    discard_bytes_ -= skip;
    bytes.remove_prefix(skip);
  }
  client_in_.append(bytes);
  arm_timer();
  if (state_ == State::Data) {
    if (data_rate_too_low(bytes.size())) {
      fail(421, "4.4.2", settings_.hostname + " Error: data rate too low, closing",
           "client sends message content slower than inbound.limits.min_data_rate");
      return;
    }
    process_data_input();
  } else {
    process_client_input();
  }
}

void InboundSession::on_eof(net::Connection& c) {
  if (&c == &backend_) {
    if (state_ < State::Command) {
      backend_unavailable("backend closed the connection before greeting");
    } else {
      fail(421, "4.4.2", settings_.hostname + " Connection to the mail server lost, closing",
           "backend closed the connection");
    }
    return;
  }
  if (state_ == State::Data || state_ == State::DataPending) {
    spdlog::info("[{}] client disconnected during DATA; the partial message is dropped", id());
  }
  if (state_ == State::TlsHandshake) tls_abandoned("client closed the connection during the handshake");
  finish();
}

void InboundSession::on_error(net::Connection& c, const std::string& reason) {
  if (&c == &backend_) {
    fail(421, "4.4.2", settings_.hostname + " Connection to the mail server lost, closing",
         "backend connection error: " + reason);
    return;
  }
  spdlog::info("[{}] client connection error: {}", id(), reason);
  if (state_ == State::TlsHandshake) tls_abandoned("connection error during the handshake: " + reason);
  finish();
}

void InboundSession::on_drained(net::Connection&) {
  update_backpressure();
  if (reading_paused_ || state_ == State::Closing) return;
  if (state_ == State::Data) {
    process_data_input();
  } else if (state_ == State::Command) {
    process_client_input();
  }
}

void InboundSession::update_backpressure() {
  if (state_ == State::Closing) return;
  if (ending_) {
    client_.stop_reading();
    return;
  }
  // Never read more from the client than the backend (or the client itself) is taking in.
  bool pause = backend_.queued_bytes() > kHighWater || client_.queued_bytes() > kHighWater ||
               pending_.size() >= kMaxPipelined ||
               client_in_.size() > std::max(settings_.inbound.limits.max_command_line,
                                            settings_.inbound.limits.max_data_line) + kHighWater;
  if (pause && !reading_paused_) {
    client_.stop_reading();
    reading_paused_ = true;
  } else if (!pause && reading_paused_) {
    client_.start_reading();
    reading_paused_ = false;
  }
  if (client_.queued_bytes() > kHighWater) {
    backend_.stop_reading();
  } else if (state_ >= State::BackendGreeting) {
    backend_.start_reading();
  }
}

// --------------------------------------------------------------------------------------- client commands

void InboundSession::process_client_input() {
  const config::Limits& limits = settings_.inbound.limits;
  // Commands in flight are bounded by the errors still allowed: were they all refused, the session would
  // reach max_errors and no further command may reach the backend (directory harvesting by pipelining).
  auto within_error_budget = [&] { return backend_outstanding() + errors_ < limits.max_errors; };
  while (!client_in_.empty() && state_ == State::Command && !auth_pending_ && !ending_ &&
         pending_.size() < kMaxPipelined && (within_error_budget() || errors_ >= limits.max_errors)) {
    if (skipping_long_line_) {
      smtp::SkipResult skip = smtp::skip_to_line_end(client_in_);
      client_in_.erase(0, skip.consumed);
      skipping_long_line_ = !skip.found_end;
      continue;
    }
    smtp::LineResult line = smtp::next_line(client_in_, limits.max_command_line);
    if (line.status == smtp::LineStatus::NeedMore) break;
    if (line.status == smtp::LineStatus::TooLong) {
      client_in_.erase(0, line.consumed);
      skipping_long_line_ = !line.terminated;
      reply(500, "5.5.2", "Error: line too long");
      continue;
    }
    std::string text(line.line);
    client_in_.erase(0, line.consumed);
    if (line.bare_lf) {
      // A bare LF would end the line for some backends and not for others: never pass it on.
      reply(500, "5.5.2", "Error: bare LF in command line");
      continue;
    }
    handle_command_line(text);
  }
  update_backpressure();
}

std::size_t InboundSession::backend_outstanding() const {
  return static_cast<std::size_t>(
      std::count_if(pending_.begin(), pending_.end(), [](const Pending& p) { return p.expect != Expect::Local; }));
}

void InboundSession::handle_command_line(std::string_view line) {
  if (errors_ >= settings_.inbound.limits.max_errors) {
    end_after_owed_replies(421, "4.7.0", settings_.hostname + " Error: too many errors", "too many errors");
    return;
  }
  if (auth_continuation_) {   // the client's answer to a 334 challenge: not a command
    auth_continuation_ = false;
    // Control bytes never reach the backend; "*" cancels the exchange (RFC 4954) and keeps it in step.
    send_to_backend(smtp::has_forbidden_control(line) ? std::string("*\r\n") : std::string(line) + "\r\n",
                    Expect::Auth);
    auth_pending_ = true;
    return;
  }
  if (smtp::has_forbidden_control(line)) {
    reply(500, "5.5.2", "Error: invalid character in command");
    return;
  }
  smtp::Command command = smtp::classify(line);
  if (shutting_down_ && command.verb != Verb::Quit) {
    end_after_owed_replies(421, "4.3.2", settings_.hostname + " Service shutting down, closing transmission channel",
                           "server shutdown");
    return;
  }
  const VerbRule* rule = std::find_if(std::begin(kVerbRules), std::end(kVerbRules),
                                      [&](const VerbRule& r) { return r.verb == command.verb; });
  if (rule == std::end(kVerbRules)) {
    reply(500, "5.5.2", "Error: command not recognized");
    return;
  }
  if (!(this->*(rule->check))(command)) return;
  (this->*(rule->proceed))(command, line);
}

bool InboundSession::check_helo(const smtp::Command& c) {
  if (c.args.empty()) {
    reply(501, "5.5.4", c.verb == Verb::Ehlo ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
    return false;
  }
  return true;
}

bool InboundSession::check_starttls(const smtp::Command& c) {
  if (!c.args.empty()) {
    reply(501, "5.5.4", "Syntax: STARTTLS");
    return false;
  }
  if (tls_) {
    reply(554, "5.5.1", "Error: TLS already active");
    return false;
  }
  if (!settings_.tls) {
    reply(454, "4.7.0", "TLS not available due to temporary reason");
    return false;
  }
  return true;
}

bool InboundSession::check_mail(const smtp::Command& c) {
  if (tls_ && !helo_after_tls_) {
    // RFC 3207 §4.2: the client must start over with EHLO; what it said before TLS is forgotten.
    reply(503, "5.5.1", "Error: send HELO/EHLO first");
    return false;
  }
  if (tls_) return true;
  if (settings_.inbound.require_tls) {
    reply(530, "5.7.0", "Must issue a STARTTLS command first");
    return false;
  }
  if (!settings_.inbound.require_tls_from.empty()) {
    std::optional<std::string> domain = smtp::mail_from_domain(c.args);
    if (!domain) {
      // A backend may read a sender out of sloppy syntax that our strict parser rejects
      // ("MAIL FROM:x@bank.example"); letting that through would let a listed domain dodge the check.
      reply(501, "5.1.7", "Bad sender address syntax");
      return false;
    }
    if (domain->ends_with('.')) domain->pop_back();   // "bank.example." is bank.example
    const auto& listed = settings_.inbound.require_tls_from;
    if (std::find(listed.begin(), listed.end(), *domain) != listed.end()) {
      // This sender always uses TLS with us: plaintext means someone stripped STARTTLS on the way.
      spdlog::warn("[{}] MAIL FROM domain {} without TLS: refused as a downgrade attempt", id(), *domain);
      if (env_.audit) {
        env_.audit->write(audit::Event("downgrade-attempt", "inbound", id(), peer_text())
                              .set("domain", *domain)
                              .set("verdict", "refused")
                              .set("reason", "starttls-not-supported"));
      }
      reply(530, "5.7.0", "Must issue a STARTTLS command first: TLS is required for mail from " + *domain);
      return false;
    }
  }
  return true;
}

bool InboundSession::check_rcpt(const smtp::Command&) {
  if (recipients_ >= settings_.inbound.limits.max_recipients) {
    reply(452, "4.5.3", "Error: too many recipients");
    return false;
  }
  ++recipients_;
  return true;
}

bool InboundSession::check_auth(const smtp::Command&) {
  if (!tls_) {
    // Credentials never cross the internet in plaintext; AUTH is not even advertised before TLS.
    reply(530, "5.7.0", "Must issue a STARTTLS command first");
    return false;
  }
  return true;
}

bool InboundSession::check_bdat(const smtp::Command& c) {
  // CHUNKING is not offered. The chunk that follows must be skipped, not read as commands.
  std::string_view size_text = c.args.substr(0, c.args.find(' '));
  std::uint64_t size = 0;
  auto [end, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size);
  if (ec != std::errc() || end != size_text.data() + size_text.size() || size_text.empty()) {
    end_after_owed_replies(554, "5.5.1", "Error: BDAT not supported", "BDAT with an unparsable size");
    return false;
  }
  std::size_t now = std::min<std::uint64_t>(size, client_in_.size());
  client_in_.erase(0, now);
  discard_bytes_ = size - now;
  reply(502, "5.5.1", "Error: BDAT not supported");
  return false;
}

bool InboundSession::check_refused_verb(const smtp::Command& c) {
  spdlog::warn("[{}] client sent {}: refused", id(), smtp::to_string(c.verb));
  reply(502, "5.5.1", "Error: command not implemented");
  return false;
}

void InboundSession::proceed_forward(const smtp::Command&, std::string_view line) {
  send_to_backend(std::string(line) + "\r\n", Expect::Relay);
}

void InboundSession::proceed_helo(const smtp::Command& c, std::string_view line) {
  reset_transaction();
  send_to_backend(std::string(line) + "\r\n", Expect::Helo);
}

void InboundSession::proceed_ehlo(const smtp::Command& c, std::string_view line) {
  reset_transaction();
  send_to_backend(std::string(line) + "\r\n", Expect::Ehlo);
}

void InboundSession::proceed_mail(const smtp::Command& c, std::string_view line) {
  reset_transaction();
  // Only printable ASCII reaches the log, and not too much of it.
  std::string_view path = c.args.substr(0, c.args.find(' ', c.args.find('>') == std::string_view::npos ? 0 : c.args.find('>')));
  if (path.size() >= 5 && (path.substr(0, 5) == "FROM:" || path.substr(0, 5) == "from:")) path.remove_prefix(5);
  mail_from_ = "from=" + printable(path);
  send_to_backend(std::string(line) + "\r\n", Expect::Mail);
}

void InboundSession::proceed_rcpt(const smtp::Command&, std::string_view line) {
  send_to_backend(std::string(line) + "\r\n", Expect::Rcpt);
}

void InboundSession::reset_transaction() {
  recipients_ = 0;
  accepted_recipients_ = 0;
  mail_from_.clear();
}

void InboundSession::log_delivery(const smtp::Reply& reply) {
  // The postmaster's line: who sent what to how many, over what, and what the legacy server said.
  spdlog::info("[{}] message {} {} recipient(s), {} bytes, {}: backend said {} {}", id(), mail_from_,
               accepted_recipients_, last_message_size_,
               tls_ ? std::string(client_.tls()->info().version) : std::string("plaintext"), reply.code,
               reply.lines.empty() ? "" : reply.lines.front());
  reset_transaction();
}

void InboundSession::proceed_rset(const smtp::Command&, std::string_view line) {
  reset_transaction();
  send_to_backend(std::string(line) + "\r\n", Expect::Relay);
}

void InboundSession::proceed_auth(const smtp::Command&, std::string_view line) {
  auth_pending_ = true;   // its reply decides whether the next line is a command or a SASL answer
  send_to_backend(std::string(line) + "\r\n", Expect::Auth);
}

void InboundSession::proceed_quit(const smtp::Command&, std::string_view line) {
  send_to_backend("QUIT\r\n", Expect::Quit);
}

void InboundSession::proceed_data(const smtp::Command&, std::string_view line) {
  send_to_backend("DATA\r\n", Expect::Data);
  enter_state(State::DataPending);
}

void InboundSession::proceed_starttls(const smtp::Command&, std::string_view) {
  // RFC 3207 §4.2 / CVE-2011-0411: anything pipelined behind STARTTLS was sent in plaintext and must not
  // be executed after the handshake. Drop it.
  if (!client_in_.empty()) {
    note_injection(client_in_.size());
    client_in_.clear();
  }
  skipping_long_line_ = false;
  // The backend forgets any transaction begun in plaintext before the TLS session goes on.
  send_to_backend("RSET\r\n", Expect::InternalRset);
  Pending ready{Expect::Local};
  ready.local = smtp::Reply{220, {"2.0.0 Ready to start TLS"}};
  ready.starts_tls = true;
  pending_.push_back(std::move(ready));
  enter_state(State::StarttlsPending);
  flush_replies();
}

void InboundSession::note_injection(std::size_t bytes) {
  if (injected_bytes_ == 0) {
    spdlog::warn("[{}] {} plaintext bytes pipelined after STARTTLS discarded (injection attempt)", id(), bytes);
    if (env_.audit) {
      env_.audit->write(audit::Event("plaintext-injection", "inbound", id(), peer_text())
                            .set("verdict", "discarded")
                            .set("bytes", static_cast<std::int64_t>(bytes))
                            .set("reason", "plaintext pipelined after STARTTLS"));
    }
  }
  injected_bytes_ += bytes;
}

void InboundSession::send_to_backend(std::string_view bytes, Expect expect) {
  pending_.push_back({expect});
  backend_.write(bytes);
  arm_timer();
}

// ------------------------------------------------------------------------------------------- DATA phase

void InboundSession::process_data_input() {
  if (!data_filter_ || state_ == State::Closing) return;
  std::string out;
  bool had_failed = data_filter_->failed();
  smtp::DataFeed feed = data_filter_->feed(client_in_, out);
  client_in_.erase(0, feed.consumed);
  if (!data_filter_->failed()) {
    backend_.write(out);
  } else if (!had_failed) {
    // Part of the message already went out: only dropping the connection makes the backend discard it.
    spdlog::warn("[{}] message refused during DATA: {}", id(), data_error_text(data_filter_->error()));
    pending_.erase(std::remove_if(pending_.begin(), pending_.end(), [](const Pending& p) { return p.expect != Expect::Local; }),
                   pending_.end());
    backend_.close([this] { on_handle_closed(); });
  }
  if (!feed.end_of_data) {
    update_backpressure();
    return;
  }
  if (data_filter_->normalized()) spdlog::info("[{}] bare CR/LF in message normalized", id());
  smtp::DataError error = data_filter_->error();
  last_message_size_ = data_filter_->message_bytes();
  data_filter_.reset();
  enter_state(State::Command);
  if (error == smtp::DataError::None) {
    pending_.push_back({Expect::DataEnd});
    arm_timer();
    process_client_input();
    return;
  }
  switch (error) {
    case smtp::DataError::MessageTooBig:
      reply(552, "5.3.4", "Error: message size exceeds fixed maximum message size");
      break;
    case smtp::DataError::LineTooLong:
      reply(552, "5.3.4", "Error: message line too long");
      break;
    case smtp::DataError::Nul:
      reply(550, "5.6.0", "Error: message contains NUL characters");
      break;
    default:
      reply(550, "5.5.2", "Error: message contains bare CR or LF characters (SMTP smuggling protection)");
      break;
  }
  // The backend connection is gone with the aborted message; the client retries the rest later.
  fail(421, "4.3.0", settings_.hostname + " Closing transmission channel after the refused message",
       "backend connection dropped to abort the refused message");
}

bool InboundSession::data_rate_too_low(std::size_t more) {
  data_bytes_ += more;
  std::uint64_t min_rate = settings_.inbound.limits.min_data_rate;
  if (min_rate == 0) return false;
  // A short start-up allowance, so a slow first packet (TCP slow start, a busy sender) is not punished.
  constexpr std::uint64_t kAllowanceMs = 30000;
  std::uint64_t elapsed = uv_now(env_.loop) - data_started_ms_;
  if (elapsed < kAllowanceMs) return false;
  return data_bytes_ * 1000 / elapsed < min_rate;
}

std::string_view InboundSession::data_error_text(smtp::DataError e) {
  switch (e) {
    case smtp::DataError::BareLineEnding: return "bare CR or LF in content";
    case smtp::DataError::Nul: return "NUL in content";
    case smtp::DataError::LineTooLong: return "content line too long";
    case smtp::DataError::MessageTooBig: return "message too big";
    case smtp::DataError::None: break;
  }
  return "none";
}

// ------------------------------------------------------------------------------------- backend replies

void InboundSession::process_backend_input() {
  while (!backend_in_.empty() && state_ != State::Closing) {
    smtp::ReplyParse parsed = smtp::parse_reply(backend_in_, settings_.inbound.limits.max_reply_line);
    if (parsed.status == smtp::ReplyStatus::NeedMore) break;
    if (parsed.status != smtp::ReplyStatus::Complete) {
      // Never fall into blind passthrough: a backend we can't parse is a backend we can't vouch for.
      fail(421, "4.3.0", settings_.hostname + " Mail server error, try again later",
           "backend sent an invalid reply: " + parsed.error);
      return;
    }
    backend_in_.erase(0, parsed.consumed);
    handle_backend_reply(parsed.reply);
  }
  update_backpressure();
}

void InboundSession::handle_backend_reply(const smtp::Reply& reply) {
  if (pending_.empty() || pending_.front().expect == Expect::Local) {
    if (reply.code == 421) {   // the backend is closing on us: its 421 is the client's last reply
      spdlog::warn("[{}] backend sent an unsolicited 421, closing", id());
      send_reply(reply);
      close_gracefully();
      return;
    }
    fail(421, "4.3.0", settings_.hostname + " Mail server error, try again later",
         "backend sent a reply nobody asked for (code " + std::to_string(reply.code) + ")");
    return;
  }
  Expect expect = pending_.front().expect;
  pending_.pop_front();
  arm_timer();

  switch (expect) {
    case Expect::Greeting:
      send_reply(reply);
      greeted_ = true;
      enter_state(State::Command);
      break;
    case Expect::XclientGreeting:
      if (reply.code != 220) {
        send_reply(reply);
        greeted_ = true;
        enter_state(State::Command);
        break;
      }
      send_to_backend("EHLO " + settings_.hostname + "\r\n", Expect::XclientEhlo);
      return;
    case Expect::XclientEhlo: {
      bool offers_xclient = reply.klass() == 2 &&
          std::any_of(reply.lines.begin() + 1, reply.lines.end(), [](const std::string& l) {
            std::string kw = l.substr(0, l.find(' '));
            std::transform(kw.begin(), kw.end(), kw.begin(),
                           [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
            return kw == "XCLIENT";
          });
      if (!offers_xclient) {
        backend_unavailable("backend does not offer XCLIENT to mxguard (Postfix: smtpd_authorized_xclient_hosts)");
        return;
      }
      send_to_backend(smtp::xclient_command({.client = &client_.peer(), .helo = {}, .name = {}, .esmtp = true}),
                      Expect::XclientReply);
      return;
    }
    case Expect::XclientReply:
      if (reply.code != 220) {
        backend_unavailable("backend refused XCLIENT: " + std::to_string(reply.code) + " " +
                            (reply.lines.empty() ? "" : reply.lines.front()));
        return;
      }
      send_reply(reply);
      greeted_ = true;
      enter_state(State::Command);
      break;
    case Expect::Ehlo: {
      smtp::EhloOffer offer{.tls_active = tls_,
                            .starttls_available = settings_.tls != nullptr,
                            .max_message_size = settings_.inbound.max_message_size};
      if (reply.klass() == 2 && tls_) helo_after_tls_ = true;
      send_reply(smtp::rewrite_ehlo(reply, offer));
      break;
    }
    case Expect::Helo:
      if (reply.klass() == 2 && tls_) helo_after_tls_ = true;
      send_reply(reply);
      break;
    case Expect::Relay:
    case Expect::Mail:
      send_reply(reply);
      break;
    case Expect::Rcpt:
      if (reply.klass() == 2) ++accepted_recipients_;
      send_reply(reply);
      break;
    case Expect::DataEnd:
      send_reply(reply);
      log_delivery(reply);
      break;
    case Expect::Auth:
      auth_pending_ = false;
      auth_continuation_ = reply.code == 334;
      send_reply(reply);
      break;
    case Expect::Data:
      send_reply(reply);
      if (reply.code == 354) {
        data_filter_.emplace(settings_.inbound.bare_newlines == config::BareNewlines::Reject
                                 ? smtp::BareNewlines::Reject
                                 : smtp::BareNewlines::Normalize,
                             settings_.inbound.limits.max_data_line, settings_.inbound.max_message_size);
        enter_state(State::Data);
        data_started_ms_ = uv_now(env_.loop);
        data_bytes_ = 0;
        process_data_input();
        return;
      }
      enter_state(State::Command);
      break;
    case Expect::InternalRset:
      if (reply.klass() != 2) {
        fail(421, "4.3.0", settings_.hostname + " Mail server error, try again later",
             "backend refused RSET at STARTTLS: " + std::to_string(reply.code));
        return;
      }
      flush_replies();   // our 220 is next
      return;
    case Expect::Quit:
      send_reply(reply);
      close_gracefully();
      return;
    case Expect::Local:
      break;
  }
  if (reply.code == 421) {   // relayed above: one reply per command, then the session ends with the backend's
    spdlog::warn("[{}] backend answered 421, closing", id());
    close_gracefully();
    return;
  }
  flush_replies();
  if (state_ == State::Command) process_client_input();
}

// ------------------------------------------------------------------------------------------------ replies

void InboundSession::reply(int code, std::string_view enhanced, std::string_view text, bool closes) {
  if (code >= 500) ++errors_;
  Pending p{Expect::Local};
  p.local = smtp::Reply{code, {std::string(enhanced) + " " + std::string(text)}};
  p.closes = closes;
  pending_.push_back(std::move(p));
  flush_replies();
}

void InboundSession::send_reply(const smtp::Reply& reply, bool counted) {
  // Local refusals are counted when queued (reply()), so that pipelined commands behind them see them.
  if (!counted && reply.code >= 500) ++errors_;
  if (reply.code >= 400) {
    spdlog::info("[{}] reply {} {}", id(), reply.code, reply.lines.empty() ? "" : reply.lines.front());
  }
  client_.write(reply.serialize());
}

void InboundSession::flush_replies() {
  while (!pending_.empty() && pending_.front().expect == Expect::Local && state_ != State::Closing) {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    send_reply(p.local, /*counted=*/true);
    if (p.starts_tls) {
      begin_tls();
      return;
    }
    if (p.closes) {
      close_gracefully();
      return;
    }
  }
}

void InboundSession::tls_abandoned(const std::string& reason) {
  if (tls_failed_) return;
  tls_failed_ = true;
  spdlog::info("[{}] TLS handshake failed: {}", id(), reason);
  if (env_.audit) {
    env_.audit->write(audit::Event("starttls", "inbound", id(), peer_text())
                          .set("verdict", "failed")
                          .set("reason", reason));
  }
}

void InboundSession::begin_tls() {
  bssl::UniquePtr<SSL> ssl = settings_.tls->new_ssl();
  if (!ssl) {
    fail(421, "4.7.0", settings_.hostname + " TLS not available", "cannot create a TLS session");
    return;
  }
  client_.start_tls(std::move(ssl));
  enter_state(State::TlsHandshake);
}

void InboundSession::on_tls_ready(net::Connection&) {
  tls_ = true;
  reset_transaction();   // RFC 3207 §4.2: nothing learned before TLS survives (the backend got RSET)
  tls::SessionInfo info = client_.tls()->info();
  spdlog::info("[{}] TLS established: {} {}{}", id(), info.version, info.cipher,
               info.sni.empty() ? "" : " sni=" + printable(info.sni));
  if (env_.audit) {
    audit::Event event("starttls", "inbound", id(), peer_text());
    event.set("verdict", "established").set("tls_version", info.version).set("cipher", info.cipher);
    if (!info.sni.empty()) event.set("sni", info.sni);
    env_.audit->write(event);
  }
  enter_state(State::Command);
  process_client_input();
}

void InboundSession::on_tls_failed(net::Connection&, const std::string& reason) {
  tls_abandoned(reason);
  // The alert is already queued; give it a moment to leave, then close.
  close_gracefully();
}

}  // namespace mxguard::inbound
