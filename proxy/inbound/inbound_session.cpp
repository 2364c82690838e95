#include "proxy/inbound/inbound_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "base/ascii.h"
#include "base/log_text.h"

namespace mxguard::inbound {

using smtp::ReplyId;
using smtp::Verb;

// The command table. Verbs not listed are refused as unrecognized.
const session::VerbRule<InboundSession> InboundSession::kVerbRules[] = {
    {Verb::Helo, &InboundSession::check_hello, &InboundSession::proceed_helo},
    {Verb::Ehlo, &InboundSession::check_hello, &InboundSession::proceed_ehlo},
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

InboundSession::InboundSession(session::Environment env, std::shared_ptr<const InboundSettings> settings,
                               bool implicit_tls, unsigned worker)
    : SessionCore(std::move(env), /*extra_handles=*/0),
      settings_holder_(std::move(settings)),
      settings_(*settings_holder_),
      worker_(worker) {
  if (implicit_tls && settings_.tls) set_implicit_tls(settings_.tls->new_ssl(worker_));
}

InboundSession::~InboundSession() = default;

void InboundSession::handle_line(std::string_view line, bool forbidden_control) {
  if (auth_continuation_) {   // the client's answer to a 334 challenge: not a command
    auth_continuation_ = false;
    // Control bytes never reach the backend; "*" cancels the exchange (RFC 4954) and keeps it in step.
    send_to_backend(forbidden_control ? std::string("*\r\n") : std::string(line) + "\r\n", Expect::Auth);
    auth_pending_ = true;
    return;
  }
  std::optional<smtp::Command> parsed = command_for(line, forbidden_control);
  if (!parsed) return;
  const smtp::Command& command = *parsed;
  if (!session::run_verb(*this, kVerbRules, command, line)) reply(ReplyId::CommandNotRecognized);
}

bool InboundSession::check_starttls(const smtp::Command& c) {
  if (!c.args.empty()) {
    reply(ReplyId::SyntaxStarttls);
    return false;
  }
  if (tls_active()) {
    reply(ReplyId::TlsAlreadyActive);
    return false;
  }
  if (!settings_.tls) {
    reply(ReplyId::TlsNotAvailable);
    return false;
  }
  return true;
}

bool InboundSession::check_mail(const smtp::Command& c) {
  if (tls_active() && !helo_after_tls_) {
    // RFC 3207 §4.2: the client must start over with EHLO; what it said before TLS is forgotten.
    reply(ReplyId::HeloFirst);
    return false;
  }
  if (tls_active()) return true;
  if (settings_.inbound.require_tls) {
    reply(ReplyId::StarttlsFirst);
    return false;
  }
  if (!settings_.inbound.require_tls_from.empty()) {
    std::optional<std::string> domain = smtp::mail_from_domain(c.args);
    if (!domain) {
      // A backend may read a sender out of sloppy syntax that our strict parser rejects
      // ("MAIL FROM:x@bank.example"); letting that through would let a listed domain dodge the check.
      reply(ReplyId::BadSenderSyntax);
      return false;
    }
    if (domain->ends_with('.')) domain->pop_back();   // "bank.example." is bank.example
    const auto& listed = settings_.inbound.require_tls_from;
    if (std::find(listed.begin(), listed.end(), *domain) != listed.end()) {
      // This sender always uses TLS with us: plaintext means someone stripped STARTTLS on the way.
      audit_downgrade(*domain);
      reply(ReplyId::StarttlsFirstForSender, *domain);
      return false;
    }
  }
  return true;
}

void InboundSession::audit_downgrade(const std::string& domain) {
  spdlog::warn("[{}] MAIL FROM domain {} without TLS: refused as a downgrade attempt", id(), domain);
  notify_downgrade_refused();
  if (!env().audit) return;
  env().audit->write(audit::Event(audit::EventKind::DowngradeAttempt, audit::Direction::Inbound, id(), peer_text())
                         .set("domain", domain)
                         .verdict(audit::Verdict::Refused)
                         .reason("starttls-not-supported"));
}

bool InboundSession::check_rcpt(const smtp::Command&) {
  if (recipients_ >= settings_.inbound.limits.max_recipients) {
    reply(ReplyId::TooManyRecipients);   // counted toward max_errors like every refusal of ours
    return false;
  }
  ++recipients_;
  return true;
}

bool InboundSession::check_auth(const smtp::Command&) {
  if (!tls_active()) {
    // Credentials never cross the internet in plaintext; AUTH is not even advertised before TLS.
    reply(ReplyId::StarttlsFirst);
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
    end_after_owed_replies(ReplyId::BdatUnparsable, "BDAT with an unparsable size");
    return false;
  }
  discard_client_bytes(size);
  reply(ReplyId::BdatNotSupported);
  return false;
}

bool InboundSession::check_refused_verb(const smtp::Command& c) {
  if (log_allowed(-static_cast<int>(c.verb))) {
    spdlog::warn("[{}] client sent {}: refused", id(), smtp::to_string(c.verb));
  }
  reply(ReplyId::CommandNotImplemented);
  return false;
}

void InboundSession::proceed_forward(const smtp::Command&, std::string_view line) {
  send_to_backend(std::string(line) + "\r\n", Expect::Relay);
}

void InboundSession::proceed_helo(const smtp::Command&, std::string_view line) {
  reset_transaction();
  send_to_backend(std::string(line) + "\r\n", Expect::Helo);
}

void InboundSession::proceed_ehlo(const smtp::Command&, std::string_view line) {
  reset_transaction();
  send_to_backend(std::string(line) + "\r\n", Expect::Ehlo);
}

void InboundSession::proceed_mail(const smtp::Command& c, std::string_view line) {
  reset_transaction();
  std::string_view path = c.args.substr(0, c.args.find(' ', c.args.find('>') == std::string_view::npos ? 0 : c.args.find('>')));
  if (ascii::istarts_with(path, "FROM:")) path.remove_prefix(5);
  mail_from_ = "from=" + log_text::sanitize(path);
  send_to_backend(std::string(line) + "\r\n", Expect::Relay);
}

void InboundSession::proceed_rcpt(const smtp::Command&, std::string_view line) {
  send_to_backend(std::string(line) + "\r\n", Expect::Rcpt);
}

void InboundSession::proceed_rset(const smtp::Command&, std::string_view line) {
  reset_transaction();
  send_to_backend(std::string(line) + "\r\n", Expect::Relay);
}

void InboundSession::proceed_auth(const smtp::Command&, std::string_view line) {
  auth_pending_ = true;   // its reply decides whether the next line is a command or a SASL answer
  send_to_backend(std::string(line) + "\r\n", Expect::Auth);
}

void InboundSession::proceed_quit(const smtp::Command&, std::string_view) {
  send_to_backend("QUIT\r\n", Expect::Quit);
}

void InboundSession::proceed_data(const smtp::Command&, std::string_view) {
  send_to_backend("DATA\r\n", Expect::Data);
  enter_phase(session::Phase::DataPending);
}

void InboundSession::proceed_starttls(const smtp::Command&, std::string_view) {
  // RFC 3207 §4.2 / CVE-2011-0411: anything pipelined behind STARTTLS was sent in plaintext and must not
  // be executed after the handshake. Drop it.
  if (!client_input().empty()) {
    note_injection(client_input().size());
    client_input().clear();
  }
  command_reader().reset();
  // The backend forgets any transaction begun in plaintext before the TLS session goes on: its RSET leaves
  // with the first command inside TLS, in the same write (send_to_backend), so the 220 waits for no round
  // trip to the backend and the RSET costs no system calls of its own.
  rset_owed_ = true;
  enter_phase(session::Phase::StarttlsPending);
  queue_starttls_ready();
}

bssl::UniquePtr<SSL> InboundSession::new_client_tls() {
  return settings_.tls ? settings_.tls->new_ssl(worker_) : nullptr;
}

void InboundSession::on_client_tls_ready() {
  reset_transaction();   // RFC 3207 §4.2: nothing learned before TLS survives (the backend got RSET)
}

void InboundSession::reset_transaction() {
  recipients_ = 0;
  accepted_recipients_ = 0;
  mail_from_.clear();
}

void InboundSession::on_content_end(smtp::DataError error, std::uint64_t message_bytes) {
  last_message_size_ = message_bytes;
  if (error == smtp::DataError::None) {
    replies().push_awaited(Expect::DataEnd, /*data_end=*/true);
    arm_timer();
    return;
  }
  reply(smtp::content_refusal(error));
  // The backend connection is gone with the aborted message; the client retries the rest later.
  fail(ReplyId::ClosingAfterRefusedMessage, "backend connection dropped to abort the refused message");
}

void InboundSession::abort_far_content() {
  // Only dropping the connection makes the backend discard a half-sent message.
  replies().drop_awaited();
  close_far();
}

void InboundSession::log_delivery(const smtp::Reply& reply) {
  // The postmaster's line: who sent what to how many, over what, and what the legacy server said.
  std::string said = log_text::sanitize(reply.lines.empty() ? "" : reply.lines.front());
  spdlog::info("[{}] message {} {} recipient(s), {} bytes, {}: backend said {} {}{}", id(), mail_from_,
               accepted_recipients_, last_message_size_,
               tls_active() ? std::string(client().tls()->info().version) : std::string("plaintext"), reply.code,
               said, client_gone() ? " (the client disconnected before this reply)" : "");
  std::string from = mail_from_.substr(mail_from_.find('=') + 1);
  if (client_gone()) {
    audit_undelivered(reply.code, from, last_message_size_);
  } else if (client_half_closed()) {
    unconfirmed_verdict_ = Verdict{reply.code, from, last_message_size_};
  }
  reset_transaction();
}

void InboundSession::on_half_closed_client_lost() {
  if (!unconfirmed_verdict_) return;
  spdlog::info("[{}] the client never received the backend's reply {} to its message", id(), unconfirmed_verdict_->code);
  audit_undelivered(unconfirmed_verdict_->code, unconfirmed_verdict_->from, unconfirmed_verdict_->size);
  unconfirmed_verdict_.reset();
}

void InboundSession::audit_undelivered(int code, const std::string& from, std::uint64_t size) {
  // The client will retry a message whose fate it never heard: if the backend took it, that retry is a
  // duplicate. The audit log is where the postmaster finds those.
  if (!env().audit) return;
  env().audit->write(audit::Event(audit::EventKind::ReplyUndelivered, audit::Direction::Inbound, id(), peer_text())
                         .verdict(code / 100 == 2 ? audit::Verdict::Delivered : audit::Verdict::Refused)
                         .set("reply", static_cast<std::int64_t>(code))
                         .set("from", from)
                         .set("size", static_cast<std::int64_t>(size))
                         .reason("client disconnected before the reply"));
}

}  // namespace mxguard::inbound
