// The outbound session's upstream: the link to the recipient domain's MX, the envelope replayed once the
// link satisfies the policy, and what each remote reply means for the legacy MTA.
#include <spdlog/spdlog.h>

#include <chrono>

#include "base/utc_day.h"
#include "base/ascii.h"
#include "base/log_text.h"
#include "policy/engine/resolution.h"
#include "proxy/outbound/outbound_session.h"
#include "proxy/session/delivery_unknown.h"

namespace mxguard::outbound {

using smtp::ReplyId;

namespace {
// The legacy MTA's MAIL FROM as the remote may take it: parameters for extensions the remote does not
// offer are dropped (as Postfix's smtp client does), so an 8BITMIME or SIZE it lacks is not a 555.
std::string mail_for(const std::string& line, const Capabilities& remote) {
  std::size_t path_end = line.find('>');
  if (path_end == std::string::npos) return line;
  std::string out = line.substr(0, path_end + 1);
  std::string_view rest = std::string_view(line).substr(path_end + 1);
  while (!rest.empty()) {
    std::size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    std::string_view param = rest.substr(0, rest.find(' '));
    rest.remove_prefix(param.size());
    bool keep = true;
    if (ascii::istarts_with(param, "BODY=")) keep = remote.eightbitmime;
    if (ascii::istarts_with(param, "SIZE=")) keep = remote.size;
    if (ascii::istarts_with(param, "SMTPUTF8")) keep = remote.smtputf8;
    if (ascii::istarts_with(param, "RET=") || ascii::istarts_with(param, "ENVID=")) keep = remote.dsn;
    if (keep) out.append(" ").append(param);
  }
  return out;
}

std::string rcpt_for(const std::string& line, const Capabilities& remote) {
  if (remote.dsn) return line;
  std::size_t path_end = line.find('>');
  return path_end == std::string::npos ? line : line.substr(0, path_end + 1);   // NOTIFY=/ORCPT= need DSN
}
}  // namespace

void OutboundSession::open_link(const std::string& domain) {
  policy::Resolution resolution = policy::resolve_policy(domain, settings_.policy, today_utc());
  if (resolution.lapsed) {
    // The day it lapsed is logged once by the server; here only for whoever is debugging this domain.
    spdlog::debug("[{}] outbound {}: {}", id(), domain, policy::describe(*resolution.lapsed));
  }
  LinkContext context;
  context.loop = env().loop;
  context.settings = &settings_;
  context.services = services_;
  context.audit = env().audit;
  context.session_id = id();
  context.peer = peer_text();
  context.transaction = ++transactions_;
  context.original_destination = original_destination_;
  context.events = &events();
  context.track_handle = [this] { track_handle(); };
  context.handle_closed = [this] { handle_closed(); };
  link_ = std::make_unique<MxLink>(std::move(context),
                                   MxLink::Hooks{.ready = [this] { on_link_ready(); },
                                                 .failed = [this](const smtp::Reply& r, const std::string& why) {
                                                   on_link_failed(r, why);
                                                 }});
  link_->start(domain, std::move(resolution.policy));
}

void OutboundSession::on_link_ready() {
  if (phase() == session::Phase::Closing) return;   // the session is ending: nothing goes upstream
  set_far(link_->connection());
  const Capabilities& remote = link_->dialogue()->capabilities();
  upstream_mail_pending_ = true;
  lockstep_ = !remote.pipelining;
  upstream_in_flight_ = 0;
  net::Connection& up = *link_->connection();
  up.cork();
  write_upstream(mail_for(mail_line_, remote));
  for (const std::string& line : backlog_) {
    write_upstream(ascii::istarts_with(line, "RCPT") ? rcpt_for(line, remote) : line);
  }
  up.uncork();
  backlog_.clear();
  arm_timer();
}

void OutboundSession::write_upstream(std::string line) {
  if (lockstep_ && upstream_in_flight_ > 0) {
    unsent_.push_back(std::move(line));
    return;
  }
  ++upstream_in_flight_;
  link_->connection()->write(line + "\r\n");
}

void OutboundSession::on_link_failed(const smtp::Reply& failure, const std::string&) {
  // Nothing of the envelope left mxguard. Every reply still owed for this transaction is ours to give:
  // the recipients get the failure (always temporary for a policy reason), a pipelined DATA is refused.
  link_failure_ = failure;
  backlog_.clear();
  while (const session::Pending* waiting = replies().first_awaited()) {
    auto kind = static_cast<Expect>(waiting->kind);
    replies().answer_first_awaited(kind == Expect::Data ? smtp::make_reply(ReplyId::NoValidRecipients, env().hostname)
                                                        : failure);
  }
  if (phase() == session::Phase::DataPending) enter_phase(session::Phase::Command);
  unpark_if_answered();
  flush_replies();
  process_client_input();
}

bool OutboundSession::on_reply_timeout() {
  if (!link_ || link_->ready()) return false;   // a remote that went quiet mid-transaction: the session fails
  // The MX search took longer than the legacy MTA's own patience allows (reply_timeout): the recipients
  // get a temporary failure now rather than the session a 421, and the search stops.
  std::string why = domain_ + ": no MX host answered within " +
                    std::to_string(settings_.outbound.limits.reply_timeout.count()) + "s";
  close_link();
  on_link_failed(smtp::make_reply(ReplyId::NoMxReachable, env().hostname, why), why);
  return true;
}

void OutboundSession::send_upstream(std::string line, Expect expect) {
  replies().push_awaited(expect);
  if (link_ && link_->ready()) {
    const Capabilities& remote = link_->dialogue()->capabilities();
    write_upstream(expect == Expect::Rcpt ? rcpt_for(line, remote) : line);
  } else {
    backlog_.push_back(std::move(line));
  }
  arm_timer();
}

void OutboundSession::on_far_connected(int status) {
  if (link_ && !link_->ready()) link_->on_connected(status);
}

void OutboundSession::on_far_tls_ready() {
  if (link_ && !link_->ready()) link_->on_tls_ready();
}

void OutboundSession::on_far_tls_failed(const std::string&) {
  if (link_ && !link_->ready()) link_->on_tls_failed();
}

void OutboundSession::on_far_data(std::string_view bytes) {
  if (!link_) return;
  if (!link_->ready()) {
    link_->on_bytes(bytes);
    return;
  }
  upstream_in_.append(bytes);
  while (!upstream_in_.empty() && link_ && link_->ready()) {
    smtp::ReplyParse parsed = smtp::parse_reply(upstream_in_, settings_.outbound.limits.max_reply_line);
    if (parsed.status == smtp::ReplyStatus::NeedMore) break;
    if (parsed.status != smtp::ReplyStatus::Complete) {
      on_far_closed("sent an invalid reply: " + parsed.error);
      return;
    }
    upstream_in_.erase(0, parsed.consumed);
    on_upstream_reply(parsed.reply);
  }
}

void OutboundSession::on_far_closed(const std::string& why) {
  if (!link_) return;
  if (!link_->ready()) {
    link_->on_closed(why);
    return;
  }
  // The MX went away with replies owed. A message whose end it had may have been delivered: say so.
  std::string mx = link_->mx_host();
  if (replies().awaiting_data_end()) {
    on_delivery_unknown(why);
  } else {
    spdlog::warn("[{}] outbound {}: {} {}", id(), domain_, mx, why);
  }
  close_link();
  smtp::Reply lost = smtp::make_reply(ReplyId::UpstreamLost, env().hostname, mx);
  link_failure_ = lost;
  while (replies().first_awaited()) replies().answer_first_awaited(lost);
  if (phase() == session::Phase::DataPending) enter_phase(session::Phase::Command);
  unpark_if_answered();
  flush_replies();
  if (phase() == session::Phase::Command) process_client_input();
}

void OutboundSession::on_delivery_unknown(const std::string& what) {
  if (!link_) return;
  session::report_delivery_unknown(*this, env().audit,
                                   {.far = link_->mx_host(),
                                    .what = what,
                                    .from = mail_from_.substr(mail_from_.find('=') + 1),
                                    .size = message_bytes_,
                                    .recipients = accepted_recipients_,
                                    .domain = domain_});
}

void OutboundSession::on_upstream_reply(const smtp::Reply& reply) {
  if (!replies().first_awaited()) {
    spdlog::warn("[{}] outbound {}: {} sent a reply nobody asked for ({}): closing the connection", id(), domain_,
                 link_->mx_host(), reply.code);
    on_far_closed("sent an unsolicited reply");
    return;
  }
  if (upstream_in_flight_ > 0) --upstream_in_flight_;
  if (!unsent_.empty() && upstream_in_flight_ == 0) {
    std::string next = std::move(unsent_.front());
    unsent_.pop_front();
    write_upstream(std::move(next));
  }
  if (upstream_mail_pending_) {
    // Our replay of MAIL FROM: the legacy MTA had its 250 from us already; a refusal here answers the
    // RCPT that opened the link, and the remote's own code stands (only the remote may bounce mail).
    upstream_mail_pending_ = false;
    if (reply.klass() != 2) {
      upstream_mail_failed_ = true;
      link_failure_ = reply;
    }
    return;
  }
  // Replies are paired with the first awaited entry, whatever local replies are ahead of it.
  auto expect = static_cast<Expect>(replies().first_awaited()->kind);
  switch (expect) {
    case Expect::FirstRcpt:
    case Expect::Rcpt: {
      smtp::Reply answer = upstream_mail_failed_ ? *link_failure_ : reply;
      if (answer.klass() == 2) ++accepted_recipients_;
      replies().answer_first_awaited(answer);
      break;
    }
    case Expect::Data:
      if (reply.code == 354) {
        replies().answer_first_awaited(reply);
        flush_replies();
        begin_content(BareNewlines::Normalize, settings_.max_message_size);
        return;
      }
      replies().answer_first_awaited(reply);
      enter_phase(session::Phase::Command);
      break;
    case Expect::DataEnd:
      replies().answer_first_awaited(reply);
      log_delivery(reply);
      if (report_detector_.is_report()) audit_report_relayed(reply);
      if (reply.klass() == 2) note_message_accepted();
      end_transaction();
      break;
  }
  unpark_if_answered();
  flush_replies();
  if (phase() == session::Phase::Command) process_client_input();
}

void OutboundSession::log_delivery(const smtp::Reply& reply) {
  spdlog::info("[{}] outbound message {} {} recipient(s), {} bytes, to {} via {} ({}): remote said {} {}", id(),
               mail_from_, accepted_recipients_, message_bytes_, domain_, link_->mx_host(),
               link_->dialogue() && link_->dialogue()->tls_active() ? link_->dialogue()->tls()->version : "plaintext",
               reply.code, log_text::sanitize(reply.lines.empty() ? "" : reply.lines.front()));
}

void OutboundSession::audit_report_relayed(const smtp::Reply& reply) {
  // The tls-policy events of this transaction were written at RCPT, before anyone could know the
  // message was a TLS report: this event names the transaction so that `mxguard audit --tlsrpt` leaves
  // them out (RFC 8460 §5.3, no report about the sessions that carried reports).
  spdlog::info("[{}] outbound message to {} is a TLS report for {}", id(), domain_,
               log_text::sanitize(report_detector_.report_domain()));
  if (!env().audit) return;
  env().audit->write(audit::Event(audit::EventKind::TlsReportRelayed, audit::Direction::Outbound, id(), peer_text())
                         .set("domain", domain_)
                         .set("mx", link_->mx_host())
                         .set("transaction", transactions_)
                         .set("report_domain", log_text::sanitize(report_detector_.report_domain()))
                         .set("reply", static_cast<std::int64_t>(reply.code))
                         .verdict(reply.code / 100 == 2 ? audit::Verdict::Delivered : audit::Verdict::Refused));
}

void OutboundSession::close_link() {
  if (!link_) return;
  set_far(nullptr);
  link_->close();
  closed_links_.push_back(std::move(link_));
  upstream_in_.clear();
}

void OutboundSession::end_transaction() {
  // One upstream per transaction: the next one may be for another domain, with another policy.
  close_link();
  backlog_.clear();
  unsent_.clear();
  upstream_in_flight_ = 0;
  lockstep_ = false;
  mail_line_.clear();
  mail_from_.clear();
  domain_.clear();
  link_failure_.reset();
  recipients_ = 0;
  accepted_recipients_ = 0;
  message_bytes_ = 0;
  report_detector_ = smtp::TlsReportDetector();
  mail_given_ = false;
  upstream_mail_pending_ = false;
  upstream_mail_failed_ = false;
}

}  // namespace mxguard::outbound
