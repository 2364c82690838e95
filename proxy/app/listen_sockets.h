#pragma once
// Binds the listening sockets up front, in the main thread, so that a port in use is one clear error at
// start instead of a half-started server. Each worker gets its own socket per address (SO_REUSEPORT): the
// kernel spreads connections over the workers without a shared accept lock.
#include <string>
#include <variant>
#include <vector>

#include "policy/config/config.h"

namespace mxguard::app {

// result[w] = the fds of worker w, one per endpoint. Error: "cannot listen on ADDR: reason".
std::variant<std::vector<std::vector<int>>, std::string> bind_listeners(const std::vector<config::Endpoint>& endpoints,
                                                                        unsigned workers);

}  // namespace mxguard::app
