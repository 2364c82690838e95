#pragma once
// Checks across keys, run only when every key was valid on its own, and the warnings about valid but
// dangerous combinations.
#include "policy/config/readers.h"

namespace mxguard::config {

// Errors: a missing backend, a backend that is mxguard itself, listeners that would share connections.
void check_across_keys(const Config& config, const Section& root, Diagnostics& diag);

// Warnings (Config::warnings): a plain backend protocol (open relay risk), a TLS mode that does not fit
// its port.
void warn_across_keys(const Config& config, const Section& root, Diagnostics& diag);

}  // namespace mxguard::config
