// The inbound session's far side: the legacy backend. Resolving and connecting (each address in turn),
// the PROXY header or the XCLIENT exchange, and what each backend reply means for the client.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "base/ascii.h"
#include "base/log_text.h"
#include "proxy/inbound/inbound_session.h"
#include "proxy/net/transparent_source.h"
#include "proxy/session/delivery_unknown.h"
#include "proxy/smtp/ehlo_rewriter.h"
#include "proxy/smtp/proxy_header.h"

namespace mxguard::inbound {

using smtp::ReplyId;

void InboundSession::on_accepted() {
  enter_phase(session::Phase::Opening);
  resolve_backend();
}

void InboundSession::resolve_backend() {
  const config::Endpoint& backend = settings_.inbound.backend;
  sockaddr_storage addr{};
  if (uv_ip4_addr(backend.host.c_str(), backend.port, reinterpret_cast<sockaddr_in*>(&addr)) == 0 ||
      uv_ip6_addr(backend.host.c_str(), backend.port, reinterpret_cast<sockaddr_in6*>(&addr)) == 0) {
    backend_addresses_ = {addr};
    connect_next_address();
    return;
  }
  resolve_req_ = std::make_unique<uv_getaddrinfo_t>();
  resolve_req_->data = this;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  track_handle();   // the request must come back before the session may be destroyed
  resolving_ = true;
  int rc = uv_getaddrinfo(
      env().loop, resolve_req_.get(),
      [](uv_getaddrinfo_t* req, int status, addrinfo* res) {
        auto* self = static_cast<InboundSession*>(req->data);
        self->resolving_ = false;
        std::unique_ptr<addrinfo, decltype(&uv_freeaddrinfo)> result(res, &uv_freeaddrinfo);
        if (self->phase() == session::Phase::Opening) {
          for (addrinfo* a = res; status == 0 && a; a = a->ai_next) {
            if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
            sockaddr_storage addr{};
            std::memcpy(&addr, a->ai_addr, std::min<std::size_t>(a->ai_addrlen, sizeof addr));
            smtp::set_address_port(addr, self->settings_.inbound.backend.port);
            self->backend_addresses_.push_back(addr);
          }
          if (self->backend_addresses_.empty()) {
            self->backend_unavailable("cannot resolve backend " + self->settings_.inbound.backend.text + ": " +
                                      (status != 0 ? uv_strerror(status) : "no address"));
          } else {
            self->connect_next_address();
          }
        }
        self->handle_closed();
      },
      backend.host.c_str(), nullptr, &hints);
  if (rc != 0) {
    resolving_ = false;
    handle_closed();
    backend_unavailable("cannot resolve backend " + backend.text + ": " + uv_strerror(rc));
  }
}

void InboundSession::connect_next_address() {
  // A name that resolves to an address the backend does not listen on (::1 first, say) must not fail
  // the session while another of its addresses works: each is tried in turn, like Postfix's smtp client.
  const bool tproxy = settings_.inbound.backend_protocol == config::BackendProtocol::Tproxy;
  std::optional<sockaddr_storage> source = tproxy ? net::transparent_source_for(client_peer()) : std::nullopt;
  while (next_address_ < backend_addresses_.size()) {
    const sockaddr_storage& addr = backend_addresses_[next_address_++];
    if (tproxy && (!source || source->ss_family != addr.ss_family)) {
      // A connection cannot come from an IPv6 address to an IPv4 one: the backend needs an address of
      // the client's family (a name with both, or one backend per family).
      last_connect_error_ = smtp::address_text(addr) + ": tproxy connects from the client's address " +
                            smtp::address_text(client_peer()) + ", which is of the other address family";
      continue;
    }
    if (backend_) {
      close_far();
      retired_backends_.push_back(std::move(backend_));   // its close callback is still to come
    }
    backend_ = std::make_unique<net::Connection>(env().loop, events());
    track_handle();
    set_far(backend_.get());
    int rc = tproxy ? backend_->connect_from(*source, reinterpret_cast<const sockaddr*>(&addr))
                    : backend_->connect(reinterpret_cast<const sockaddr*>(&addr));
    if (rc == 0) {
      // Reading from the start: libuv then arms the socket for both directions in one epoll_ctl instead
      // of three. Nothing is read before on_far_connected: libuv finishes the connect first.
      backend_->start_reading();
      arm_timer();
      return;
    }
    last_connect_error_ = smtp::address_text(addr) + ": " + uv_strerror(rc);
    if (tproxy && rc == UV_EPERM) {
      last_connect_error_ += " (tproxy: binding to the client's address needs CAP_NET_ADMIN; see check-config)";
    }
  }
  backend_unavailable("cannot connect to backend " + settings_.inbound.backend.text +
                      (last_connect_error_.empty() ? "" : " (" + last_connect_error_ + ")"));
}

void InboundSession::on_far_connected(int status) {
  if (phase() != session::Phase::Opening || greeting_received_) return;
  if (status != 0) {
    last_connect_error_ = smtp::address_text(backend_addresses_[next_address_ - 1]) + ": " + uv_strerror(status);
    if (next_address_ < backend_addresses_.size()) {
      spdlog::info("[{}] backend address {} failed, trying the next", id(), last_connect_error_);
    }
    connect_next_address();
    return;
  }
  switch (settings_.inbound.backend_protocol) {
    case config::BackendProtocol::ProxyV1:
      backend_->write(smtp::proxy_v1_header(client_peer(), client_local()));
      break;
    case config::BackendProtocol::ProxyV2:
      backend_->write(smtp::proxy_v2_header(client_peer(), client_local()));
      break;
    default:
      break;
  }
  replies().push_awaited(settings_.inbound.backend_protocol == config::BackendProtocol::Xclient
                             ? Expect::XclientGreeting
                             : Expect::Greeting);
  backend_->start_reading();
  arm_timer();   // from connecting to waiting for the greeting
  greeting_received_ = false;
}

std::chrono::seconds InboundSession::opening_timeout() const {
  const config::Limits& l = settings_.inbound.limits;
  return replies().first_awaited() ? l.greeting_timeout : l.backend_connect_timeout;
}

void InboundSession::on_opening_timeout() {
  backend_unavailable(replies().first_awaited()
                          ? "no greeting from backend " + settings_.inbound.backend.text + " in time"
                          : "timed out connecting to backend " + settings_.inbound.backend.text);
}

void InboundSession::backend_unavailable(const std::string& why) {
  fail(ReplyId::ServiceUnavailable, "backend unavailable: " + why);
}

void InboundSession::on_far_closed(const std::string& why) {
  if (phase() == session::Phase::Opening) {
    backend_unavailable("backend " + why + " before greeting");
    return;
  }
  // The message may have reached the backend whole: say so, so a possible duplicate can be found.
  if (replies().awaiting_data_end()) on_delivery_unknown(why);
  fail(ReplyId::FarSideLost, "backend " + why);
}

void InboundSession::on_delivery_unknown(const std::string& what) {
  session::report_delivery_unknown(*this, env().audit,
                                   {.far = "backend",
                                    .what = what,
                                    .from = mail_from_.substr(mail_from_.find('=') + 1),
                                    .size = last_message_size_,
                                    .recipients = accepted_recipients_,
                                    .domain = {}});
}

void InboundSession::send_to_backend(std::string_view bytes, Expect expect) {
  if (rset_owed_) {   // see proceed_starttls; the turn's cork makes it one write with `bytes`
    rset_owed_ = false;
    replies().push_awaited(Expect::InternalRset);
    backend_->write("RSET\r\n");
  }
  replies().push_awaited(expect);
  backend_->write(bytes);
  arm_timer();
}

void InboundSession::on_far_data(std::string_view bytes) {
  backend_in_.append(bytes);
  while (!backend_in_.empty() && phase() != session::Phase::Closing) {
    smtp::ReplyParse parsed = smtp::parse_reply(backend_in_, settings_.inbound.limits.max_reply_line);
    if (parsed.status == smtp::ReplyStatus::NeedMore) break;
    if (parsed.status != smtp::ReplyStatus::Complete) {
      // Never fall into blind passthrough: a backend we can't parse is a backend we can't vouch for.
      fail(ReplyId::FarSideError, "backend sent an invalid reply: " + parsed.error);
      return;
    }
    backend_in_.erase(0, parsed.consumed);
    on_backend_reply(parsed.reply);
  }
}

void InboundSession::on_backend_reply(const smtp::Reply& reply) {
  if (replies().empty() || !replies().front().awaited()) {
    if (reply.code == 421) {   // the backend is closing on us: its 421 is the client's last reply
      spdlog::warn("[{}] backend sent an unsolicited 421, closing", id());
      relay(reply);
      close_gracefully();
      return;
    }
    fail(ReplyId::FarSideError, "backend sent a reply nobody asked for (code " + std::to_string(reply.code) + ")");
    return;
  }
  auto expect = static_cast<Expect>(replies().pop().kind);
  arm_timer();

  switch (expect) {
    case Expect::Greeting:
    case Expect::XclientGreeting:
    case Expect::XclientEhlo:
    case Expect::XclientReply:
      on_greeting_phase_reply(expect, reply);
      return;
    case Expect::Ehlo: {
      smtp::EhloOffer offer{.tls_active = tls_active(),
                            .starttls_available = settings_.tls != nullptr,
                            .max_message_size = settings_.inbound.max_message_size};
      if (reply.klass() == 2 && tls_active()) helo_after_tls_ = true;
      // rewrite_ehlo adds STARTTLS to every 2xx reply before TLS when a certificate is configured.
      if (reply.klass() == 2 && offer.starttls_available && !offer.tls_active) notify_starttls_offered();
      relay(smtp::rewrite_ehlo(reply, offer));
      break;
    }
    case Expect::Helo:
      if (reply.klass() == 2 && tls_active()) helo_after_tls_ = true;
      relay(reply);
      break;
    case Expect::Relay:
      relay(reply);
      break;
    case Expect::Rcpt:
      if (reply.klass() == 2) ++accepted_recipients_;
      relay(reply);
      break;
    case Expect::DataEnd:
      relay(reply);
      log_delivery(reply);
      if (reply.klass() == 2) note_message_accepted();
      break;
    case Expect::Auth:
      auth_pending_ = false;
      auth_continuation_ = reply.code == 334;
      relay(reply);
      break;
    case Expect::Data:
      relay(reply);
      if (reply.code == 354) {
        begin_content(settings_.inbound.bare_newlines, settings_.inbound.max_message_size);
        return;
      }
      enter_phase(session::Phase::Command);
      break;
    case Expect::InternalRset:
      if (reply.klass() != 2) {
        fail(ReplyId::FarSideError, "backend refused RSET at STARTTLS: " + std::to_string(reply.code));
        return;
      }
      flush_replies();   // swallowed (the client never sent it); whatever waited behind it may go
      return;
    case Expect::Quit:
      relay(reply);
      close_gracefully();
      return;
  }
  if (reply.code == 421) {   // relayed above: one reply per command, then the session ends with the backend's
    spdlog::warn("[{}] backend answered 421, closing", id());
    close_gracefully();
    return;
  }
  flush_replies();
  if (phase() == session::Phase::Command) process_client_input();
}

void InboundSession::on_greeting_phase_reply(Expect expect, const smtp::Reply& reply) {
  auto greeted = [&] {
    greeting_received_ = true;
    relay(reply);
    mark_greeted();
    if (reply.code == 421) {   // the backend will not take mail now: its 421 ends the session
      close_gracefully();
      return;
    }
    enter_phase(session::Phase::Command);
    flush_replies();
    process_client_input();
  };
  switch (expect) {
    case Expect::Greeting:
      greeted();
      return;
    case Expect::XclientGreeting:
      if (reply.code != 220) {
        greeted();
        return;
      }
      send_to_backend("EHLO " + env().hostname + "\r\n", Expect::XclientEhlo);
      return;
    case Expect::XclientEhlo: {
      bool offers_xclient = reply.klass() == 2 &&
          std::any_of(reply.lines.begin() + 1, reply.lines.end(), [](const std::string& l) {
            return ascii::iequals(std::string_view(l).substr(0, l.find(' ')), "XCLIENT");
          });
      if (!offers_xclient) {
        backend_unavailable("backend does not offer XCLIENT to mxguard (Postfix: smtpd_authorized_xclient_hosts)");
        return;
      }
      send_to_backend(smtp::xclient_command({.client = &client_peer(), .helo = {}, .name = {}, .esmtp = true}),
                      Expect::XclientReply);
      return;
    }
    case Expect::XclientReply:
      if (reply.code != 220) {
        backend_unavailable("backend refused XCLIENT: " + std::to_string(reply.code) + " " +
                            log_text::sanitize(reply.lines.empty() ? "" : reply.lines.front()));
        return;
      }
      greeted();
      return;
    default:
      return;
  }
}

}  // namespace mxguard::inbound
