#pragma once
// Global and per-client-address connection limits, and the addresses serving an abuse penalty; shared by
// every worker (one mutex, taken once at accept and once at close, and when a session is ended for abuse).
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mxguard::session {

class ConnectionLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Verdict { Admitted, TooManyTotal, TooManyFromAddress, TooFewDescriptors, Penalized };
  struct Decision {
    Verdict verdict = Verdict::Admitted;
    // A refusal's number: within its address's penalty (Penalized), or among the refusals for capacity
    // (the other verdicts) since a connection was last admitted. So a session can log the 1st, 10th,
    // 100th... of a flood of refusals instead of each one.
    std::uint64_t refused = 0;
    bool operator==(Verdict v) const { return verdict == v; }
  };
  // At most this many addresses serve a penalty at once: an attacker with many addresses (an IPv6 prefix)
  // must not grow the map without bound. Past it, new penalties wait until expired ones are pruned.
  static constexpr std::size_t kMaxPenalized = 100'000;

  // Limits come from the configuration snapshot of each new session, so a reload applies to new sessions.
  // `now`: the clock (tests pass their own); read only while some address serves a penalty.
  // `penalty_key`: what a penalty would have been given to (the client's network, see network_text).
  Decision acquire(const std::string& address, const std::string& penalty_key, std::size_t max_total,
                   std::size_t max_per_address, Clock::time_point now = {});
  // The same with the address as its own penalty key.
  Decision acquire(const std::string& address, std::size_t max_total, std::size_t max_per_address,
                   Clock::time_point now = {}) {
    return acquire(address, address, max_total, max_per_address, now);
  }
  // New connections whose penalty key is `key` are refused until `until` (a later penalty extends it, an
  // earlier one never shortens it). False: the table of penalties is full.
  bool penalize(const std::string& key, Clock::time_point until, Clock::time_point now = {});
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
  struct Penalty {
    Clock::time_point until;
    std::uint64_t refused = 0;
  };
  void prune_expired(Clock::time_point now);   // mutex_ held

  mutable std::mutex mutex_;
  std::size_t total_ = 0;
  std::size_t descriptor_cap_ = 0;
  std::unordered_map<std::string, std::size_t> per_address_;
  std::unordered_map<std::string, Penalty> penalties_;   // by penalty key
  std::uint64_t refused_streak_ = 0;   // refusals for capacity since the last admitted connection
  Clock::time_point next_prune_{};
};

}  // namespace mxguard::session
