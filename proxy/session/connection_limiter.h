#pragma once
// Global and per-client-address connection limits, shared by every worker.
#include <sys/socket.h>

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mxguard::session {

class ConnectionLimiter {
 public:
  enum class Verdict { Admitted, TooManyTotal, TooManyFromAddress, TooFewDescriptors };

  // Limits come from the configuration snapshot of each new session, so a reload applies to new sessions.
  Verdict acquire(const std::string& address, std::size_t max_total, std::size_t max_per_address);
  // How many sessions the process's descriptor limit leaves room for (0: no cap). A session beyond it
  // would fail somewhere worse (accept, the backend socket, a TLS file); it is refused with a 421 at the
  // door instead, and said so in the log.
  void set_descriptor_cap(std::size_t sessions) {
    std::lock_guard lock(mutex_);
    descriptor_cap_ = sessions;
  }
  void release(const std::string& address);
  std::size_t active() const;

 private:
  mutable std::mutex mutex_;
  std::size_t total_ = 0;
  std::size_t descriptor_cap_ = 0;
  std::unordered_map<std::string, std::size_t> per_address_;
};

}  // namespace mxguard::session
