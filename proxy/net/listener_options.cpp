#include "proxy/net/listener_options.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>

namespace mxguard::net {

int set_client_socket_options(int listener_fd) {
  int on = 1;
  if (::setsockopt(listener_fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0) return -errno;
  int bytes = kClientSendBufferBytes;
  if (::setsockopt(listener_fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes) != 0) return -errno;
  return 0;
}

}  // namespace mxguard::net
