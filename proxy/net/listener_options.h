#pragma once
// The socket options of every client connection, set once on the socket that accepts them.
//
// Linux copies a listening socket's options into each connection it accepts (the new socket is a clone of
// the listener), so TCP_NODELAY and the send-buffer cap set here cost two system calls per listener
// instead of two per session. Under load the kernel is over half of mxguard's CPU, and system calls per
// session are what it spends there.

namespace mxguard::net {

// Replies are small; a client that does not read them must not park megabytes of them in the kernel, where
// the high-water mark cannot see them (auto-tuning grows the buffer to 4 MiB). 64 KiB (128 KiB as Linux
// counts it) is hundreds of replies: plenty for any honest pipelining.
inline constexpr int kClientSendBufferBytes = 64 * 1024;

// TCP_NODELAY (replies to a pipelined group must not wait for the client's delayed ACK) and the send
// buffer cap, on a bound or listening TCP socket. Returns a libuv error code, 0 on success.
int set_client_socket_options(int listener_fd);

}  // namespace mxguard::net
