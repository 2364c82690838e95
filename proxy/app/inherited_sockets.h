#pragma once
// Listening sockets handed to this process at exec, so that a restart never closes them (deploy/README.md,
// "Restarting without refusing mail"): from systemd socket activation (LISTEN_FDS, LISTEN_PID: fds 3..)
// or from the mxguard this one replaces (`mxguard run` after SIGUSR2: MXGUARD_LISTEN_FDS, and the
// descriptor MXGUARD_READY_FD on which to say that it serves). A socket that stays open keeps the
// connections in its accept queue: closing a SO_REUSEPORT listener would reset them (unless the kernel's
// net.ipv4.tcp_migrate_req moves them), and a port with no listener refuses.
#include <string>
#include <variant>
#include <vector>

#include "policy/config/config.h"

namespace mxguard::app {

struct InheritedSockets {
  std::vector<int> fds;        // listening TCP sockets, close-on-exec from here on
  int ready_fd = -1;           // MXGUARD_READY_FD: the predecessor waits on it; -1 without one
  std::string source;          // "systemd" or "the previous mxguard"; "" when nothing was handed over
  std::vector<std::string> problems;   // descriptors refused (not a listening TCP socket), for the log
};

// Takes what was handed over and removes the variables from the environment, so that no child (the
// MTA-STS fetcher) inherits them. Call before any thread starts.
InheritedSockets take_inherited_sockets();

// result[w] = the listening fds of worker w, one list per endpoint (in `endpoints` order; more than one fd
// when more sockets than workers were handed over). An endpoint with inherited sockets uses them (shared
// by the workers when there are fewer than workers); the others are bound here (bind_listeners).
// Inherited sockets no endpoint names are closed and reported in `unused`. Error: "cannot listen on ...".
using WorkerSockets = std::vector<std::vector<std::vector<int>>>;
std::variant<WorkerSockets, std::string> assemble_listeners(const std::vector<config::Endpoint>& endpoints,
                                                           unsigned workers, InheritedSockets& inherited,
                                                           std::vector<std::string>& unused);

}  // namespace mxguard::app
