#pragma once
// Back-pressure thresholds of the session core. Past them a session stops taking work from the side that
// produces it until the other side has caught up; nothing is buffered without bound.
#include <cstddef>

namespace mxguard::session {

constexpr std::size_t kHighWater = 256 * 1024;   // bytes queued toward a peer
constexpr std::size_t kMaxPipelined = 100;       // commands awaiting replies

}  // namespace mxguard::session
