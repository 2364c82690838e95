#include "proxy/session/session_core.h"

#include <spdlog/spdlog.h>

#include "policy/net/socket_address.h"   // client_ip_address, network_text
#include "proxy/smtp/proxy_header.h"       // address_text

// The door of a session: admission by the connection limiter (limits, descriptor budget, abuse
// penalties) and the penalty a session ended for abuse gives its address's network.

namespace mxguard::session {

using smtp::ReplyId;

namespace {

bool is_power_of_ten(std::uint64_t n) {
  for (std::uint64_t p = 1; p <= n; p *= 10) {
    if (p == n) return true;
    if (p > UINT64_MAX / 10) break;
  }
  return false;
}

}  // namespace

unsigned SessionCore::penalty_prefix(const policy::IpAddress& ip) const {
  return ip.family == policy::IpFamily::V4 ? limits().abuse_penalty_ipv4_prefix
                                           : limits().abuse_penalty_ipv6_prefix;
}

// "192.0.2.1", or "2001:db8:1:2::9 (2001:db8:1:2::/64)" where the penalty is the network's.
std::string SessionCore::penalty_subject(const std::string& address,
                                         const std::optional<policy::IpAddress>& ip) const {
  std::string network = ip ? policy::network_text(*ip, penalty_prefix(*ip)) : address;
  return network == address ? address : address + " (" + network + ")";
}

bool SessionCore::admit() {
  using Verdict = ConnectionLimiter::Verdict;
  const std::optional<policy::IpAddress> ip = policy::client_ip_address(client_.peer());
  const std::string address = smtp::address_text(client_.peer());
  ConnectionLimiter::Decision decision;   // without a limiter (tests of other things): admitted
  if (env_.limiter) {
    ConnectionLimiter::Client client{address, ip, static_cast<unsigned>(env_.direction)};
    decision = env_.limiter->acquire(client, limits().max_connections, limits().max_connections_per_ip);
  }
  bool refused = decision.verdict != Verdict::Admitted;
  // A flood of refused connections (a penalized address reconnecting as fast as it is closed, a
  // connection flood at the limits) would write two lines per connection: the 1st, 10th, 100th... of
  // each run of refusals are logged with their number, and the others not at all.
  if (!refused || is_power_of_ten(decision.refused)) {
    connect_logged_ = true;   // its "disconnect" line follows
    spdlog::info("[{}] connect from {}", id(), peer_text());
    std::string count = decision.refused > 1 ? " (" + std::to_string(decision.refused) + " refused so far)" : "";
    switch (decision.verdict) {
      case Verdict::Admitted: break;
      case Verdict::Penalized:
        spdlog::warn("[{}] refused: {} is serving an abuse penalty{}", id(), penalty_subject(address, ip), count);
        break;
      case Verdict::TooFewDescriptors:
        spdlog::warn("[{}] refused: too many connections for the process's file descriptors (RLIMIT_NOFILE; "
                     "raise LimitNOFILE or ulimit -n){}", id(), count);
        break;
      case Verdict::TooManyTotal:
      case Verdict::TooManyFromAddress:
        spdlog::warn("[{}] refused: too many connections{}{}", id(),
                     decision.verdict == Verdict::TooManyFromAddress ? " from this address" : "", count);
        break;
    }
  }
  if (refused) {
    for (auto* o : env_.observers) o->on_refused_at_door(*this, decision.verdict);
    reply(decision.verdict == Verdict::Penalized ? ReplyId::AbusePenalty : ReplyId::TooManyConnections, {},
          /*closes=*/true);
    return false;
  }
  admitted_ = env_.limiter != nullptr;   // holds a slot to release
  return true;
}

void SessionCore::penalize_client(const std::string& why) {
  auto penalty = limits().abuse_penalty;
  if (!env_.limiter || penalty.count() == 0 || penalized_) return;
  penalized_ = true;
  std::optional<policy::IpAddress> ip = policy::client_ip_address(client_.peer());
  if (!ip) return;   // a Unix socket's client: no network to refuse
  std::string subject = penalty_subject(smtp::address_text(client_.peer()), ip);
  auto now = ConnectionLimiter::Clock::now();
  auto direction = static_cast<unsigned>(env_.direction);
  switch (env_.limiter->penalize(direction, *ip, penalty_prefix(*ip), now + penalty, now)) {
    case ConnectionLimiter::Penalty::Begun:
      spdlog::warn("[{}] {} gets 421 for new connections for {}s: {}", id(), subject, penalty.count(), why);
      for (auto* o : env_.observers) o->on_abuse_penalty(*this);
      break;
    case ConnectionLimiter::Penalty::Extended:   // another session of the network was ended meanwhile
      spdlog::warn("[{}] {}: the penalty its network serves runs at least {}s more: {}", id(), subject,
                   penalty.count(), why);
      break;
    case ConnectionLimiter::Penalty::TableFull:
      spdlog::warn("[{}] {} not penalized: {} networks already are (the most there may be)", id(), subject,
                   ConnectionLimiter::kMaxPenalized);
      break;
  }
}

}  // namespace mxguard::session
