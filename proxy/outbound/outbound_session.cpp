#include "proxy/outbound/outbound_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/ascii.h"
#include "base/log_text.h"
#include "proxy/smtp/proxy_header.h"

namespace mxguard::outbound {

using smtp::ReplyId;
using smtp::Verb;

// The command table. Verbs not listed are refused as unrecognized. STARTTLS and AUTH are not offered:
// the outbound listener is for the legacy MTA next door, and TLS is what mxguard adds on the far side.
const session::VerbRule<OutboundSession> OutboundSession::kVerbRules[] = {
    {Verb::Helo, &OutboundSession::check_hello, &OutboundSession::proceed_helo},
    {Verb::Ehlo, &OutboundSession::check_hello, &OutboundSession::proceed_ehlo},
    {Verb::Mail, &OutboundSession::check_mail, &OutboundSession::proceed_mail},
    {Verb::Rcpt, &OutboundSession::check_rcpt, &OutboundSession::proceed_rcpt},
    {Verb::Data, &OutboundSession::check_data, &OutboundSession::proceed_data},
    {Verb::Rset, &OutboundSession::check_always, &OutboundSession::proceed_rset},
    {Verb::Noop, &OutboundSession::check_always, &OutboundSession::proceed_noop},
    {Verb::Vrfy, &OutboundSession::check_always, &OutboundSession::proceed_vrfy},
    {Verb::Help, &OutboundSession::check_always, &OutboundSession::proceed_noop},
    {Verb::Quit, &OutboundSession::check_always, &OutboundSession::proceed_quit},
    {Verb::Starttls, &OutboundSession::check_not_offered, nullptr},
    {Verb::Auth, &OutboundSession::check_not_offered, nullptr},
    {Verb::Bdat, &OutboundSession::check_not_offered, nullptr},
    {Verb::Etrn, &OutboundSession::check_not_offered, nullptr},
    {Verb::Expn, &OutboundSession::check_not_offered, nullptr},
    {Verb::Xclient, &OutboundSession::check_not_offered, nullptr},
    {Verb::Xforward, &OutboundSession::check_not_offered, nullptr},
};

OutboundSession::OutboundSession(session::Environment env, std::shared_ptr<const OutboundSettings> settings,
                                 LoopServices services)
    : SessionCore(std::move(env), /*extra_handles=*/0),
      settings_holder_(std::move(settings)),
      settings_(*settings_holder_),
      services_(services) {}

OutboundSession::~OutboundSession() = default;

void OutboundSession::on_accepted() {
  if (!settings_.allow.allows(client_peer())) {
    // Never an open relay: only the configured MTAs may hand mail to the internet through mxguard.
    spdlog::warn("[{}] {} is not in outbound.allow: refused", id(), peer_text());
    if (env().audit) {
      env().audit->write(audit::Event(audit::EventKind::SessionRefused, audit::Direction::Outbound, id(), peer_text())
                             .verdict(audit::Verdict::Refused)
                             .reason("client not in outbound.allow"));
    }
    reply(ReplyId::AccessDenied, {}, /*closes=*/true);
    return;
  }
  if (settings_.outbound.mode == "transparent") {
    original_destination_ = client().original_destination();
    if (original_destination_) {
      spdlog::debug("[{}] transparent: {} was connecting to {}", id(), peer_text(),
                    smtp::address_text(*original_destination_) + ":" +
                        std::to_string(smtp::address_port(*original_destination_)));
    } else {
      // Not redirected: the legacy MTA connected to the listener itself (as its relay host, or a test
      // with swaks). There is no destination to go to, and relay mode's MX lookup is what such a client
      // asks for; the policy is the same either way, and the allow list still guards the listener.
      spdlog::info("[{}] transparent: the connection from {} was not redirected (no original destination): "
                   "delivering as in relay mode, to the recipient domain's MX hosts",
                   id(), peer_text());
    }
  }
  mark_greeted();
  enter_phase(session::Phase::Command);
  reply(smtp::Reply{220, {env().hostname + " ESMTP mxguard"}});
}

void OutboundSession::handle_line(std::string_view line, bool forbidden_control) {
  std::optional<smtp::Command> parsed = command_for(line, forbidden_control);
  if (!parsed) return;
  const smtp::Command& command = *parsed;
  bool ends_transaction = command.verb == Verb::Quit || command.verb == Verb::Rset || command.verb == Verb::Ehlo ||
                          command.verb == Verb::Helo || command.verb == Verb::Mail;
  if (ends_transaction && replies().awaited() > 0) {
    // Closing the upstream now would lose the remote's verdict on what it was sent.
    client_input().insert(0, std::string(line) + "\r\n");
    parked_ = true;
    return;
  }
  if (!session::run_verb(*this, kVerbRules, command, line)) reply(ReplyId::CommandNotRecognized);
}

void OutboundSession::unpark_if_answered() {
  if (parked_ && replies().awaited() == 0) parked_ = false;
}

bool OutboundSession::check_not_offered(const smtp::Command&) {
  reply(ReplyId::CommandNotImplemented);
  return false;
}

void OutboundSession::proceed_ehlo(const smtp::Command&, std::string_view) {
  end_transaction();
  helo_given_ = true;
  // What mxguard can carry to any remote: PIPELINING (the reply queue keeps order), SIZE, 8BITMIME (the
  // parameter is dropped toward a remote that lacks it; 8-bit content is sent as Postfix does).
  smtp::Reply ehlo{250, {env().hostname, "PIPELINING",
                         "SIZE " + std::to_string(settings_.max_message_size), "8BITMIME", "ENHANCEDSTATUSCODES"}};
  reply(std::move(ehlo));
}

void OutboundSession::proceed_helo(const smtp::Command&, std::string_view) {
  end_transaction();
  helo_given_ = true;
  reply(smtp::Reply{250, {env().hostname}});
}

bool OutboundSession::check_mail(const smtp::Command& c) {
  if (!helo_given_) {
    reply(ReplyId::HeloFirst);
    return false;
  }
  if (mail_given_) {
    reply(ReplyId::NestedMail);
    return false;
  }
  if (!smtp::mail_from_domain(c.args)) {
    reply(ReplyId::BadSenderSyntax);
    return false;
  }
  return true;
}

void OutboundSession::proceed_mail(const smtp::Command& c, std::string_view line) {
  mail_given_ = true;
  mail_line_ = std::string(line);
  std::string_view path = c.args.substr(0, c.args.find(' '));
  if (ascii::istarts_with(path, "FROM:")) path.remove_prefix(5);
  mail_from_ = "from=" + log_text::sanitize(path);
  // Nothing goes upstream yet: the MX is known only once a recipient names its domain.
  reply(ReplyId::SenderOk);
}

bool OutboundSession::check_rcpt(const smtp::Command& c) {
  if (!mail_given_) {
    reply(ReplyId::MailFirst);
    return false;
  }
  if (recipients_ >= settings_.outbound.limits.max_recipients) {
    reply(ReplyId::TooManyRecipients);
    return false;
  }
  std::optional<std::string> domain = smtp::rcpt_to_domain(c.args);
  if (!domain || domain->starts_with('[')) {
    // An address literal names a host, not a domain with a policy: refused rather than sent on a guess.
    reply(ReplyId::BadRecipientSyntax);
    return false;
  }
  if (domain->ends_with('.')) domain->pop_back();
  if (!domain_.empty() && *domain != domain_) {
    // Flow control, not an error (it must not count toward max_errors): the legacy MTA sends these
    // recipients again in a later transaction.
    replies().push_local(smtp::make_reply(ReplyId::OneDomainPerTransaction, env().hostname));
    flush_replies();
    return false;
  }
  if (link_failure_) {
    // The same answer for every recipient of the domain in this transaction, in command order.
    replies().push_local(*link_failure_);
    flush_replies();
    return false;
  }
  return true;
}

void OutboundSession::proceed_rcpt(const smtp::Command& c, std::string_view line) {
  ++recipients_;
  if (domain_.empty()) {
    domain_ = *smtp::rcpt_to_domain(c.args);
    if (domain_.ends_with('.')) domain_.pop_back();
    backlog_.push_back(std::string(line));
    replies().push_awaited(Expect::FirstRcpt);
    arm_timer();
    open_link(domain_);
    return;
  }
  send_upstream(std::string(line), Expect::Rcpt);
}

bool OutboundSession::check_data(const smtp::Command&) {
  if (!mail_given_) {
    reply(ReplyId::MailFirst);
    return false;
  }
  if (recipients_ == 0) {
    reply(ReplyId::RcptFirst);
    return false;
  }
  if (link_failure_ && accepted_recipients_ > 0) {
    // Recipients were accepted and then the remote went away: temporary, or the legacy MTA would bounce
    // every one of them.
    replies().push_local(*link_failure_);
    flush_replies();
    return false;
  }
  if (link_failure_ || (!link_ && accepted_recipients_ == 0 && replies().awaited() == 0)) {
    reply(ReplyId::NoValidRecipients);
    return false;
  }
  return true;
}

void OutboundSession::proceed_data(const smtp::Command&, std::string_view) {
  send_upstream("DATA", Expect::Data);
  enter_phase(session::Phase::DataPending);
}

void OutboundSession::proceed_rset(const smtp::Command&, std::string_view) {
  end_transaction();
  reply(ReplyId::Ok);
}

void OutboundSession::proceed_noop(const smtp::Command& c, std::string_view) {
  reply(c.verb == Verb::Help ? ReplyId::HelpText : ReplyId::Ok);
}

void OutboundSession::proceed_vrfy(const smtp::Command&, std::string_view) {
  reply(ReplyId::CannotVrfy);
}

void OutboundSession::proceed_quit(const smtp::Command&, std::string_view) {
  end_transaction();
  reply(ReplyId::Bye, {}, /*closes=*/true);
}

void OutboundSession::on_content_end(smtp::DataError error, std::uint64_t message_bytes) {
  message_bytes_ = message_bytes;
  if (error != smtp::DataError::None) {
    // The remote got part of the message: dropping the connection is what makes it discard it.
    close_link();
    reply(smtp::content_refusal(error));
    end_transaction();
    return;
  }
  if (!link_ || !link_->ready()) {   // the remote went away during the content
    reply(ReplyId::UpstreamLost, domain_);
    end_transaction();
    return;
  }
  replies().push_awaited(Expect::DataEnd, /*data_end=*/true);
  ++upstream_in_flight_;   // the end of data is answered like a command
  arm_timer();
}

void OutboundSession::abort_far_content() {
  replies().drop_awaited();
  close_link();
}

}  // namespace mxguard::outbound
