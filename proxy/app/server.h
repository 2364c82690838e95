#pragma once
// `mxguard run`: owns the workers and the main loop, which only handles signals:
// SIGHUP reloads configuration and certificates, SIGTERM/SIGINT drain and stop, SIGUSR2 restarts without
// closing the listening sockets (successor.h).
#include <string>

namespace mxguard::app {

// Returns the process exit status.
int run_server(const std::string& config_path);

// `mxguard check-config`: validates the file and the certificates it names. Returns the exit status.
int check_config(const std::string& config_path);

}  // namespace mxguard::app
