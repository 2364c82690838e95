#pragma once
// mxguard-fetch never needs root: it reads from a socket it was handed, and curl opens the CA file and
// the connections as whatever user runs it. Started as root (mxguard runs as root to bind port 25), it
// becomes an unprivileged user before it reads its first request.
#include <string>

namespace mxguard::fetch {

// Becomes `user` for good: no supplementary groups, the user's primary group, the user's uid. "" on
// success, else why not (the caller must not go on as root). Only for a process running as root.
std::string drop_privileges(const std::string& user);

// Gives up every capability the process holds (effective, permitted, inheritable, ambient). mxguard's
// systemd unit grants CAP_NET_BIND_SERVICE as an ambient capability, which an exec'd child inherits; the
// fetcher binds nothing. "" on success, else why not. Works without root (it only ever drops).
std::string drop_capabilities();

}  // namespace mxguard::fetch
