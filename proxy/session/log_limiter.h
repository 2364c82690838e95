#pragma once
// Per-session limit on repeated process-log lines. A client flooding refused commands must not turn each
// refusal into a log line (that is a disk-filling amplifier); the first few of each kind are logged, the
// rest counted and summed up once when the session ends.
#include <array>
#include <cstddef>

namespace mxguard::session {

class LogLimiter {
 public:
  static constexpr std::size_t kPerKey = 3;

  // True while `key` (a reply code, say) has been logged fewer than kPerKey times in this session.
  bool allow(int key) {
    for (auto& slot : slots_) {
      if (slot.count != 0 && slot.key != key) continue;
      slot.key = key;
      if (slot.count++ < kPerKey) return true;
      ++suppressed_;
      return false;
    }
    ++suppressed_;   // more distinct keys than slots: a session this odd is already in the log
    return false;
  }
  std::size_t suppressed() const { return suppressed_; }

 private:
  struct Slot {
    int key = 0;
    std::size_t count = 0;
  };
  std::array<Slot, 8> slots_{};
  std::size_t suppressed_ = 0;
};

}  // namespace mxguard::session
