#pragma once
// Back-pressure thresholds of the session core. Past them a session stops taking work from the side that
// produces it until the other side has caught up; nothing is buffered without bound.
#include <cstddef>

namespace mxguard::session {

constexpr std::size_t kHighWater = 256 * 1024;   // bytes queued toward a peer
constexpr std::size_t kMaxPipelined = 100;       // commands awaiting replies

// Fairness within a worker's loop (turn_queue.h). One turn of a session handles at most this many command
// lines, or this many bytes of them: a pipelined group of an honest MTA (MAIL, a few RCPTs, DATA) fits in
// one turn and leaves in one write; a flood takes many turns, with everyone else's I/O in between.
constexpr std::size_t kCommandsPerTurn = 16;
constexpr std::size_t kCommandBytesPerTurn = 32 * 1024;
// Turns a loop iteration gives the sessions waiting in line (those with commands left over from their last
// turn). With the two figures above, at most 4 x 16 commands per iteration for all floods together: a
// fresh session waits for about 20 iterations from its connect to its 221, each now some 50 µs longer
// under a flood. 8 gave visibly longer tails in paired benchmark runs; a single backlogged session gets
// one turn per iteration either way, and the loop spins (no poll wait) while anyone waits in line.
constexpr std::size_t kQueuedTurnsPerIteration = 4;

}  // namespace mxguard::session
