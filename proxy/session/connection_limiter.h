#pragma once
// Global and per-client-address connection limits, and the client networks serving an abuse penalty;
// shared by every worker (one mutex, taken once at accept and once at close, and when a session is ended
// for abuse).
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>

#include "policy/net/cidr.h"

namespace mxguard::session {

class ConnectionLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Verdict { Admitted, TooManyTotal, TooManyFromAddress, TooFewDescriptors, Penalized };
  struct Decision {
    Verdict verdict = Verdict::Admitted;
    // A refusal's number: within its network's penalty (Penalized), or among the refusals for capacity
    // (the other verdicts) since a connection was last admitted. So a session can log the 1st, 10th,
    // 100th... of a flood of refusals instead of each one.
    std::uint64_t refused = 0;
    bool operator==(Verdict v) const { return verdict == v; }
  };
  // At most this many networks serve a penalty at once: an attacker with many addresses (an IPv6 prefix)
  // must not grow the map without bound. Past it, new penalties wait until expired ones are pruned.
  static constexpr std::size_t kMaxPenalized = 100'000;

  // Who a connection is, for the limits: its address as text (what max_connections_per_ip counts; an
  // IPv4-mapped address written as IPv4) and, for the penalties, the address (IPv4-mapped as IPv4; none
  // for a Unix socket) and the direction it came in by (0 inbound, 1 outbound): a penalty earned on one
  // listener does not refuse the other's clients.
  struct Client {
    std::string address;
    std::optional<policy::IpAddress> ip;
    unsigned direction = 0;
  };
  // Limits come from the configuration snapshot of each new session, so a reload applies to new sessions.
  // `now`: the clock (tests pass their own); read only while some network serves a penalty.
  Decision acquire(const Client& client, std::size_t max_total, std::size_t max_per_address,
                   Clock::time_point now = {});
  Decision acquire(const std::string& address, std::size_t max_total, std::size_t max_per_address,
                   Clock::time_point now = {}) {
    return acquire(Client{address, policy::parse_ip(address), 0}, max_total, max_per_address, now);
  }
  enum class Penalty { Begun, Extended, TableFull };
  // New connections by `direction` from the network of `prefix` bits around `ip` are refused until `until`
  // (a later penalty extends it, an earlier one never shortens it). A penalty is found by the network it
  // was given to, whatever prefix later configurations ask for: a reload that changes the prefix leaves
  // the penalties already given in force.
  Penalty penalize(unsigned direction, const policy::IpAddress& ip, unsigned prefix, Clock::time_point until,
                   Clock::time_point now = {});
  // How many sessions the process's descriptor limit leaves room for (0: no cap). A session beyond it
  // would fail somewhere worse (accept, the backend socket, a TLS file); it is refused with a 421 at the
  // door instead, and said so in the log.
  void set_descriptor_cap(std::size_t sessions) {
    std::lock_guard lock(mutex_);
    descriptor_cap_ = sessions;
  }
  void release(const std::string& address);
  std::size_t active() const;
  std::size_t penalized() const;

 private:
  // The kind of network a penalty was given to; the table is searched once for each kind present.
  using Kind = std::tuple<unsigned /*direction*/, policy::IpFamily, unsigned /*prefix*/>;
  struct Served {
    Clock::time_point until;
    std::uint64_t refused = 0;
    Kind kind;
  };
  static std::string key(const Kind& kind, const policy::IpAddress& ip);
  void forget(std::unordered_map<std::string, Served>::iterator it);   // mutex_ held
  void prune_expired(Clock::time_point now);                         // mutex_ held

  mutable std::mutex mutex_;
  std::size_t total_ = 0;
  std::size_t descriptor_cap_ = 0;
  std::unordered_map<std::string, std::size_t> per_address_;
  std::unordered_map<std::string, Served> penalties_;   // by key(): direction and network
  std::map<Kind, std::size_t> kinds_;                     // how many penalties of each kind
  std::uint64_t refused_streak_ = 0;   // refusals for capacity since the last admitted connection
  Clock::time_point next_prune_{};
};

}  // namespace mxguard::session
