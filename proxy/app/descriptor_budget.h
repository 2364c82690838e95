#pragma once
// How many sessions the process's file descriptor limit (RLIMIT_NOFILE) leaves room for. Each session
// holds two descriptors (the client and its backend or MX connection); the process itself holds a fixed
// set (listeners, the loops' epoll and eventfd, c-ares sockets, the audit log, the fetchers'
// socketpairs, TLS files read at reload), for which a reserve is kept. Past the cap, sessions are refused
// with 421 at the door (ConnectionLimiter) instead of failing at accept, at the backend socket or at a
// reload, and the log says why.
#include <cstddef>
#include <string>

namespace mxguard::app {

// Descriptors kept for the process itself, with `workers` loops.
std::size_t descriptor_reserve(unsigned workers);

// Sessions `limit` descriptors allow (0 when the limit leaves no room at all: then no cap is set and
// the configuration's max_connections alone applies).
std::size_t sessions_for_descriptors(std::size_t limit, unsigned workers);

// Raises the soft RLIMIT_NOFILE to the hard one (as nginx and Postfix's master do: the soft default of
// 1024 is far below what 1,000 sessions need) and returns the session cap for the result. `note` gets
// a line for the log when the cap is below `max_connections`.
std::size_t raise_descriptor_limit(unsigned workers, std::size_t max_connections, std::string& note);

}  // namespace mxguard::app
