#pragma once
// Telling whoever started mxguard how it stands: systemd (Type=notify: READY=1 once every listener is up,
// MAINPID= when a successor takes over, sd_notify(3)'s datagram, without linking libsystemd) and the
// predecessor mxguard of a restart, which waits on MXGUARD_READY_FD before it stops accepting.
#include <string>
#include <sys/types.h>

namespace mxguard::app {

// One datagram to $NOTIFY_SOCKET ("READY=1", "MAINPID=123\nREADY=1"); nothing without it. False: not sent.
bool notify_service_manager(const std::string& state);

// Writes "ready PID\n" on `fd` and closes it: the predecessor may stop accepting now.
void tell_predecessor_ready(int fd);

}  // namespace mxguard::app
